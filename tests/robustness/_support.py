"""Shared helpers for the robustness tests: the bench/turns.py workflow and item checks."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path
from typing import Any

from voxfsm.agents import AgentHandoff, ChatContext, ChatMessage, FunctionCall, FunctionCallOutput

REPO = Path(__file__).resolve().parents[2]
BENCH = REPO / "bench"
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

import turns  # noqa: E402  (bench/turns.py: the customer-service workflow)

__all__ = ["BENCH", "REPO", "describe", "duplicate_ids", "signature", "turns", "unpaired_calls"]


def describe(item: Any) -> tuple[Any, ...]:
    """What an item says, without its id, timestamps or (process-local) call id."""
    if isinstance(item, ChatMessage):
        return ("message", item.role, item.text_content, item.interrupted)
    if isinstance(item, FunctionCall):
        return ("function_call", item.name, item.arguments)
    if isinstance(item, FunctionCallOutput):
        return ("function_call_output", item.name, item.output, item.is_error)
    if isinstance(item, AgentHandoff):
        return ("agent_handoff", item.old_agent_id, item.new_agent_id)
    return ("other", type(item).__name__)


def signature(ctx: ChatContext) -> list[tuple[Any, ...]]:
    return [describe(it) for it in ctx.items]


def duplicate_ids(ctx: ChatContext) -> list[str]:
    return sorted(k for k, n in Counter(it.id for it in ctx.items).items() if n > 1)


def unpaired_calls(ctx: ChatContext) -> list[str]:
    """Problems with call/output pairing: each call exactly one output, each output one call."""
    calls = Counter(it.call_id for it in ctx.items if isinstance(it, FunctionCall))
    outs = Counter(it.call_id for it in ctx.items if isinstance(it, FunctionCallOutput))
    problems = [f"call {cid} seen {n} times" for cid, n in calls.items() if n != 1]
    problems += [
        f"call {cid} has {outs.get(cid, 0)} outputs" for cid in calls if outs.get(cid) != 1
    ]
    problems += [f"output {cid} has no call" for cid in outs if cid not in calls]
    return problems
