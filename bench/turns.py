#!/usr/bin/env python3
"""Text-session overhead of voxfsm, on the scenario of ``shared/bench/livekit_peer.py``.

Customer service <-> billing / technical support, a shared ``record_name`` tool, a 4-turn
cycle (question / handoff + greeting / tool + reply / handoff back + greeting), context
carried on every handoff, a scripted LLM with no sleeps streaming 4 chunks per text reply.
Serial phase: one session, 8 warm-up turns, then --turns timed turns (CPU time per turn is
the headline).  Concurrent phase: --sessions sessions started and driven through one cycle
concurrently; RSS growth per extra session.  Each phase runs in a fresh process, in
--rounds interleaved rounds together with the hand-written floor (``shared/bench/floor.py``)
and, given ``--peer-python``, LiveKit Agents (``shared/bench/livekit_peer.py --config lean``);
prints one JSON line: min/median/max per framework and the per-round ratios.

    python bench/turns.py --turns 200 --sessions 100
    python bench/turns.py --peer-python /path/to/livekit-venv/bin/python   # side by side
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_T0 = time.perf_counter()
from voxfsm.agents import Agent, AgentSession, ChatContext, RunContext, function_tool  # noqa: E402
from voxfsm.agents.chat import FunctionCallOutput, item_text  # noqa: E402
from voxfsm.agents.llm import ScriptedLLM, call, reply  # noqa: E402

IMPORT_S = time.perf_counter() - _T0
# the peer scripts live next to the checkout (/work/shared/bench), also seen from a worktree
_SHARED = next(
    (p / "shared" / "bench" for p in Path(__file__).resolve().parents if (p / "shared").is_dir()),
    Path(__file__).resolve().parents[2] / "shared" / "bench",
)
PEER = _SHARED / "livekit_peer.py"
FLOOR = _SHARED / "floor.py"  # the same cycle hand-written on bare asyncio


def rss_kb() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def peak_rss_kb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def pct(values: list[float], p: float) -> float:
    k = max(0, min(len(values) - 1, round(p / 100.0 * len(values) + 0.5) - 1))
    return values[k]


def ms(x: float) -> float:
    return round(x * 1000, 3)


# ----------------------------------------------------------------------------- the script


def decide(chat_ctx: ChatContext, tools: Any) -> Any:
    """Same decisions as the peer's scripted LLM, keyed on the context's tail."""
    names = {t.name for t in tools}
    user_text = None
    for item in reversed(chat_ctx.items):
        if isinstance(item, FunctionCallOutput):
            return reply(f"Done. {item.output} Anything else I can help with?")
        if item.type == "message":
            if item.role == "user":  # type: ignore[union-attr]
                user_text = item_text(item)
            break
    if user_text is None:
        return reply("Hello, you are through to the right desk, how can I help?")
    wanted = None
    if user_text.startswith("BILLING"):
        wanted = call("transfer_to_billing")
    elif user_text.startswith("TECH"):
        wanted = call("transfer_to_technical_support")
    elif user_text.startswith("NAME "):
        wanted = call("record_name", name=user_text[5:].strip())
    elif user_text.startswith("BACK"):
        wanted = call("transfer_back")
    if wanted is not None and wanted.name in names:
        return wanted
    return reply("Sure, here is the answer to your question about your account.")


def make_llm() -> ScriptedLLM:
    return ScriptedLLM(decide, chunk_words=3, record=False)


# ----------------------------------------------------------------------------- agents


@dataclass
class Userdata:
    name: str | None = None
    names_recorded: int = 0
    handoffs: int = 0


class _Desk(Agent):
    async def on_enter(self) -> None:
        self.session.generate_reply(instructions="Greet the caller and say which desk this is.")

    @function_tool
    async def record_name(self, context: RunContext[Userdata], name: str) -> str:
        """Record the caller's name.

        Args:
            name: the caller's full name
        """
        context.userdata.name = name
        context.userdata.names_recorded += 1
        return f"Recorded the name {name}."


class CustomerServiceAgent(_Desk):
    def __init__(self, chat_ctx: ChatContext | None = None) -> None:
        super().__init__(instructions="You are the customer service front desk.", chat_ctx=chat_ctx)

    @function_tool
    async def transfer_to_billing(self, context: RunContext[Userdata]) -> BillingAgent:
        """Transfer the caller to the billing team."""
        context.userdata.handoffs += 1
        return BillingAgent(chat_ctx=self.chat_ctx)

    @function_tool
    async def transfer_to_technical_support(
        self, context: RunContext[Userdata]
    ) -> TechnicalSupportAgent:
        """Transfer the caller to technical support."""
        context.userdata.handoffs += 1
        return TechnicalSupportAgent(chat_ctx=self.chat_ctx)


class BillingAgent(_Desk):
    def __init__(self, chat_ctx: ChatContext | None = None) -> None:
        super().__init__(instructions="You are the billing desk.", chat_ctx=chat_ctx)

    @function_tool
    async def transfer_back(self, context: RunContext[Userdata]) -> CustomerServiceAgent:
        """Transfer the caller back to the front desk."""
        context.userdata.handoffs += 1
        return CustomerServiceAgent(chat_ctx=self.chat_ctx)


class TechnicalSupportAgent(_Desk):
    def __init__(self, chat_ctx: ChatContext | None = None) -> None:
        super().__init__(instructions="You are technical support.", chat_ctx=chat_ctx)

    @function_tool
    async def transfer_back(self, context: RunContext[Userdata]) -> CustomerServiceAgent:
        """Transfer the caller back to the front desk."""
        context.userdata.handoffs += 1
        return CustomerServiceAgent(chat_ctx=self.chat_ctx)


KINDS = ("question", "handoff", "record", "back")
WARMUP = 8


def turn_input(i: int) -> tuple[str, str]:
    cycle, step = divmod(i, 4)
    if step == 0:
        return f"Q: what is my balance, question {i}?", "question"
    if step == 1:
        return ("BILLING please" if cycle % 2 == 0 else "TECH please"), "handoff"
    if step == 2:
        return f"NAME Caller {i}", "record"
    return "BACK to the front desk", "back"


def check(kind: str, result: Any) -> bool:
    types = [ev.type for ev in result.events]
    if kind == "question":
        return types == ["message"]
    if kind in ("handoff", "back"):
        return types == ["function_call", "function_call_output", "agent_handoff", "message"]
    return types == ["function_call", "function_call_output", "message"]


def new_session() -> AgentSession[Userdata]:
    return AgentSession[Userdata](llm=make_llm(), userdata=Userdata())


# ----------------------------------------------------------------------------- phases


async def phase_serial(turns: int) -> dict[str, Any]:
    session = new_session()
    t0 = time.perf_counter()
    await session.start(CustomerServiceAgent(), capture_run=True)
    start_s = time.perf_counter() - t0
    bad = 0
    for i in range(WARMUP):
        text, kind = turn_input(i)
        bad += not check(kind, await session.run(user_input=text))
    lat: list[float] = []
    cpu_lat: list[float] = []
    by_kind: dict[str, list[float]] = {k: [] for k in KINDS}
    cpu0 = time.process_time()
    begin = time.perf_counter()
    for i in range(WARMUP, WARMUP + turns):
        text, kind = turn_input(i)
        c, t = time.process_time(), time.perf_counter()
        r = await session.run(user_input=text)
        dt = time.perf_counter() - t
        cpu_lat.append(time.process_time() - c)
        lat.append(dt)
        by_kind[kind].append(dt)
        bad += not check(kind, r)
    wall = time.perf_counter() - begin
    cpu = time.process_time() - cpu0
    history = len(session.history.items)
    ud = session.userdata
    await session.aclose()
    s = sorted(lat)
    q = max(1, len(lat) // 4)
    return {
        "turns": turns,
        "wall_s": round(wall, 4),
        "turns_per_s": round(turns / wall, 2),
        "cpu_s": round(cpu, 4),
        "cpu_per_turn_mean_ms": ms(statistics.fmean(cpu_lat)),
        "cpu_per_turn_p50_ms": ms(pct(sorted(cpu_lat), 50)),
        "lat_mean_ms": ms(statistics.fmean(lat)),
        "lat_p50_ms": ms(pct(s, 50)),
        "lat_p99_ms": ms(pct(s, 99)),
        "lat_max_ms": ms(s[-1]),
        "lat_first_quarter_mean_ms": ms(statistics.fmean(lat[:q])),
        "lat_last_quarter_mean_ms": ms(statistics.fmean(lat[-q:])),
        "lat_by_kind_mean_ms": {k: ms(statistics.fmean(v)) for k, v in by_kind.items() if v},
        "session_start_ms": ms(start_s),
        "history_items": history,
        "names_recorded": ud.names_recorded,
        "handoffs": ud.handoffs,
        "bad_turns": bad,
        "peak_rss_mb": round(peak_rss_kb() / 1024, 1),
    }


async def phase_concurrent(n: int) -> dict[str, Any]:
    warm = new_session()
    await warm.start(CustomerServiceAgent())
    for i in range(WARMUP):
        await warm.run(user_input=turn_input(i)[0])
    await warm.aclose()
    del warm
    gc.collect()
    rss0 = rss_kb()
    sessions = [new_session() for _ in range(n)]
    t0 = time.perf_counter()
    await asyncio.gather(*(s.start(CustomerServiceAgent()) for s in sessions))
    start_all = time.perf_counter() - t0
    gc.collect()
    rss_started = rss_kb()

    async def drive(s: AgentSession[Userdata]) -> int:
        bad = 0
        for i in range(4):
            text, kind = turn_input(i)
            bad += not check(kind, await s.run(user_input=text))
        return bad

    t0 = time.perf_counter()
    bads = await asyncio.gather(*(drive(s) for s in sessions))
    cycle_all = time.perf_counter() - t0
    gc.collect()
    rss1 = rss_kb()
    await asyncio.gather(*(s.aclose() for s in sessions))
    return {
        "sessions": n,
        "rss_base_mb": round(rss0 / 1024, 1),
        "rss_per_session_started_kb": round((rss_started - rss0) / n, 1),
        "rss_per_session_kb": round((rss1 - rss0) / n, 1),
        "start_all_ms": ms(start_all),
        "cycle_all_ms": ms(cycle_all),
        "concurrent_turns_per_s": round(4 * n / cycle_all, 1),
        "bad_turns": sum(bads),
    }


def _json_of(cmd: list[str]) -> dict[str, Any]:
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])  # type: ignore[no-any-return]


def run_self(turns: int, sessions: int) -> dict[str, Any]:
    """One voxfsm run in fresh processes: the serial phase, then the concurrent one."""
    me = [sys.executable, __file__]
    out = _json_of([*me, "--phase", "serial", "--turns", str(turns)])
    if sessions > 0:
        out["concurrent"] = _json_of([*me, "--phase", "concurrent", "--sessions", str(sessions)])
        out["rss_per_session_kb"] = out["concurrent"]["rss_per_session_kb"]
    return out


def run_peer(python: str, turns: int, sessions: int) -> dict[str, Any]:
    cmd = [python, str(PEER), "--turns", str(turns), "--sessions", str(sessions)]
    return _json_of([*cmd, "--config", "lean"])


def run_floor(turns: int, sessions: int) -> dict[str, Any]:
    return _json_of(
        [sys.executable, str(FLOOR), "--turns", str(turns), "--sessions", str(sessions)]
    )


def spread(values: list[float]) -> dict[str, float]:
    """min / median / max of one figure over the rounds."""
    return {
        "min": round(min(values), 4),
        "median": round(statistics.median(values), 4),
        "max": round(max(values), 4),
    }


HEADLINE = ("cpu_per_turn_mean_ms", "turns_per_s", "lat_mean_ms", "rss_per_session_kb", "import_s")


def summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        k: spread([r[k] for r in runs]) for k in HEADLINE if all(r.get(k) is not None for r in runs)
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--turns", type=int, default=200)
    ap.add_argument("--sessions", type=int, default=100)
    ap.add_argument(
        "--rounds", type=int, default=3, help="interleaved rounds (each in new processes)"
    )
    ap.add_argument("--phase", choices=("rounds", "serial", "concurrent"), default="rounds")
    ap.add_argument("--peer-python", help="python with livekit-agents: run the peer (lean) too")
    ap.add_argument("--no-floor", action="store_true", help="skip the hand-written floor")
    args = ap.parse_args()
    if args.phase == "concurrent":
        print(json.dumps(asyncio.run(phase_concurrent(args.sessions))))
        return
    if args.phase == "serial":
        serial = asyncio.run(phase_serial(args.turns))
        print(json.dumps({"import_s": round(IMPORT_S, 3), **serial}))
        return
    floor = not args.no_floor and FLOOR.exists()
    load = [round(x, 2) for x in os.getloadavg()]
    runs: dict[str, list[dict[str, Any]]] = {"voxfsm": []}
    if floor:
        runs["floor"] = []
    if args.peer_python:
        runs["livekit_lean"] = []
    for _ in range(args.rounds):  # interleaved: a load change hits every framework alike
        runs["voxfsm"].append(run_self(args.turns, args.sessions))
        if floor:
            runs["floor"].append(run_floor(args.turns, args.sessions))
        if args.peer_python:
            runs["livekit_lean"].append(run_peer(args.peer_python, args.turns, args.sessions))
    mine = [r["cpu_per_turn_mean_ms"] for r in runs["voxfsm"]]
    result: dict[str, Any] = {
        "bench": "turns",
        "python": sys.version.split()[0],
        "turns": args.turns,
        "sessions": args.sessions,
        "rounds": args.rounds,
        "loadavg_at_start": load,
        "loadavg_at_end": [round(x, 2) for x in os.getloadavg()],
        "summary": {name: summary(rs) for name, rs in runs.items()},
        "bad_turns": {name: sum(r.get("bad_turns", 0) for r in rs) for name, rs in runs.items()},
    }
    ratios: dict[str, Any] = {}
    if args.peer_python:  # per round, then spread: how many times less CPU per turn
        peer = [r["cpu_per_turn_mean_ms"] for r in runs["livekit_lean"]]
        ratios["livekit_cpu_per_turn_over_voxfsm"] = spread(
            [p / m for p, m in zip(peer, mine, strict=True)]
        )
        rss = [
            (m["rss_per_session_kb"], p.get("rss_per_session_kb"))
            for m, p in zip(runs["voxfsm"], runs["livekit_lean"], strict=True)
        ]
        if all(m and p for m, p in rss):
            ratios["voxfsm_rss_per_session_fraction"] = spread([m / p for m, p in rss])
        result["peer_version"] = runs["livekit_lean"][0].get("version")
    if floor:
        low = [r["cpu_per_turn_mean_ms"] for r in runs["floor"]]
        ratios["voxfsm_cpu_per_turn_over_floor"] = spread(
            [m / f for m, f in zip(mine, low, strict=True)]
        )
    result["ratios"] = ratios
    result["runs"] = runs
    print(json.dumps(result))


if __name__ == "__main__":
    main()
