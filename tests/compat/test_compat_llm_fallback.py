"""``llm.FallbackAdapter``: several models behind one, tried in order; LiveKit's API errors."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from voxfsm.agents import APIConnectionError, APIError, APIStatusError, llm
from voxfsm.agents.llm import FallbackAdapter, LLMError, ScriptedLLM, reply


class Down(llm.LLM):
    model = "down-model"

    def __init__(self) -> None:
        super().__init__()
        self.asked = 0

    async def chat(self, *, chat_ctx: Any, tools: Any, tool_choice: Any = "auto") -> Any:
        self.asked += 1
        raise APIConnectionError("server refused the connection")
        yield  # an async generator that fails before its first chunk


class Silent(llm.LLM):
    async def chat(self, *, chat_ctx: Any, tools: Any, tool_choice: Any = "auto") -> Any:
        await asyncio.sleep(3600)
        yield llm.LLMChunk("never")


class Warm(ScriptedLLM):
    def __init__(self) -> None:
        super().__init__({}, default=reply("fine"))
        self.warmed = asyncio.Event()

    async def _prewarm_impl(self) -> None:
        self.warmed.set()


def hello() -> llm.ChatContext:
    ctx = llm.ChatContext.empty()
    ctx.add_message(role="user", content="hello")
    return ctx


async def test_the_next_model_answers_when_one_fails_and_is_reported_as_active() -> None:
    down, backup = Down(), ScriptedLLM({"hello": reply("hi from the backup")})
    both = FallbackAdapter([down, backup], max_retry_per_llm=1, retry_interval=0)
    assert both.metrics_metadata["model_name"] == "down-model"
    async with both.chat(chat_ctx=hello()) as stream:
        assert (await stream.collect()).text == "hi from the backup"
    assert down.asked == 2  # tried once more before moving on
    assert both.metrics_metadata["model_name"] == "unknown"  # the scripted backup's
    assert both.model == "FallbackAdapter"


async def test_every_model_failing_is_one_error_naming_each() -> None:
    adapter = FallbackAdapter([Down(), Silent()], attempt_timeout=0.05)
    with pytest.raises(LLMError, match=r"Down: .*refused.*Silent: no first chunk in time"):
        await adapter.chat(chat_ctx=hello()).collect()


async def test_prewarm_reaches_only_the_first_model() -> None:
    first, second = Warm(), Warm()
    FallbackAdapter([first, second]).prewarm()
    await asyncio.wait_for(first.warmed.wait(), 5)
    assert not second.warmed.is_set()


def test_api_errors_follow_livekit_shapes() -> None:
    assert issubclass(LLMError, APIError) and issubclass(APIConnectionError, APIError)
    assert not APIStatusError("bad request", status_code=400).retryable
    assert APIStatusError("overloaded", status_code=503).retryable
    with pytest.raises(ValueError, match="at least one"):
        FallbackAdapter([])
