"""Generated workflow steps per second under ``voxfsm.agents.testing``; prints JSON.

    python bench/property_steps.py [--examples 200] [--steps 30] [--repeat 3] [--seed 1]

A four-agent workflow (greeter -> menu <-> order -> payment) is driven by
``check_workflow``: every step is a real ``session.run()`` through a ``ScriptedLLM`` plus all
built-in invariants; AgentTasks come from the generated round-trip steps.  The workflow is
correct, so no time goes to shrinking: the number is hypothesis generation + the session +
the checks.  Best and median of ``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import statistics
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=200)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    logging.disable(logging.ERROR)  # tools raising on purpose would print tracebacks
    rates: list[float] = []
    runs = []
    for n in range(args.repeat):
        report = check_workflow(
            Greeter,
            userdata_factory=userdata,
            examples=args.examples,
            steps=args.steps,
            seed=args.seed + n,
        )
        rates.append(report.steps_per_second)
        runs.append(
            {
                "examples": report.examples,
                "steps": report.steps,
                "seconds": round(report.seconds, 3),
                "steps_per_s": round(report.steps_per_second, 1),
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
                "examples": args.examples,
                "max_steps": args.steps,
                "best_steps_per_s": round(max(rates), 1),
                "median_steps_per_s": round(statistics.median(rates), 1),
                "runs": runs,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
