"""Generated workflow steps per second under ``voxfsm.agents.testing``; prints JSON.

    python bench/property_steps.py [--examples 200] [--steps 30] [--rounds 3] [--seed 1]

A four-agent workflow (greeter -> menu <-> order -> payment) is checked by
``check_workflow``: every step is a real ``session.run()`` through a ``ScriptedLLM`` plus all
built-in invariants; AgentTasks come from the generated round-trip steps.  The workflow is
correct, so no time goes to shrinking: the number is hypothesis generation + the session +
the checks.  Each round runs the same seeded check (the same conversations); the JSON has
min / median / max over the rounds of generated steps per wall-clock second and per CPU
second of this process (the steadier figure on a shared machine: what an idle machine would
do), and the load average before and after.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import statistics
import time
from typing import Annotated, Literal

from voxfsm.agents import Agent, RunContext, ToolError, function_tool
from voxfsm.agents.testing import check_workflow


class Payment(Agent):
    """Takes payment; the end."""

    terminal = True

    def __init__(self) -> None:
        super().__init__(instructions="take payment")

    @function_tool
    async def pay(self, ctx: RunContext[dict], method: Literal["card", "cash"]) -> str:
        """Pay."""
        ctx.userdata["paid"] = method
        return "paid"


class Order(Agent):
    """Builds the order."""

    def __init__(self) -> None:
        super().__init__(instructions="take the order")

    @function_tool
    async def add(
        self, ctx: RunContext[dict], dish: str, count: Annotated[int, "how many"] = 1
    ) -> str:
        """Add a dish."""
        if count < 1:
            raise ToolError("count must be positive")
        ctx.userdata["items"].append(dish)
        return f"{len(ctx.userdata['items'])} dishes"

    @function_tool
    async def to_payment(self, ctx: RunContext[dict]) -> Payment | str:
        """Go to payment."""
        return Payment() if ctx.userdata["items"] else "order something first"

    @function_tool
    async def to_menu(self) -> Menu:
        """Back to the menu."""
        return Menu()


class Menu(Agent):
    """Answers menu questions."""

    def __init__(self) -> None:
        super().__init__(instructions="read the menu")

    @function_tool
    async def price(self, dish: str) -> float:
        """Price of a dish."""
        return 9.5

    @function_tool
    async def to_order(self) -> Order:
        """Start ordering."""
        return Order()


class Greeter(Agent):
    """Greets the caller."""

    def __init__(self) -> None:
        super().__init__(instructions="greet")

    async def on_enter(self) -> None:
        self.session.say("hello")

    @function_tool
    async def to_menu(self) -> Menu:
        """Show the menu."""
        return Menu()


def userdata() -> dict:
    return {"items": [], "paid": None}


def _stats(values: list[float]) -> dict[str, float]:
    return {
        "min": round(min(values), 1),
        "median": round(statistics.median(values), 1),
        "max": round(max(values), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=200)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    logging.disable(logging.ERROR)  # tools raising on purpose would print tracebacks
    load_before = os.getloadavg()
    runs = []
    for _ in range(args.rounds):
        cpu = time.process_time()
        report = check_workflow(
            Greeter,
            userdata_factory=userdata,
            examples=args.examples,
            steps=args.steps,
            seed=args.seed,
        )
        cpu = time.process_time() - cpu
        runs.append(
            {
                "examples": report.examples,
                "steps": report.steps,
                "seconds": round(report.seconds, 3),
                "cpu_seconds": round(cpu, 3),
                "steps_per_s": round(report.steps_per_second, 1),
                "steps_per_cpu_s": round(report.steps / cpu, 1),
                "coverage": round(report.coverage.ratio, 3),
                "failure": report.failure.check if report.failure else None,
            }
        )
    print(
        json.dumps(
            {
                "bench": "property_steps",
                "python": platform.python_version(),
                "cpus": os.cpu_count(),
                "load_average_before": [round(x, 2) for x in load_before],
                "load_average_after": [round(x, 2) for x in os.getloadavg()],
                "examples": args.examples,
                "max_steps": args.steps,
                "seed": args.seed,
                "steps_per_s": _stats([r["steps_per_s"] for r in runs]),
                "steps_per_cpu_s": _stats([r["steps_per_cpu_s"] for r in runs]),
                "runs": runs,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
