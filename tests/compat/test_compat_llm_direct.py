"""Using an LLM directly, as LiveKit tests do: ``async with llm``, ``llm.chat(...)``."""

from __future__ import annotations

from voxfsm.agents.llm import ChatContext, FunctionToolCall, ScriptedLLM, call, reply


async def test_chat_streams_chunks_with_a_delta() -> None:
    async with ScriptedLLM(
        {"hello": reply("Hi there, friend", calls=[call("wave")])}, chunk_words=2
    ) as llm:
        ctx = ChatContext()
        ctx.add_message(role="user", content="hello")
        texts, calls = [], []
        async with llm.chat(chat_ctx=ctx) as stream:
            async for chunk in stream:
                if chunk.delta.content:
                    texts.append(chunk.delta.content)
                calls.extend(chunk.delta.tool_calls)
        assert "".join(texts) == "Hi there, friend"
        assert len(texts) == 2
        assert [c.name for c in calls] == ["wave"]
        assert isinstance(calls[0], FunctionToolCall)


async def test_collect_gathers_a_whole_reply() -> None:
    llm = ScriptedLLM({"hello": reply("Hi")})
    ctx = ChatContext()
    ctx.add_message(role="user", content="hello")
    whole = await llm.chat(chat_ctx=ctx).collect()
    assert whole.text == "Hi" and whole.tool_calls == []
