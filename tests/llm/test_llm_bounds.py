"""``OpenAILLM`` bounds every reply: a stream that never ends is cut off with a clear error."""

from __future__ import annotations

import pytest
from _llm_helpers import Desk, assert_history_consistent

from voxfsm.agents import AgentSession, ChatContext
from voxfsm.agents.llm import LLMError, OpenAILLM, call
from voxfsm.agents.llm.testing import ChatCompletionsServer, slow


def user_ctx() -> ChatContext:
    ctx = ChatContext()
    ctx.add_message(role="user", content="hi")
    return ctx


async def test_a_reply_that_keeps_streaming_text_is_cut_at_max_reply_chars(
    openai_server: ChatCompletionsServer,
) -> None:
    openai_server.push("la " * 2000)
    llm = OpenAILLM(base_url=openai_server.url, max_reply_chars=100)
    with pytest.raises(LLMError, match=r"more than 100 characters.*max_reply_chars"):
        async for _ in llm.chat(chat_ctx=user_ctx(), tools=[]):
            pass


async def test_endless_call_arguments_count_too(openai_server: ChatCompletionsServer) -> None:
    openai_server.push(call("lookup", order_id=1, note="x" * 5000))
    llm = OpenAILLM(base_url=openai_server.url, max_reply_chars=100)
    with pytest.raises(LLMError, match="max_reply_chars"):
        async for _ in llm.chat(chat_ctx=user_ctx(), tools=[]):
            pass


async def test_a_reply_streaming_too_long_is_cut_at_max_reply_seconds(
    openai_server: ChatCompletionsServer,
) -> None:
    openai_server.push(slow("a b c d e f g h i j k l m n o p", 0.0, per_chunk=0.05))
    llm = OpenAILLM(base_url=openai_server.url, max_reply_seconds=0.2)
    with pytest.raises(LLMError, match=r"still streaming one reply after 0.2 s"):
        async for _ in llm.chat(chat_ctx=user_ctx(), tools=[]):
            pass


async def test_the_session_keeps_going_after_a_cut_off_reply(
    openai_server: ChatCompletionsServer,
) -> None:
    llm = OpenAILLM(base_url=openai_server.url, max_reply_chars=100)
    async with AgentSession(llm=llm) as s:
        await s.start(Desk())
        openai_server.push("la " * 2000)
        with pytest.raises(LLMError, match="max_reply_chars"):
            await s.run(user_input="sing")
        openai_server.push("Fine.")
        await s.run(user_input="talk normally")
        assert_history_consistent(s, ["sing", "talk normally"])


def test_max_tokens_is_sent_to_the_server() -> None:
    llm = OpenAILLM(max_tokens=256)
    assert llm.request(user_ctx(), [])["max_tokens"] == 256
    assert "max_tokens" not in OpenAILLM().request(user_ctx(), [])
