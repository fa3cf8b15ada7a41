"""Start many sessions of one workflow and show the cost per session stays flat; prints JSON.

    python bench/sessions_start.py [--sizes 1000 10000] [--repeat 3]

For each size N, N ``AgentSession`` objects are created and started on the restaurant example
(all kept alive, as concurrent calls would be), then closed.  ``start_us_per_session`` is the
wall-clock time per ``start()``; ``join_us_per_session`` times only the state-machine part
(``SessionMachine(definition)`` plus setting the first state: the fastest chunk of 1,000
joins, and the last 1,000 of the run), which used to scan a list of every live session.
Linear means the per-session figures for 1,000 and 10,000 agree (``growth`` ≈ 1.0; the old
O(N²) join grew about 5× per 10× sessions).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import platform
import time
from typing import Any

from voxfsm.agents import AgentSession
from voxfsm.agents._machine import definition_for
from voxfsm.agents.llm import ScriptedLLM
from voxfsm.examples.restaurant import Greeter, RestaurantData
from voxfsm.fsm.machine import SessionMachine


class QuietGreeter(Greeter):
    """The restaurant's entry without its spoken greeting: the bench times starting only."""

    async def on_enter(self) -> None:
        return None


async def start_many(n: int) -> float:
    llm = ScriptedLLM({})
    sessions = [AgentSession(llm=llm, userdata=RestaurantData()) for _ in range(n)]
    agents = [QuietGreeter() for _ in range(n)]
    gc.collect()
    t0 = time.perf_counter()
    for session, agent in zip(sessions, agents, strict=True):
        await session.start(agent)
    elapsed = time.perf_counter() - t0
    for session in sessions:
        await session.aclose()
    return elapsed


def join_chunks(n: int, chunk: int = 1000) -> list[float]:
    """Seconds per ``chunk`` joins while ``n`` machines pile up (an O(N) join grows late)."""
    defn = definition_for(QuietGreeter)
    machines = []
    chunks = []
    gc.disable()  # time the machine, not the collector walking everything created so far
    try:
        t0 = time.perf_counter()
        for i in range(n):
            m = SessionMachine(defn)
            m.set_state("quiet_greeter")
            machines.append(m)
            if (i + 1) % chunk == 0:
                now = time.perf_counter()
                chunks.append(now - t0)
                t0 = now
        return chunks
    finally:
        gc.enable()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--repeat", type=int, default=3, help="runs per size; the best is kept")
    args = parser.parse_args()
    definition_for(QuietGreeter)  # build the workflow's machine once, outside the timings
    results: dict[str, Any] = {}
    for n in args.sizes:
        start = min(asyncio.run(start_many(n)) for _ in range(args.repeat))
        # the fastest chunk of 1,000 joins: on shared cores preemption only ever adds time
        # (spikes of ~10 ms per chunk), while a join that scans every live session would make
        # the late chunks of the 10,000 run slower than any chunk of the 1,000 run
        runs = [join_chunks(n) for _ in range(args.repeat)]
        results[str(n)] = {
            "start_s": round(start, 4),
            "start_us_per_session": round(start / n * 1e6, 1),
            "join_us_per_session": round(min(c for r in runs for c in r) / 1000 * 1e6, 2),
            "join_us_last_1000": round(min(r[-1] for r in runs) / 1000 * 1e6, 2),
        }
    small, large = str(min(args.sizes)), str(max(args.sizes))
    out = {
        "bench": "sessions_start",
        "workflow": "voxfsm.examples.restaurant",
        "python": platform.python_version(),
        "sizes": results,
        "growth": {
            "start_per_session": round(
                results[large]["start_us_per_session"] / results[small]["start_us_per_session"], 2
            ),
            "join_last_1000": round(
                results[large]["join_us_last_1000"] / results[small]["join_us_last_1000"], 2
            ),
        },
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
