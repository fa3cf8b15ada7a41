"""Time graph building and rendering for a generated 50-agent workflow; prints JSON.

    python bench/graph.py [--agents 50] [--steps 200] [--repeat 50] [--svg]

Agents are generated classes implementing the ``__fsm_state__`` protocol directly (each with
3 handoff tools to other agents and 2 tools that stay), so the numbers measure voxfsm.fsm and
not the agent layer.  ``--svg`` also times one ``dot`` run (a separate process, much slower).
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import statistics
import time
from collections.abc import Callable
from typing import Any

from voxfsm.fsm.checks import check_graph
from voxfsm.fsm.graph import build_graph
from voxfsm.fsm.render.images import _pipe, to_svg
from voxfsm.fsm.spec import StateSpec, Step, Trace, TransitionSpec, state_spec


class _Hook:
    def __get__(self, obj: object, owner: Any) -> Callable[[], StateSpec]:
        return owner.describe


def make_workflow(n: int, seed: int = 7) -> list[type]:
    rng = random.Random(seed)
    classes: list[type] = []
    # the first link chains every agent to the next, so all n are reachable from agent 0
    links = {
        i: [(i + 1) % n, *rng.sample([j for j in range(n) if j not in (i, (i + 1) % n)], k=2)]
        for i in range(n)
    }

    def describe(cls: Any) -> StateSpec:
        i = cls.index
        handoffs = [
            TransitionSpec(f"to_agent_{j:02d}", f"Hand off to agent {j}.", (classes[j],))
            for j in links[i]
        ]
        tools = (
            *handoffs,
            TransitionSpec("lookup", "Look something up.", ()),
            TransitionSpec("note", "Take a note.", ()),
        )
        return StateSpec(f"agent_{i:02d}", cls, f"You are agent {i}.", i == n - 1, tools)

    for i in range(n):
        classes.append(
            type(
                f"Agent{i:02d}",
                (),
                {"index": i, "describe": classmethod(describe), "__fsm_state__": _Hook()},
            )
        )
    return classes


class _Session:
    def __init__(self, classes: list[type], steps: int, seed: int = 11) -> None:
        rng = random.Random(seed)
        spec = state_spec(classes[0])
        out = [Step(None, None, spec.id, classes[0])]
        for _ in range(steps):
            tool = rng.choice([t for t in spec.transitions if t.targets])
            target = tool.targets[0]
            nxt = state_spec(target)
            out.append(Step(spec.id, tool.name, nxt.id, target))
            spec = nxt
        self.trace = Trace(classes[0], spec.id, tuple(out))

    def __fsm_trace__(self) -> Trace:
        return self.trace


def timed(fn: Callable[[], object], repeat: int) -> dict[str, float]:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return {"median_ms": round(statistics.median(times), 3), "min_ms": round(min(times), 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--agents", type=int, default=50, help="at least 4")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--svg", action="store_true")
    args = parser.parse_args()

    classes = make_workflow(args.agents)
    session = _Session(classes, args.steps)
    static = build_graph(classes[0])
    observed = build_graph(session)
    result: dict[str, Any] = {
        "python": platform.python_version(),
        "agents": len(static.states),
        "edges": len(static.edges),
        "session_steps": args.steps,
        "build_graph_class": timed(lambda: build_graph(classes[0]), args.repeat),
        "build_graph_session": timed(lambda: build_graph(session), args.repeat),
        "to_dot": timed(static.to_dot, args.repeat),
        "to_mermaid": timed(static.to_mermaid, args.repeat),
        "to_text": timed(static.to_text, args.repeat),
        "to_dot_session": timed(observed.to_dot, args.repeat),
        "check_graph": timed(lambda: check_graph(static), args.repeat),
        "dot_bytes": len(static.to_dot()),
        "mermaid_bytes": len(static.to_mermaid()),
    }
    if args.svg:
        # the dot output is memoised per source; clear it so every run pays for dot
        result["svg_via_dot"] = timed(lambda: (_pipe.cache_clear(), to_svg(observed)), 3)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
