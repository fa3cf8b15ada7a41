"""Scenario throughput vs worker count, and Ray's per-task overhead; prints JSON.

    python bench/eval_scaling.py [--repeat 2] [--llm-cpu-ms 20] [--no-netns]

Runs the shipped scenarios (``examples/scenarios``) three ways: in this process with asyncio
(one at a time: the baseline without Ray), then as Ray tasks on a local runtime with 1 and
with 2 workers.  Two workloads: the examples as shipped (a ``ScriptedLLM`` answers in
microseconds, so a scenario costs ~10 ms and Ray's overhead shows), and the restaurant
scenarios against ``bench/cpu_restaurant.py``, whose LLM burns ``--llm-cpu-ms`` of CPU per
request like a local model (CPU-bound, so a second worker can use the second core).
Ray's per-task overhead is measured with an empty task: sequential round trips, and a batch.

As root, the benchmark re-runs itself inside a network namespace with only loopback
(``unshare -n``), so Ray binds to 127.0.0.1 and nothing talks to another address.
``ray.init`` time is reported apart and not counted in throughput.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import attrs

ROOT = Path(__file__).resolve().parents[1]


def _isolated(argv: list[str]) -> int:
    """Re-run this script with loopback only (root, unshare); HOME keeps Ray from probing clouds."""
    with tempfile.TemporaryDirectory() as home:
        Path(home, "ray_bootstrap_config.yaml").write_text("provider:\n  type: local\n")
        env = dict(os.environ, HOME=home, RAY_USAGE_STATS_ENABLED="0", VOXFSM_BENCH_ISOLATED="1")
        cmd = " ".join(f'"{a}"' for a in (sys.executable, __file__, *argv))
        return subprocess.run(
            ["unshare", "-n", "sh", "-c", f"ip link set lo up; exec {cmd}"], env=env, timeout=1800
        ).returncode


def _scenarios(repeat: int, app: str | None, only: str | None) -> list[Any]:
    from voxfsm.io.eval import load_scenarios

    found = load_scenarios(ROOT / "examples" / "scenarios")
    if only:
        found = [s for s in found if s.name.startswith(only)]
    return [
        attrs.evolve(s, name=f"{s.name}#{i}", app=app or s.app)
        for i in range(repeat)
        for s in found
    ]


def _timed(fn: Any) -> tuple[float, list[dict[str, Any]]]:
    start = time.perf_counter()
    results = fn()
    return time.perf_counter() - start, results


def _workload(name: str, scenarios: list[Any]) -> dict[str, Any]:
    from voxfsm.io.eval import EvalOptions, run_asyncio, run_ray

    opts = EvalOptions()
    out: dict[str, Any] = {"workload": name, "scenarios": len(scenarios)}
    run_asyncio(".", scenarios[:3], opts)  # import the apps once
    secs, res = _timed(lambda: run_asyncio(".", scenarios, opts, workers=1))
    assert all(r["passed"] for r in res), [r["reasons"] for r in res if not r["passed"]]
    out["in_process_scenarios_per_s"] = round(len(scenarios) / secs, 1)
    for workers in (1, 2):
        secs, res = _timed(lambda w=workers: run_ray(".", scenarios, opts, workers=w))
        assert all(r["passed"] for r in res)
        out[f"ray_{workers}_workers_scenarios_per_s"] = round(len(scenarios) / secs, 1)
        out[f"ray_{workers}_workers_distinct_processes"] = len({r["worker"] for r in res})
    out["speedup_2_vs_1_ray_workers"] = round(
        out["ray_2_workers_scenarios_per_s"] / out["ray_1_workers_scenarios_per_s"], 2
    )
    out["ray_1_worker_vs_in_process"] = round(
        out["ray_1_workers_scenarios_per_s"] / out["in_process_scenarios_per_s"], 2
    )
    return out


def _task_overhead(n: int) -> dict[str, float]:
    import ray

    @ray.remote(num_cpus=1)
    def noop(x: int) -> int:
        return x

    ray.get([noop.remote(i) for i in range(20)])  # warm both workers
    start = time.perf_counter()
    for i in range(n):
        ray.get(noop.remote(i))
    seq = (time.perf_counter() - start) / n
    start = time.perf_counter()
    ray.get([noop.remote(i) for i in range(n)])
    batch = (time.perf_counter() - start) / n
    return {
        "ray_task_round_trip_ms": round(seq * 1000, 3),
        "ray_task_batched_ms_per_task": round(batch * 1000, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=2, help="copies of each scenario (default 2)")
    parser.add_argument("--llm-cpu-ms", type=float, default=20.0, help="CPU per LLM request (ms)")
    parser.add_argument("--tasks", type=int, default=300, help="empty tasks for the overhead")
    parser.add_argument("--no-netns", action="store_true", help="run in the current namespace")
    args = parser.parse_args()
    if not args.no_netns and not os.environ.get("VOXFSM_BENCH_ISOLATED"):
        if os.geteuid() == 0 and shutil.which("unshare"):
            sys.exit(_isolated(sys.argv[1:]))
        print("not root: running without a network namespace", file=sys.stderr)
    logging.getLogger("voxfsm.agents").setLevel(logging.CRITICAL)
    os.environ["VOXFSM_BENCH_LLM_CPU_MS"] = str(args.llm_cpu_ms)
    import ray

    load_start = os.getloadavg()[0]
    start = time.perf_counter()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    init_s = time.perf_counter() - start
    try:
        node_ips = sorted({n["NodeManagerAddress"] for n in ray.nodes()})
        overhead = _task_overhead(args.tasks)
        shipped = _workload("shipped examples, ScriptedLLM", _scenarios(args.repeat, None, None))
        cpu = _workload(
            f"restaurant, LLM burning {args.llm_cpu_ms:g} ms CPU per request",
            _scenarios(args.repeat * 3, str(ROOT / "bench" / "cpu_restaurant.py"), "restaurant/"),
        )
    finally:
        ray.shutdown()
    print(
        json.dumps(
            {
                "bench": "eval_scaling",
                "python": platform.python_version(),
                "ray": ray.__version__,
                "cpus": os.cpu_count(),
                # the machine is shared: the 1-minute load average says how busy it was
                "load_avg_start": round(load_start, 2),
                "load_avg_end": round(os.getloadavg()[0], 2),
                "ray_node_ips": node_ips,
                "ray_init_s": round(init_s, 2),
                **overhead,
                "workloads": [shipped, cpu],
            }
        )
    )


if __name__ == "__main__":
    main()
