#!/usr/bin/env python3
"""Long calls and many calls: does per-turn cost or memory grow with history length?

Phase ``long``: one session of the bench/turns.py scenario driven for --turns turns; per
--bucket turns prints mean and p99 latency, RSS and history/context length.  Phase ``many``
(fresh child process): --sessions sessions started together and driven through one 4-turn
cycle concurrently; RSS per session.  ``--profile`` adds the top functions (cumulative) of
the first and last bucket, to find what grows.  Prints one JSON object.

    python bench/long_run.py                      # 10,000 turns, 1,000 sessions
    python bench/long_run.py --turns 2000 --sessions 100 --profile
    python bench/long_run.py --max-history 200    # with the session's retention option
    python bench/long_run.py --turns 2000 --autosave   # SnapshotStore save after every turn
    python bench/long_run.py --phase growth [--gc-freeze]  # CPU/turn at 1 ... 10,000 sessions
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import io
import json
import os
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import turns as T  # the scenario: agents, script, turn inputs

from voxfsm.agents import AgentSession
from voxfsm.agents.snapshot_store import SnapshotStore, autosave


def _profile_top(prof: cProfile.Profile, n: int = 12) -> list[str]:
    out = io.StringIO()
    stats = pstats.Stats(prof, stream=out)
    stats.sort_stats("tottime").print_stats(n)
    lines = [ln.strip() for ln in out.getvalue().splitlines()]
    start = next((i for i, ln in enumerate(lines) if ln.startswith("ncalls")), 0)
    return [ln for ln in lines[start + 1 :] if ln][:n]


async def phase_long(
    turns: int,
    bucket: int,
    profile: bool,
    max_history: int | None,
    max_context: int | None,
    autosave_to: str | None = None,
) -> dict[str, Any]:
    session = AgentSession[T.Userdata](
        llm=T.make_llm(),
        userdata=T.Userdata(),
        max_history_items=max_history,
        max_context_items=max_context,
    )
    await session.start(T.CustomerServiceAgent())
    for i in range(T.WARMUP):
        await session.run(user_input=T.turn_input(i)[0])
    if autosave_to is not None:  # every awaited run() below also saves to SQLite
        autosave(session, SnapshotStore(autosave_to), "long")
    gc.collect()
    rss_start = T.rss_kb()
    buckets: list[dict[str, Any]] = []
    profiles: dict[str, list[str]] = {}
    bad = 0
    lat: list[float] = []
    n_buckets = max(1, turns // bucket)
    t_all = time.perf_counter()
    for b in range(n_buckets):
        prof = cProfile.Profile() if profile and b in (0, n_buckets - 1) else None
        lat = []
        cpu0 = time.process_time()
        if prof is not None:
            prof.enable()
        for j in range(bucket):
            i = T.WARMUP + b * bucket + j
            text, kind = T.turn_input(i)
            t = time.perf_counter()
            r = await session.run(user_input=text)
            lat.append(time.perf_counter() - t)
            bad += not T.check(kind, r)
        if prof is not None:
            prof.disable()
            profiles["first_bucket" if b == 0 else "last_bucket"] = _profile_top(prof)
        cpu = time.process_time() - cpu0
        s = sorted(lat)
        buckets.append(
            {
                "turns_done": (b + 1) * bucket,
                "cpu_per_turn_ms": T.ms(cpu / bucket),
                "lat_mean_ms": T.ms(statistics.fmean(lat)),
                "lat_p50_ms": T.ms(T.pct(s, 50)),
                "lat_p99_ms": T.ms(T.pct(s, 99)),
                "rss_mb": round(T.rss_kb() / 1024, 1),
                "history_items": len(session.history.items),
                "active_context_items": len(session.current_agent.chat_ctx.items),
            }
        )
    wall = time.perf_counter() - t_all
    gc.collect()
    first, last = buckets[0], buckets[-1]
    out: dict[str, Any] = {
        "turns": n_buckets * bucket,
        "bucket": bucket,
        "max_history_items": max_history,
        "max_context_items": max_context,
        "autosave": autosave_to is not None,
        "wall_s": round(wall, 2),
        "turns_per_s": round(n_buckets * bucket / wall, 1),
        "bad_turns": bad,
        "rss_start_mb": round(rss_start / 1024, 1),
        "rss_end_mb": round(T.rss_kb() / 1024, 1),
        "rss_growth_kb_per_1000_turns": round(
            (T.rss_kb() - rss_start) / (n_buckets * bucket) * 1000, 1
        ),
        "history_items_end": last["history_items"],
        "lat_mean_growth_last_over_first": round(last["lat_mean_ms"] / first["lat_mean_ms"], 2),
        "cpu_per_turn_growth_last_over_first": round(
            last["cpu_per_turn_ms"] / first["cpu_per_turn_ms"], 2
        ),
        "buckets": buckets,
        "names_recorded": session.userdata.names_recorded,
    }
    # persisting a long call: one snapshot, and one save through SnapshotStore (SQLite)
    t = time.perf_counter()
    data = session.snapshot()
    out["snapshot_ms"] = T.ms(time.perf_counter() - t)
    out["snapshot_json_kb"] = round(len(json.dumps(data)) / 1024, 1)
    with tempfile.TemporaryDirectory() as tmp:
        store = SnapshotStore(Path(tmp) / "long.db")
        t = time.perf_counter()
        store.save("long", data)
        out["store_save_ms"] = T.ms(time.perf_counter() - t)
        t = time.perf_counter()
        restored = store.restore("long", llm=T.make_llm())
        out["store_restore_ms"] = T.ms(time.perf_counter() - t)
        store.close()
    assert restored is not None and len(restored.history.items) == len(session.history.items)
    if profiles:
        out["profile_tottime_top"] = profiles
    await session.aclose()
    return out


async def phase_many(n: int) -> dict[str, Any]:
    # reuse bench/turns.py's concurrent phase: same measurement, same keys
    return await T.phase_concurrent(n)


async def phase_growth(n: int, min_turns: int, freeze: bool) -> dict[str, Any]:
    """CPU per turn with ``n`` live sessions, all driven concurrently, after one warm cycle."""
    sessions = [T.new_session() for _ in range(n)]
    t0 = time.perf_counter()
    await asyncio.gather(*(s.start(T.CustomerServiceAgent()) for s in sessions))
    start_s = time.perf_counter() - t0

    async def drive(s: AgentSession[T.Userdata], cycle: int) -> int:
        bad = 0
        for step in range(4):
            text, kind = T.turn_input(cycle * 4 + step)
            bad += not T.check(kind, await s.run(user_input=text))
        return bad

    await asyncio.gather(*(drive(s, 0) for s in sessions))  # every agent and tool warm
    gc.collect()
    if freeze:  # what a server does after warm-up: the collector skips what exists now
        gc.freeze()
    rss0 = T.rss_kb()
    cycles = max(1, -(-min_turns // (4 * n)))
    bad = 0
    collector = _CollectorTime()
    gc.callbacks.append(collector)
    c0, t0 = time.process_time(), time.perf_counter()
    for cycle in range(1, cycles + 1):
        bad += sum(await asyncio.gather(*(drive(s, cycle) for s in sessions)))
    cpu, wall = time.process_time() - c0, time.perf_counter() - t0
    gc.callbacks.remove(collector)
    turns = 4 * n * cycles
    gc.collect()
    out = {
        "sessions": n,
        "turns": turns,
        "gc_freeze": freeze,
        "cpu_per_turn_ms": round(cpu / turns * 1000, 4),
        "turns_per_s": round(turns / wall, 1),
        "start_us_per_session": round(start_s / n * 1e6, 1),
        "rss_mb": round(T.rss_kb() / 1024, 1),
        "rss_growth_per_session_kb_during_run": round((T.rss_kb() - rss0) / n, 2),
        "gc_cpu_share": round(sum(collector.cpu) / cpu, 3),
        "gc_collections_by_generation": collector.count,
        "gc_cpu_s_by_generation": [round(x, 3) for x in collector.cpu],
        "bad_turns": bad,
    }
    if freeze:
        gc.unfreeze()
    await asyncio.gather(*(s.aclose() for s in sessions))
    return out


class _CollectorTime:
    """A ``gc.callbacks`` entry: collections and CPU seconds spent in them, per generation."""

    def __init__(self) -> None:
        self.count = [0, 0, 0]
        self.cpu = [0.0, 0.0, 0.0]
        self._t = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._t = time.process_time()
        else:
            self.count[info["generation"]] += 1
            self.cpu[info["generation"]] += time.process_time() - self._t


def growth(sizes: list[int], rounds: int, min_turns: int, freeze: bool) -> dict[str, Any]:
    """Each size in a fresh process, sizes interleaved per round; min/median/max per size."""
    per: dict[int, list[dict[str, Any]]] = {n: [] for n in sizes}
    load = [round(x, 2) for x in os.getloadavg()]
    for _ in range(rounds):
        for n in sizes:
            cmd = [sys.executable, __file__, "--phase", "growth-one", "--sessions", str(n)]
            cmd += ["--min-turns", str(min_turns)] + (["--gc-freeze"] if freeze else [])
            proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
            per[n].append(json.loads(proc.stdout.strip().splitlines()[-1]))
    cpu = {n: [r["cpu_per_turn_ms"] for r in runs] for n, runs in per.items()}
    base = statistics.median(cpu[sizes[0]])
    return {
        "bench": "growth",
        "gc_freeze": freeze,
        "rounds": rounds,
        "loadavg_at_start": load,
        "loadavg_at_end": [round(x, 2) for x in os.getloadavg()],
        "cpu_per_turn_ms": {str(n): T.spread(v) for n, v in cpu.items()},
        "median_over_first_size": {
            str(n): round(statistics.median(v) / base, 2) for n, v in cpu.items()
        },
        "rss_mb": {str(n): T.spread([r["rss_mb"] for r in runs]) for n, runs in per.items()},
        "start_us_per_session": {
            str(n): T.spread([r["start_us_per_session"] for r in runs]) for n, runs in per.items()
        },
        "bad_turns": sum(r["bad_turns"] for runs in per.values() for r in runs),
        "runs": {str(n): runs for n, runs in per.items()},
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--turns", type=int, default=10_000)
    ap.add_argument("--bucket", type=int, default=1_000)
    ap.add_argument("--sessions", type=int, default=1_000)
    ap.add_argument("--max-history", type=int, default=None)
    ap.add_argument("--max-context", type=int, default=None)
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--autosave", action="store_true", help="save to SQLite after every turn")
    ap.add_argument(
        "--phase", choices=("all", "long", "many", "growth", "growth-one"), default="all"
    )
    ap.add_argument("--sizes", type=int, nargs="+", default=[1, 100, 1000, 10_000])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--min-turns", type=int, default=4000, help="growth: timed turns per size")
    ap.add_argument("--gc-freeze", action="store_true", help="growth: gc.freeze() after warm-up")
    args = ap.parse_args()
    if args.phase == "many":
        print(json.dumps(asyncio.run(phase_many(args.sessions))))
        return
    if args.phase == "growth-one":
        print(json.dumps(asyncio.run(phase_growth(args.sessions, args.min_turns, args.gc_freeze))))
        return
    if args.phase == "growth":
        print(json.dumps(growth(args.sizes, args.rounds, args.min_turns, args.gc_freeze)))
        return
    result: dict[str, Any] = {"framework": "voxfsm", "python": sys.version.split()[0]}
    with tempfile.TemporaryDirectory() as tmp:
        result["long"] = asyncio.run(
            phase_long(
                args.turns,
                args.bucket,
                args.profile,
                args.max_history,
                args.max_context,
                str(Path(tmp) / "autosave.db") if args.autosave else None,
            )
        )
    if args.phase == "all" and args.sessions > 0:
        cmd = [sys.executable, __file__, "--phase", "many", "--sessions", str(args.sessions)]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
        result["many"] = json.loads(proc.stdout.strip().splitlines()[-1])
    print(json.dumps(result))


if __name__ == "__main__":
    main()
