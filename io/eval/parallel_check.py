"""``voxfsm check --workers N``: property-test runs split into shards, on Ray or in turn.

Each shard is an independent ``check_workflow`` run (its own seed and share of the example
budget) that builds its sessions on the worker and returns plain data: coverage counts, the
transitions taken (agent ids, no agent objects) and the shrunk failure, if any.  The driver
merges them into one :class:`~voxfsm.agents.testing.WorkflowReport`: coverage summed, and
the smallest failure kept (each failure was already shrunk by hypothesis on its worker).
"""

from __future__ import annotations

import logging
import random
import time
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import attrs

from voxfsm.agents.testing import Coverage, Failure, WorkflowReport, check_workflow
from voxfsm.fsm.graph import build_graph
from voxfsm.fsm.spec import Step
from voxfsm.io.cli.app import load_app
from voxfsm.io.eval.backends import EvalError, ray_runtime

__all__ = ["CheckShard", "run_check_shards", "shards_for"]

log = logging.getLogger("voxfsm.io.eval")


@attrs.frozen
class CheckShard:
    """One independent run: ``examples`` conversations of up to ``steps`` steps, ``seed``."""

    app: str
    examples: int
    steps: int
    seed: int
    step_timeout: float


def shards_for(
    app: str, examples: int, steps: int, seed: int | None, step_timeout: float, workers: int
) -> list[CheckShard]:
    """The example budget split over ``workers`` shards with distinct seeds."""
    base = seed if seed is not None else random.randrange(2**31)
    count = min(workers, examples)
    sizes = [examples // count + (i < examples % count) for i in range(count)]
    return [CheckShard(app, n, steps, base + i, step_timeout) for i, n in enumerate(sizes)]


def check_shard(shard: dict[str, Any]) -> dict[str, Any]:
    """Run one shard where it lands (a Ray worker or this process); plain data out."""
    logging.getLogger("voxfsm.agents").setLevel(logging.CRITICAL)
    s = CheckShard(**shard)
    app = load_app(s.app)
    expr = f"load_app({s.app!r})"
    report = check_workflow(
        app.entry,
        session_factory=app.make_session,
        examples=s.examples,
        steps=s.steps,
        seed=s.seed,
        step_timeout=s.step_timeout,
        entry_import="from voxfsm.io.cli.app import load_app",
        entry_expr=f"{expr}.entry",
        replay_kwargs=f"session_factory={expr}.make_session" if app.make_session else "",
    )
    cov = report.coverage
    failure = report.failure
    return {
        "seed": s.seed,
        "examples": report.examples,
        "steps": report.steps,
        "seconds": report.seconds,
        "declared": sorted(cov.declared, key=str),
        "hits": [[list(e), n] for e, n in cov.hits.items()],
        "outcomes": [[list(k), dict(v)] for k, v in cov.outcomes.items()],
        "transitions": [
            [st.source, st.trigger, st.target_id, st.declared, st.kind] for st in cov.steps
        ],
        "conversations": cov.conversations,
        "actions": cov.actions,
        # the shrunk steps are small attrs values (tool names, arguments, agent classes)
        "failure": None
        if failure is None
        else {
            "check": failure.check,
            "message": failure.message,
            "steps": failure.steps,
            "conversation": failure.conversation,
            "regression_test": failure.regression_test,
        },
    }


def merge_shards(app_spec: str, parts: Sequence[dict[str, Any]], seconds: float) -> WorkflowReport:
    """One report out of every shard's data."""
    app = load_app(app_spec)
    classes = {s.id: s.cls for s in build_graph(app.entry).states}
    cov = Coverage(entry=app.entry)
    failures: list[Failure] = []
    for p in parts:
        cov.declared |= frozenset(tuple(e) for e in p["declared"])
        cov.hits.update(Counter({tuple(e): n for e, n in p["hits"]}))
        for key, counts in p["outcomes"]:
            cov.outcomes.setdefault(tuple(key), Counter()).update(counts)
        cov.record_steps(
            Step(src, trig, tid, classes[tid], declared, kind)
            for src, trig, tid, declared, kind in p["transitions"]
            if tid in classes
        )
        cov.conversations += p["conversations"]
        cov.actions += p["actions"]
        if p["failure"] is not None:
            failures.append(Failure(**p["failure"]))
    smallest = min(failures, key=lambda f: len(f.steps)) if failures else None
    return WorkflowReport(
        coverage=cov,
        failure=smallest,
        examples=sum(p["examples"] for p in parts),
        steps=sum(p["steps"] for p in parts),
        seconds=seconds,
    )


def run_check_shards(
    shards: Sequence[CheckShard],
    *,
    backend: str,
    workers: int,
    address: str | None = None,
    on_shard: Callable[[dict[str, Any]], None] = lambda _: None,
    timeout: float = 3600.0,
) -> WorkflowReport:
    """Run the shards (Ray tasks, or one after another in this process) and merge them."""
    begin = time.perf_counter()
    data = [attrs.asdict(s) for s in shards]
    parts: list[dict[str, Any]] = []
    if backend != "ray":
        for d in data:
            parts.append(check_shard(d))
            on_shard(parts[-1])
    else:
        import ray

        with ray_runtime(workers, address):
            task = ray.remote(num_cpus=1, max_retries=1)(check_shard)
            pending = [task.remote(d) for d in data]
            deadline = time.monotonic() + timeout
            while pending:
                left = deadline - time.monotonic()
                if left <= 0:
                    for ref in pending:
                        ray.cancel(ref, force=True)
                    raise EvalError(f"the check took longer than {timeout:g} s (raise --timeout)")
                done, pending = ray.wait(pending, num_returns=1, timeout=min(left, 1.0))
                for ref in done:
                    parts.append(ray.get(ref))
                    on_shard(parts[-1])
    parts.sort(key=lambda p: p["seed"])  # merge order does not depend on who finished first
    return merge_shards(shards[0].app, parts, time.perf_counter() - begin)
