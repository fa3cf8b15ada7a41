"""Any LLM (ours, or a LiveKit-style subclass of ``llm.LLM``) streams, closes and drives agents."""

from __future__ import annotations

import asyncio
from typing import Any

from pydantic import BaseModel

from voxfsm.agents import Agent, AgentSession, function_tool, llm
from voxfsm.agents.llm import ChatChunk, ChoiceDelta, FunctionToolCall, OpenAILLM, ScriptedLLM
from voxfsm.agents.types import DEFAULT_API_CONNECT_OPTIONS, APIConnectOptions


class EchoStream(llm.LLMStream):
    """A stream in LiveKit's shape: ``_run`` pushes chunks into ``_event_ch``."""

    def __init__(self, model: EchoLLM, *, chat_ctx: Any, tools: Any, conn_options: Any) -> None:
        super().__init__(model, chat_ctx=chat_ctx, tools=tools, conn_options=conn_options)
        self._model = model

    async def _run(self) -> None:
        text = self.chat_ctx.items[-1].text_content or ""
        if text == "fail":
            raise RuntimeError("model crashed")
        if text == "call":
            call = FunctionToolCall(name="ring", arguments="{}", call_id="c1")
            self._event_ch.send_nowait(ChatChunk(id="1", delta=ChoiceDelta(tool_calls=[call])))
            return
        for word in text.split():
            self._event_ch.send_nowait(ChatChunk(id="1", delta=ChoiceDelta(content=word + " ")))


class EchoLLM(llm.LLM):
    def __init__(self) -> None:
        super().__init__()
        self.closed = False

    def chat(
        self,
        *,
        chat_ctx: Any,
        tools: Any = None,
        conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS,
        **_: Any,
    ) -> llm.LLMStream:
        return EchoStream(self, chat_ctx=chat_ctx, tools=tools or [], conn_options=conn_options)

    async def aclose(self) -> None:
        self.closed = True


class GeneratorLLM(llm.LLM):
    """The voxfsm shape: ``chat`` is an async generator of chunks, with no extra options."""

    async def chat(self, *, chat_ctx: Any, tools: Any, tool_choice: Any = "auto") -> Any:
        yield llm.LLMChunk("hello ")
        yield llm.LLMChunk("there")


def ask(text: str) -> llm.ChatContext:
    ctx = llm.ChatContext()
    ctx.add_message(role="user", content=text)
    return ctx


async def test_a_livekit_style_subclass_streams_collects_and_closes() -> None:
    async with EchoLLM() as model:
        async with model.chat(chat_ctx=ask("one two")) as stream:
            texts = [chunk.delta.content async for chunk in stream]
        assert texts == ["one ", "two "]
        collected = await model.chat(chat_ctx=ask("call")).collect()
        assert [c.name for c in collected.tool_calls] == ["ring"]
    assert model.closed


async def test_an_error_in_run_reaches_the_reader() -> None:
    stream = EchoLLM().chat(chat_ctx=ask("fail"))
    try:
        await stream.collect()
    except RuntimeError as exc:
        assert "model crashed" in str(exc)
    else:
        raise AssertionError("the stream's error was swallowed")


async def test_async_with_works_on_every_llm_and_options_they_do_not_take_are_dropped() -> None:
    model = GeneratorLLM()
    async with (
        model,
        model.chat(
            chat_ctx=ask("hi"), conn_options=DEFAULT_API_CONNECT_OPTIONS, parallel_tool_calls=True
        ) as stream,
    ):
        assert (await stream.collect()).text == "hello there"
    for other in (ScriptedLLM({}), OpenAILLM(model="m", base_url="http://127.0.0.1:9/v1")):
        assert isinstance(other, llm.LLM)
        async with other:
            pass


def test_any_object_with_chat_counts_as_an_llm() -> None:
    class Duck:
        def chat(self, **_: Any) -> None: ...

    assert isinstance(Duck(), llm.LLM)
    assert not isinstance(object(), llm.LLM)


def test_tool_calls_fit_in_pydantic_models_as_in_livekit_fakes() -> None:
    class Canned(BaseModel):
        calls: list[FunctionToolCall]

    canned = Canned(calls=[FunctionToolCall(name="ring", arguments="{}", call_id="c1")])
    again = Canned.model_validate({"calls": [{"name": "ring", "call_id": "c2"}]})
    assert canned.calls[0].name == again.calls[0].name == "ring"
    assert again.calls[0].arguments == "{}"


class Phone(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="You ring people.")

    @function_tool
    async def ring(self) -> None:
        """Ring the bell."""


async def test_a_livekit_style_llm_drives_a_session() -> None:
    async with EchoLLM() as model, AgentSession(llm=model) as sess:
        await sess.start(Phone())
        result = await asyncio.wait_for(sess.run(user_input="good morning"), 5)
        result.expect.next_event().is_message(role="assistant")
        assert result.expect[0].event().item.text_content.strip() == "good morning"
        called = await asyncio.wait_for(sess.run(user_input="call"), 5)
        called.expect.next_event().is_function_call(name="ring")
