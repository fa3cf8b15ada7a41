"""Routing accuracy and decision latency of a real local model; prints JSON, asserts nothing.

    python bench/routing.py                              # Qwen2.5-Coder-1.5B, both workflows
    python bench/routing.py --model smollm2 --limit 3    # the tiny model: plumbing only
    python bench/routing.py --threads 1 --split test     # never-tuned-on utterances only
    python bench/routing.py --split tuned --decisions-only   # quick: no follow-up replies
    python bench/routing.py --tts                        # add espeak's first-audio time

For each labelled utterance (bench/_routing_sets.py: customer service's front desk and the
restaurant's greeter; transfers, other tools and plain answers, some with speech-recognition
errors) the agent's real instructions and tools, a short realistic history and the utterance
go to ``LocalLLM`` through its ``chat()`` interface, exactly as a session sends them; the
first action it takes (a tool, or ``say``) is compared with the label.

Latencies, in seconds from the request: ``decision_s`` — the reply is actionable (the call's
arguments are complete, or the first words of the answer have streamed); ``first_sentence_s``
— the first sentence the caller would hear is complete (for a transfer: the call, the tool's
message and the old agent's follow-up with tools off, as a session does it; ``--tts`` adds
espeak's synthesis time of that sentence as ``first_audio_s``). ``cold`` is the first request
of a workflow with an empty prompt-prefix cache (the model already loaded: ``load_s``); the
rest are ``warm``. The machine's load average is recorded: other processes change everything.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from _routing_sets import CUSTOMER_SERVICE, RESTAURANT_GREETER

from voxfsm.agents import Agent, ChatContext, FunctionCall, FunctionCallOutput
from voxfsm.agents.llm import LLMError
from voxfsm.agents.llm.local import LocalLLM

_SENTENCE_END = re.compile(r"[.!?](\s|$)")


def customer_service() -> tuple[Agent, ChatContext, dict[str, str]]:
    from voxfsm.examples import customer_service as cs

    agent = cs.CustomerService()
    ctx = agent.chat_ctx.copy()
    ctx.add_message(
        role="assistant",
        content="Hello, you've reached Acme customer service. May I have your name?",
    )
    ctx.add_message(role="user", content="Hi, this is Alex Morgan.")
    ctx.insert(FunctionCall(call_id="c1", name="record_name", arguments='{"name": "Alex Morgan"}'))
    ctx.insert(
        FunctionCallOutput(
            call_id="c1",
            name="record_name",
            output="Recorded the caller's name: Alex Morgan.",
            is_error=False,
        )
    )
    ctx.add_message(role="assistant", content="Thanks, Alex! How can I help?")
    messages = {
        "transfer_to_billing": "Transferring Alex to billing.",
        "transfer_to_tech_support": "Transferring Alex to technical support.",
    }
    return agent, ctx, messages


def restaurant() -> tuple[Agent, ChatContext, dict[str, str]]:
    from voxfsm.examples import restaurant as r

    agent = r.Greeter()
    ctx = agent.chat_ctx.copy()
    ctx.add_message(
        role="assistant",
        content="Welcome to Luigi's! Would you like to book a table or order takeaway?",
    )
    messages = {
        "to_takeaway": "Transferring to takeaway.",
        "to_reservation": "Transferring to reservations.",
    }
    return agent, ctx, messages


WORKFLOWS = {
    "customer_service": (customer_service, CUSTOMER_SERVICE),
    "restaurant": (restaurant, RESTAURANT_GREETER),
}


async def decide(llm: LocalLLM, agent: Agent, base: ChatContext, text: str) -> dict[str, Any]:
    ctx = base.copy()
    ctx.add_message(role="user", content=text)
    t0 = time.perf_counter()
    out: dict[str, Any] = {"text": text, "action": None, "said": ""}
    words: list[str] = []
    try:
        async for chunk in llm.chat(chat_ctx=ctx, tools=agent.tools, tool_choice="auto"):
            now = time.perf_counter() - t0
            if chunk.text:
                out.setdefault("decision_s", now)
                out["action"] = "say"
                words.append(chunk.text)
                if "first_sentence_s" not in out and _SENTENCE_END.search("".join(words)):
                    out["first_sentence_s"] = now
            for call in chunk.calls:
                out.update(action=call.name, arguments=call.arguments, decision_s=now)
    except LLMError as exc:
        out.update(action="malformed", error=str(exc))
    out["total_s"] = time.perf_counter() - t0
    out["said"] = "".join(words)
    if out["action"] == "say":
        out.setdefault("first_sentence_s", out["total_s"])
    stats = llm.last_stats
    if stats is not None:
        out["prompt_tokens"], out["reused_tokens"] = stats.prompt_tokens, stats.reused_tokens
        out["call_log_odds"] = stats.call_log_odds
    return out


async def follow_up(
    llm: LocalLLM, ctx: ChatContext, call: FunctionCall, message: str
) -> float | None:
    """Seconds to the first sentence of the old agent's follow-up after a transfer tool."""
    ctx = ctx.copy()
    ctx.insert(call)
    ctx.insert(
        FunctionCallOutput(call_id=call.call_id, name=call.name, output=message, is_error=False)
    )
    t0 = time.perf_counter()
    text = ""
    try:
        async for chunk in llm.chat(chat_ctx=ctx, tools=[], tool_choice="none"):
            text += chunk.text
            if _SENTENCE_END.search(text):
                break
    except LLMError as exc:
        print(f"follow-up failed: {exc}", file=sys.stderr)
        return None
    return time.perf_counter() - t0


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 3) if values else None


def summarize(rows: list[dict[str, Any]]) -> dict[str, Any]:
    per_class: dict[str, list[bool]] = defaultdict(list)
    for row in rows:
        per_class[row["expected"]].append(row["action"] == row["expected"])
    warm = [r for r in rows if not r["cold"]]
    cold = [r for r in rows if r["cold"]]

    def lat(rs: list[dict[str, Any]], key: str) -> dict[str, Any]:
        values = [r[key] for r in rs if key in r]
        return {"median": _median(values), "max": round(max(values), 3) if values else None}

    return {
        "n": len(rows),
        "accuracy": round(sum(r["action"] == r["expected"] for r in rows) / len(rows), 3),
        "accuracy_per_class": {
            k: {"correct": sum(v), "n": len(v), "accuracy": round(sum(v) / len(v), 3)}
            for k, v in sorted(per_class.items())
        },
        "accuracy_per_split": {
            k: round(
                sum(r["action"] == r["expected"] for r in rows if r["split"] == k)
                / sum(r["split"] == k for r in rows),
                3,
            )
            for k in sorted({r["split"] for r in rows})
        },
        "malformed": sum(r["action"] == "malformed" for r in rows),
        "confusions": dict(
            Counter(
                f"{r['expected']} -> {r['action']}" for r in rows if r["action"] != r["expected"]
            )
        ),
        "decision_s": {"cold": lat(cold, "decision_s"), "warm": lat(warm, "decision_s")},
        "first_sentence_s": {
            "cold": lat(cold, "first_sentence_s"),
            "warm": lat(warm, "first_sentence_s"),
        },
        "first_audio_s": {"warm": lat(warm, "first_audio_s")}
        if any("first_audio_s" in r for r in rows)
        else None,
    }


async def run_workflow(
    llm: LocalLLM, name: str, split: str, limit: int | None, tts: Any, follow: bool = True
) -> dict[str, Any]:
    build, labelled = WORKFLOWS[name]
    agent, base, messages = build()
    wanted = {"all": ("dev", "held", "test"), "tuned": ("dev", "held")}.get(split, (split,))
    chosen = [(s, e, t) for s, e, t in labelled if s in wanted][:limit]
    llm._runner().cache._entries.clear()  # cold: nothing of this workflow's prompt is cached
    llm._runner().load()._ctx.kv_cache_clear()
    llm._runner().load().n_tokens = 0
    rows = []
    for i, (where, expected, text) in enumerate(chosen):
        row = await decide(llm, agent, base, text)
        row.update(split=where, expected=expected, cold=i == 0)
        if row["action"] in messages and follow:
            call = FunctionCall(
                call_id="c2", name=row["action"], arguments=row.get("arguments", "{}")
            )
            ctx = base.copy()
            ctx.add_message(role="user", content=text)
            spoken = await follow_up(llm, ctx, call, messages[row["action"]])
            if spoken is not None:
                row["first_sentence_s"] = row["decision_s"] + spoken
        if tts is not None and "first_sentence_s" in row:
            t0 = time.perf_counter()
            await tts.synthesize(row["said"].split(".")[0] or "Putting you through now.")
            row["first_audio_s"] = row["first_sentence_s"] + time.perf_counter() - t0
        rows.append(row)
        mark = "ok " if row["action"] == expected else "BAD"
        print(
            f"{mark} {name:16} {expected:26} -> {row['action']:26} "
            f"{row.get('decision_s', 0):5.2f}s {row.get('call_log_odds')} "
            f"{text!r}",
            file=sys.stderr,
        )
    return {"summary": summarize(rows), "rows": rows}


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--model", default=None, help="local model name or .gguf path")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--workflow", choices=[*WORKFLOWS, "all"], default="all")
    parser.add_argument(
        "--split",
        choices=["dev", "held", "test", "tuned", "all"],
        default="all",
        help="tuned = dev + held (looked at while tuning); test was never tuned on",
    )
    parser.add_argument("--limit", type=int, default=None, help="first N utterances per workflow")
    parser.add_argument("--tts", action="store_true", help="time espeak on the first sentence")
    parser.add_argument("--rows", action="store_true", help="include every utterance's row")
    parser.add_argument(
        "--decisions-only",
        action="store_true",
        help="skip the old agent's follow-up after a transfer (faster; no first_sentence_s)",
    )
    parser.add_argument(
        "--timeout", type=float, default=300.0, help="seconds per reply (LocalLLM timeout=)"
    )
    args = parser.parse_args()
    llm = LocalLLM(args.model, n_threads=args.threads, timeout=args.timeout)
    load_before = os.getloadavg()
    t0 = time.perf_counter()
    await llm.aload()
    load_s = time.perf_counter() - t0
    tts = None
    if args.tts:
        from voxfsm.io.tts import Pyttsx3TTS

        tts = Pyttsx3TTS()
    names = list(WORKFLOWS) if args.workflow == "all" else [args.workflow]
    results = {}
    for name in names:
        res = await run_workflow(
            llm, name, args.split, args.limit, tts, follow=not args.decisions_only
        )
        results[name] = res if args.rows else res["summary"]
    print(
        json.dumps(
            {
                "model": llm.name,
                "threads": llm.n_threads,
                "split": args.split,
                "load_s": round(load_s, 2),
                "loadavg_before": [round(x, 2) for x in load_before],
                "loadavg_after": [round(x, 2) for x in os.getloadavg()],
                "workflows": results,
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
