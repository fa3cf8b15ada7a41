"""The loopback Chat Completions server itself, driven by the raw openai client."""

from __future__ import annotations

import json
from typing import Any

import openai
import pytest

from voxfsm.agents.llm import ScriptedCall, call, reply
from voxfsm.agents.llm.testing import ChatCompletionsServer, RecordedRequest, error


def client(server: ChatCompletionsServer, **kwargs: object) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=server.url, api_key="x", **kwargs)  # type: ignore[arg-type]


async def test_non_streaming_answers_are_complete_messages(
    openai_server: ChatCompletionsServer,
) -> None:
    openai_server.push(reply("Checking.", calls=[call("lookup", order_id=7), call("ping")]))
    resp = await client(openai_server).chat.completions.create(
        model="m", messages=[{"role": "user", "content": "hi"}]
    )
    choice = resp.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content == "Checking."
    calls: list[Any] = list(choice.message.tool_calls or [])
    assert [(c.function.name, json.loads(c.function.arguments)) for c in calls] == [
        ("lookup", {"order_id": 7}),
        ("ping", {}),
    ]
    assert resp.usage is not None and resp.usage.total_tokens > 0


async def test_streams_end_with_usage_when_asked_and_done(
    openai_server: ChatCompletionsServer,
) -> None:
    openai_server.push("one two three")
    stream = await client(openai_server).chat.completions.create(
        model="m",
        messages=[{"role": "user", "content": "count"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = [c async for c in stream]
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "one two three"
    assert chunks[-2].choices[0].finish_reason == "stop"
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == 3


async def test_models_are_listed(openai_server: ChatCompletionsServer) -> None:
    models = await client(openai_server).models.list()
    assert [m.id for m in models.data] == ["fake-model"]


async def test_a_script_that_ran_out_says_so_and_is_not_retried(
    openai_server: ChatCompletionsServer,
) -> None:
    with pytest.raises(openai.InternalServerError, match="script ran out at chat request #1"):
        await client(openai_server, max_retries=2).chat.completions.create(
            model="m", messages=[{"role": "user", "content": "hi"}]
        )
    assert len(openai_server.requests) == 1


async def test_a_callable_script_sees_each_request() -> None:
    def answer(request: RecordedRequest) -> object:
        last = request.messages[-1]
        if last["role"] == "tool":
            return f"the tool said {last['content']}"
        return call("lookup", order_id=len(request.messages))

    with ChatCompletionsServer(answer) as server:
        c = client(server)
        first = await c.chat.completions.create(
            model="m", messages=[{"role": "user", "content": "hi"}]
        )
        tc: Any
        (tc,) = first.choices[0].message.tool_calls or []
        assert json.loads(tc.function.arguments) == {"order_id": 1}
        second = await c.chat.completions.create(
            model="m",
            messages=[
                {"role": "user", "content": "hi"},
                first.choices[0].message.model_dump(exclude_none=True),  # type: ignore[list-item]
                {"role": "tool", "tool_call_id": tc.id, "content": "shipped"},
            ],
        )
        assert second.choices[0].message.content == "the tool said shipped"
        assert [r.messages[-1]["role"] for r in server.requests] == ["user", "tool"]


async def test_error_answers_carry_retry_after_and_an_openai_error_body(
    openai_server: ChatCompletionsServer,
) -> None:
    openai_server.push(error(429, "busy", retry_after=30, retry=False))
    with pytest.raises(openai.RateLimitError) as info:
        await client(openai_server).chat.completions.create(
            model="m", messages=[{"role": "user", "content": "hi"}]
        )
    assert info.value.response.headers["retry-after"] == "30"
    assert info.value.body == {
        "message": "busy",
        "type": "rate_limit_error",
        "code": 429,
        "param": None,
    }


async def test_invalid_argument_json_is_sent_verbatim(openai_server: ChatCompletionsServer) -> None:
    openai_server.push(ScriptedCall("lookup", '{"order_id": 7'))
    resp = await client(openai_server).chat.completions.create(
        model="m", messages=[{"role": "user", "content": "hi"}]
    )
    tc: Any
    (tc,) = resp.choices[0].message.tool_calls or []
    assert tc.function.arguments == '{"order_id": 7'


def test_assert_complete_reports_unused_answers() -> None:
    with ChatCompletionsServer(["never asked for"]) as server:
        assert server.pending == 1
        with pytest.raises(AssertionError, match="never requested"):
            server.assert_complete()


def test_url_before_start_explains_how_to_start() -> None:
    with pytest.raises(RuntimeError, match="with server"):
        _ = ChatCompletionsServer().url
