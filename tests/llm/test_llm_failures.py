"""Failures: the client's own retries where safe, then an LLMError naming the endpoint and
the fix; the session keeps running and its history stays consistent."""

from __future__ import annotations

import socket
from typing import Any

import pytest
from _llm_helpers import Desk, assert_history_consistent

from voxfsm.agents import AgentSession, ChatContext, FunctionCall
from voxfsm.agents.llm import LLMError, OpenAILLM, ScriptedCall, call, reply
from voxfsm.agents.llm.testing import ChatCompletionsServer, error, hang_up, raw, slow

FAST = 0.01  # a Retry-After short enough that the client's retries cost nothing


def free_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def user_ctx() -> ChatContext:
    c = ChatContext()
    c.add_message(role="user", content="hi")
    return c


async def test_connection_refused_names_the_url_and_how_to_start_a_server() -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    llm = OpenAILLM(model="m", base_url=url, max_retries=0)
    with pytest.raises(LLMError) as info:
        async for _ in llm.chat(chat_ctx=user_ctx(), tools=[]):
            pass
    msg = str(info.value)
    assert f"{url}/chat/completions" in msg and "'m'" in msg
    assert "Is it running?" in msg and "llama_cpp.server" in msg and "base_url=" in msg


async def test_a_server_error_is_retried_by_the_client_then_succeeds(
    openai_server: ChatCompletionsServer,
) -> None:
    openai_server.push(error(503, retry_after=FAST), "recovered")
    async with AgentSession(llm=OpenAILLM(base_url=openai_server.url, max_retries=1)) as s:
        await s.start(Desk())
        r = await s.run(user_input="hello")
        r.expect.next_event().is_message(role="assistant")
        r.expect.no_more_events()  # the failed attempt left nothing behind
        assert_history_consistent(s, ["hello"])
    assert len(openai_server.chat_requests) == 2
    assert openai_server.chat_requests[0].body == openai_server.chat_requests[1].body


async def test_rate_limit_honours_retry_after_then_succeeds(
    openai_server: ChatCompletionsServer,
) -> None:
    openai_server.push(error(429, "slow down", retry_after=0.05), "ok")
    llm = OpenAILLM(base_url=openai_server.url, max_retries=2)
    text = "".join([c.text async for c in llm.chat(chat_ctx=user_ctx(), tools=[])])
    assert text == "ok"
    assert len(openai_server.chat_requests) == 2


async def test_no_second_retry_loop_around_the_client(openai_server: ChatCompletionsServer) -> None:
    # max_retries=1 means exactly two attempts, whatever the error
    openai_server.push(*[error(500, "boom", retry_after=FAST)] * 5)
    llm = OpenAILLM(base_url=openai_server.url, max_retries=1)
    with pytest.raises(LLMError, match=r"HTTP 500: boom.*after 1 retries"):
        async for _ in llm.chat(chat_ctx=user_ctx(), tools=[]):
            pass
    assert len(openai_server.chat_requests) == 2


Case = tuple[list[Any], dict[str, Any], str]

# each: the server's answers for the failing request, OpenAILLM options, what the error says
FAILURES: dict[str, Case] = {
    "http 500": ([error(500, "CUDA out of memory", retry_after=FAST)] * 2, {}, "HTTP 500"),
    "rate limit 429": (
        [error(429, "too many requests", retry_after=FAST)] * 2,
        {},
        "rate-limiting",
    ),
    "unknown model 404": ([error(404, "model 'm' not found")], {}, "ollama pull m"),
    "context too long 400": (
        [error(400, "prompt exceeds n_ctx")],
        {},
        "context size",
    ),
    "bad key 401": ([error(401, "invalid api key")], {}, "OPENAI_API_KEY"),
    "no answer in time": ([slow("late", 2.0)], {"timeout": 0.3, "max_retries": 0}, "within 0.3 s"),
    "stalls mid-stream": (
        [slow("a b c d e f g h", 0.0, per_chunk=1.0)],
        {"timeout": 0.3, "max_retries": 0},
        "stopped sending",
    ),
    "hangs up mid-text": ([hang_up("It shipped on Monday morning.", after=3)], {}, "broke off"),
    "hangs up mid-call": ([hang_up(call("lookup", order_id=123456), after=4)], {}, "broke off"),
    "ends without finish_reason": (
        [raw({"choices": [{"index": 0, "delta": {"content": "Hel"}, "finish_reason": None}]})],
        {},
        "no finish_reason",
    ),
    "error event mid-stream": (
        [raw({"error": {"message": "the model crashed", "type": "server_error"}})],
        {},
        "the model crashed",
    ),
    "empty reply": ([""], {}, "empty reply"),
    "call with no name": (
        [
            raw(
                {
                    "choices": [
                        {
                            "index": 0,
                            "delta": {"tool_calls": [{"index": 0, "id": "x", "function": {}}]},
                            "finish_reason": "tool_calls",
                        }
                    ]
                }
            )
        ],
        {},
        "no function name",
    ),
}


@pytest.mark.parametrize("case", list(FAILURES))
async def test_failure_raises_from_run_and_the_session_keeps_going(
    case: str, openai_server: ChatCompletionsServer
) -> None:
    answers, options, says = FAILURES[case]
    options = {"max_retries": 1, **options}
    llm = OpenAILLM(model="m", base_url=openai_server.url, **options)
    desk = Desk()
    async with AgentSession(llm=llm) as s:
        await s.start(desk)
        openai_server.push(*answers)
        with pytest.raises(LLMError) as info:
            await s.run(user_input="where is order 123456?")
        assert f"{openai_server.url}/chat/completions (model 'm')" in str(info.value)
        assert says in str(info.value)
        assert desk.lookups == []  # nothing half-received was acted on
        assert not any(isinstance(it, FunctionCall) for it in s.history.items)
        # nothing of the failed reply was stored: the next request sees just the user turn
        openai_server.push("All good now.")
        r = await s.run(user_input="still there?")
        r.expect.next_event().is_message(role="assistant")
        r.expect.no_more_events()
        assert r.events[0].item.text_content == "All good now."
        assert_history_consistent(s, ["where is order 123456?", "still there?"])
        last = openai_server.chat_requests[-1].messages
        assert [m["role"] for m in last] == ["system", "user", "user"]


async def test_failure_after_a_tool_ran_keeps_the_call_and_its_output(
    openai_server: ChatCompletionsServer,
) -> None:
    desk = Desk()
    llm = OpenAILLM(base_url=openai_server.url, max_retries=0)
    async with AgentSession(llm=llm) as s:
        await s.start(desk)
        openai_server.push(call("lookup", order_id=5), error(500, "crashed"))
        with pytest.raises(LLMError, match="HTTP 500: crashed"):
            await s.run(user_input="order 5?")
        assert desk.lookups == [5]  # the tool ran once and is not re-run
        openai_server.push("Order 5 shipped, as I said.")
        await s.run(user_input="so?")
        assert desk.lookups == [5]
        assert_history_consistent(s, ["order 5?", "so?"])
    roles = [m["role"] for m in openai_server.chat_requests[-1].messages]
    assert roles == ["system", "user", "assistant", "tool", "user"]


async def test_malformed_arguments_become_an_error_output_the_model_can_fix(
    openai_server: ChatCompletionsServer,
) -> None:
    # API.md: arguments that fail the schema are answered with an error, nothing executes,
    # and the model gets a follow-up, so this is not an LLMError
    openai_server.push(
        ScriptedCall("lookup", '{"order_id": 7'),
        call("lookup", order_id=7),
        reply("It shipped."),
    )
    desk = Desk()
    async with AgentSession(llm=OpenAILLM(base_url=openai_server.url)) as s:
        await s.start(desk)
        r = await s.run(user_input="order 7?")
        r.expect.next_event().is_function_call(name="lookup")
        out = r.expect.next_event().is_function_call_output(is_error=True).event().item
        assert "not valid JSON" in out.output
        r.expect.next_event().is_function_call(name="lookup", arguments={"order_id": 7})
        r.expect.next_event().is_function_call_output(output="order 7 shipped")
        r.expect.next_event().is_message(role="assistant")
        assert desk.lookups == [7]
        assert_history_consistent(s, ["order 7?"])
    tool_msg = openai_server.chat_requests[1].messages[-1]
    assert tool_msg["role"] == "tool" and "not valid JSON" in tool_msg["content"]


async def test_an_unknown_tool_name_is_answered_with_the_available_tools(
    openai_server: ChatCompletionsServer,
) -> None:
    openai_server.push(call("track_parcel", id=1), reply("Sorry, let me use lookup."))
    async with AgentSession(llm=OpenAILLM(base_url=openai_server.url)) as s:
        await s.start(Desk())
        r = await s.run(user_input="track it")
        r.expect.next_event().is_function_call(name="track_parcel")
        out = r.expect.next_event().is_function_call_output(is_error=True).event().item
        assert "track_parcel" in out.output and "`lookup`" in out.output
        r.expect.next_event().is_message(role="assistant")
        assert_history_consistent(s, ["track it"])
