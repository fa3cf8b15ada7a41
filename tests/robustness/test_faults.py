"""Faults in tools, in the LLM and in the user's input: nothing lost, nothing left dangling."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from voxfsm.agents import Agent, AgentSession, RunContext, ToolError, function_tool
from voxfsm.agents.llm import LLMChunk, ScriptedCall, ScriptedLLM, ToolCallRequest, call, reply

from ._support import duplicate_ids, signature, unpaired_calls

HUGE = "x" * 2_000_000


class Unprintable:
    def __str__(self) -> str:
        raise RuntimeError("no str")

    def __repr__(self) -> str:
        raise RuntimeError("no repr")


class Holder:
    """A plain object: neither JSON-able nor structurable."""

    def __init__(self) -> None:
        self.callback: Callable[[], int] = lambda: 1


class ToolAgent(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="You have tools that misbehave.")

    @function_tool
    async def echo(self, text: str) -> str:
        """Echo the text."""
        return text

    @function_tool
    async def book(self, day: str, guests: int, vip: bool = False) -> dict[str, Any]:
        """Book a table.

        Args:
            day: the day
            guests: how many people
            vip: a VIP booking
        """
        return {"day": day, "guests": guests, "vip": vip}

    @function_tool
    async def crash(self) -> str:
        """Raises."""
        raise ZeroDivisionError("bug in the tool")

    @function_tool
    async def refuse(self) -> str:
        """Raises a ToolError."""
        raise ToolError("the booking system is down")

    @function_tool
    async def junk_object(self) -> object:
        """Returns an object that is not JSON-able."""
        return Holder()

    @function_tool
    async def junk_mixed(self) -> object:
        """Returns a dict holding values JSON cannot hold."""
        return {"nan": float("nan"), "bytes": b"\x00\xff", "set": {1, 2}, "fn": len}

    @function_tool
    async def huge(self) -> str:
        """Returns a huge string."""
        return HUGE

    @function_tool
    async def unprintable(self) -> object:
        """Returns an object whose str() raises."""
        return Unprintable()

    @function_tool
    async def cancelled(self) -> str:
        """Raises CancelledError from inside the tool (no one cancelled the turn)."""
        raise asyncio.CancelledError()


def assert_consistent(session: AgentSession[Any]) -> None:
    for name, ctx in [("history", session.history), ("context", session.current_agent.chat_ctx)]:
        assert unpaired_calls(ctx) == [], name
        assert duplicate_ids(ctx) == [], name


async def assert_usable(session: AgentSession[Any], llm: Any) -> None:
    """A later, ordinary run works and is answered."""
    if hasattr(llm, "healthy"):
        llm.healthy = True
    before = len(session.history.items)
    result = await asyncio.wait_for(session.run(user_input="are you still there?"), 30)
    assert [e.type for e in result.events] == ["message"]
    assert result.events[0].item.text_content == "yes, still here"
    assert session.history.items[before].text_content == "are you still there?"  # type: ignore[union-attr]
    assert_consistent(session)


def still_here_script(first: Any) -> ScriptedLLM:
    return ScriptedLLM(
        [("are you still there?", reply("yes, still here")), ("go", first)],
        default=reply("noted"),
    )


# ----------------------------------------------------------------------------- tools


TOOL_FAULTS: list[tuple[str, str, Callable[[str], bool]]] = [
    ("raises", "crash", lambda out: out == "An internal error occurred"),
    ("tool-error", "refuse", lambda out: out == "the booking system is down"),
    ("not-json-able-object", "junk_object", lambda out: "Holder" in out),
    ("json-hostile-values", "junk_mixed", lambda out: "nan" in out.lower()),
    ("huge-string", "huge", lambda out: out == HUGE),
    ("unprintable-result", "unprintable", lambda out: True),
    ("raises-cancelled-error", "cancelled", lambda out: True),
]


@pytest.mark.parametrize(
    ("tool", "output_ok"),
    [(t, ok) for _, t, ok in TOOL_FAULTS],
    ids=[name for name, _, _ in TOOL_FAULTS],
)
async def test_tool_faults_keep_the_session_usable(
    tool: str, output_ok: Callable[[str], bool], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.CRITICAL)
    llm = still_here_script(call(tool))
    session: AgentSession[Any] = AgentSession(llm=llm)
    await session.start(ToolAgent())
    result = await session.run(user_input="go")  # a tool fault never fails the turn
    types = [e.type for e in result.events]
    assert types == ["function_call", "function_call_output", "message"], types
    out = result.events[1].item
    assert isinstance(out.output, str)
    assert output_ok(out.output), out.output[:200]
    json.dumps(session.history.to_dict())  # whatever the tool returned, history is JSON-safe
    assert_consistent(session)
    await assert_usable(session, llm)


async def test_a_huge_tool_output_is_kept_whole_and_snapshots() -> None:
    llm = still_here_script(call("huge"))
    session: AgentSession[Any] = AgentSession(llm=llm)
    await session.start(ToolAgent())
    await session.run(user_input="go")
    data = json.loads(json.dumps(session.snapshot()))
    outputs = [it for it in data["history"]["items"] if it["type"] == "function_call_output"]
    assert [len(o["output"]) for o in outputs] == [len(HUGE)]


# ----------------------------------------------------------------------------- LLM faults


class FaultyLLM:
    """Implements the LLM protocol: misbehaves as told on its first request, then is healthy."""

    def __init__(self, fault: Callable[[], AsyncIterator[Any]]) -> None:
        self.fault = fault
        self.healthy = False
        self.requests = 0

    async def chat(
        self, *, chat_ctx: Any, tools: Sequence[Any], tool_choice: Any = "auto"
    ) -> AsyncIterator[LLMChunk]:
        self.requests += 1
        if not self.healthy:
            self.healthy = True  # one fault per test; follow-ups are answered normally
            async for chunk in self.fault():
                yield chunk
            return
        last = chat_ctx.items[-1]
        if getattr(last, "text_content", None) == "are you still there?":
            yield LLMChunk("yes, still here")
        else:
            yield LLMChunk("noted")


def _req(name: str, arguments: str = "{}", call_id: str | None = None) -> ToolCallRequest:
    _req.n += 1  # type: ignore[attr-defined]
    return ToolCallRequest(call_id or f"faulty_{_req.n}", name, arguments)  # type: ignore[attr-defined]


_req.n = 0  # type: ignore[attr-defined]


async def _raise_first() -> AsyncIterator[Any]:
    raise ConnectionError("http://127.0.0.1:9/v1: connection refused")
    yield  # pragma: no cover


async def _text_then_raise() -> AsyncIterator[Any]:
    yield LLMChunk("Let me check that ")
    raise ConnectionError("stream reset")


async def _call_then_raise() -> AsyncIterator[Any]:
    yield LLMChunk("", (_req("echo", '{"text": "a"}'),))
    raise ConnectionError("stream reset after a tool call")


async def _calls_then_garbage() -> AsyncIterator[Any]:
    yield LLMChunk("On it.", (_req("echo", '{"text": "a"}'), _req("book", '{"day": "mon"}')))
    yield "garbage after the calls"


async def _timeout_mid_stream() -> AsyncIterator[Any]:
    yield LLMChunk("Thinking")
    raise asyncio.TimeoutError()


LLM_FAILURES: dict[str, Callable[[], AsyncIterator[Any]]] = {
    "raise-before-any-chunk": _raise_first,
    "text-then-raise": _text_then_raise,
    "call-then-raise": _call_then_raise,
    "calls-then-garbage": _calls_then_garbage,
    "timeout-mid-stream": _timeout_mid_stream,
}


@pytest.mark.parametrize("fault", list(LLM_FAILURES.values()), ids=list(LLM_FAILURES))
async def test_llm_failure_leaves_history_consistent(
    fault: Callable[[], AsyncIterator[Any]],
) -> None:
    llm = FaultyLLM(fault)
    session: AgentSession[Any] = AgentSession(llm=llm)
    await session.start(ToolAgent())
    with pytest.raises(Exception):  # noqa: B017 - the failure propagates, whatever its type
        await session.run(user_input="go")
    # the user's message is never lost
    texts = [getattr(it, "text_content", None) for it in session.history.items]
    assert "go" in texts
    assert_consistent(session)
    # what the failure left behind snapshots and restores as is
    data = json.loads(json.dumps(session.snapshot()))
    restored = AgentSession.restore(data, llm=FaultyLLM(fault))
    assert signature(restored.history) == signature(session.history)
    assert_consistent(restored)
    await assert_usable(session, llm)


async def _yield_none() -> AsyncIterator[Any]:
    yield None


async def _yield_str() -> AsyncIterator[Any]:
    yield "hello"


async def _yield_dict() -> AsyncIterator[Any]:
    yield {"text": "hello"}


async def _calls_hold_none() -> AsyncIterator[Any]:
    yield LLMChunk("x", (None,))  # type: ignore[arg-type]


GARBAGE: dict[str, Callable[[], AsyncIterator[Any]]] = {
    "none-chunk": _yield_none,
    "str-chunk": _yield_str,
    "dict-chunk": _yield_dict,
    "none-call": _calls_hold_none,
}


@pytest.mark.parametrize("fault", list(GARBAGE.values()), ids=list(GARBAGE))
async def test_garbage_chunks_leave_the_session_usable(
    fault: Callable[[], AsyncIterator[Any]],
) -> None:
    llm = FaultyLLM(fault)
    session: AgentSession[Any] = AgentSession(llm=llm)
    await session.start(ToolAgent())
    with pytest.raises(Exception):  # noqa: B017
        await session.run(user_input="go")
    assert_consistent(session)
    await assert_usable(session, llm)


@pytest.mark.parametrize("fault", list(GARBAGE.values()), ids=list(GARBAGE))
async def test_garbage_chunks_raise_a_clear_error(
    fault: Callable[[], AsyncIterator[Any]],
) -> None:
    session: AgentSession[Any] = AgentSession(llm=FaultyLLM(fault))
    await session.start(ToolAgent())
    with pytest.raises(Exception) as info:
        await session.run(user_input="go")
    assert not isinstance(info.value, AttributeError), repr(info.value)
    msg = str(info.value)  # says what the LLM sent, or what it should have sent
    assert any(w in msg for w in ("FaultyLLM", "LLMChunk", "ToolCallRequest")), repr(info.value)


async def test_odd_but_valid_calls_are_answered_with_errors() -> None:
    async def odd() -> AsyncIterator[Any]:
        yield LLMChunk(
            "",
            (
                ToolCallRequest("odd_1", "echo", {"text": "a dict, not JSON text"}),  # type: ignore[arg-type]
                ToolCallRequest("odd_2", "echo", 5),  # type: ignore[arg-type]
                ToolCallRequest("odd_3", None, "{}"),  # type: ignore[arg-type]
                ToolCallRequest("odd_4", "no_such_tool", "{}"),
            ),
        )

    llm = FaultyLLM(odd)
    session: AgentSession[Any] = AgentSession(llm=llm)
    await session.start(ToolAgent())
    result = await session.run(user_input="go")
    outs = {e.item.call_id: e.item for e in result.events if e.type == "function_call_output"}
    assert set(outs) == {"odd_1", "odd_2", "odd_3", "odd_4"}
    assert [outs[k].is_error for k in sorted(outs)] == [False, True, True, True]
    json.dumps(session.history.to_dict())
    assert_consistent(session)
    await assert_usable(session, llm)


async def test_duplicate_call_ids_from_the_llm_stay_pairable() -> None:
    async def dup() -> AsyncIterator[Any]:
        yield LLMChunk(
            "",
            (
                ToolCallRequest("same", "echo", '{"text": "a"}'),
                ToolCallRequest("same", "echo", '{"text": "b"}'),
            ),
        )

    llm = FaultyLLM(dup)
    session: AgentSession[Any] = AgentSession(llm=llm)
    await session.start(ToolAgent())
    await session.run(user_input="go")
    assert_consistent(session)


# ----------------------------------------------------------------------------- hypothesis

JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False),
    st.text(max_size=20),
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)
BOOK_ARGS = st.fixed_dictionaries(
    {},
    optional={
        "day": JSON_VALUES,
        "guests": st.one_of(JSON_VALUES, st.integers().map(str), st.just("very")),
        "vip": JSON_VALUES,
        "extra": JSON_VALUES,
    },
)
ARGUMENTS = st.one_of(
    BOOK_ARGS.map(json.dumps),  # valid JSON objects, right or wrong types and names
    st.dictionaries(st.text(max_size=8), JSON_VALUES, max_size=4).map(json.dumps),
    JSON_VALUES.map(json.dumps),  # JSON, but not an object
    st.text(max_size=40),  # mostly not JSON at all
    st.just('{"day": "mon", "guests": 2'),  # truncated
    st.just(""),
)
USER_TEXT = st.one_of(
    st.just(""),
    st.text(max_size=200),  # any unicode: control characters, other scripts, surrogates out
    st.text(alphabet=st.characters(max_codepoint=0x1F), max_size=50),
    st.sampled_from(
        ["Привет", "こんにちは", "مرحبا", "नमस्ते", "👍🏽" * 50, "\x00\x1b[31m\r\n\t", "a" * 200_000]
    ),
)
TOOL_NAMES = st.sampled_from(["book", "echo", "refuse", "crash", "no_such_tool", "junk_mixed"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    steps=st.lists(
        st.tuples(USER_TEXT, st.lists(st.tuples(TOOL_NAMES, ARGUMENTS), max_size=3)),
        min_size=1,
        max_size=5,
    )
)
def test_property_random_arguments_and_user_text(
    steps: list[tuple[str, list[tuple[str, str]]]],
) -> None:
    plan = iter(steps)
    current: dict[str, Any] = {}

    def script(chat_ctx: Any, tools: Any) -> Any:
        last = chat_ctx.items[-1]
        if getattr(last, "type", "") == "function_call_output":
            return reply("handled")
        if getattr(last, "text_content", None) == "are you still there?":
            return reply("yes, still here")
        return current["calls"]

    async def scenario() -> None:
        llm = ScriptedLLM(script)
        session: AgentSession[Any] = AgentSession(llm=llm, max_tool_steps=2)
        await session.start(ToolAgent())
        logging.disable(logging.CRITICAL)
        try:
            for text, calls in plan:
                current["calls"] = [ScriptedCall(name, args) for name, args in calls] or reply("ok")
                before = len(session.history.items)
                result = await session.run(user_input=text)
                # the user's text is stored verbatim, first, before anything else of the turn
                first = session.history.items[before]
                assert first.text_content == text  # type: ignore[union-attr]
                n_calls = sum(e.type == "function_call" for e in result.events)
                n_outs = sum(e.type == "function_call_output" for e in result.events)
                assert n_calls == n_outs == len(calls)
                assert result.events[-1].type == "message"
                assert_consistent(session)
            json.dumps(session.history.to_dict())
            await assert_usable(session, llm)
        finally:
            logging.disable(logging.NOTSET)
            await session.aclose()

    asyncio.run(scenario())


# ----------------------------------------------------------------------------- hangs


class Reentrant(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="calls back into the session")

    @function_tool
    async def nested_run(self, context: RunContext[Any]) -> str:
        """Runs a whole user turn from inside a tool (a misuse)."""
        result = await context.session.run(user_input="inner")
        return f"inner turn had {len(result.events)} events"

    @function_tool
    async def hang(self) -> str:
        """Never returns."""
        await asyncio.Event().wait()
        return "unreachable"


async def test_a_hanging_tool_is_stopped_by_tool_timeout() -> None:
    llm = still_here_script(call("hang"))
    session: AgentSession[Any] = AgentSession(llm=llm, tool_timeout=0.05)
    await session.start(Reentrant())
    result = await asyncio.wait_for(session.run(user_input="go"), 60)  # hang guard only
    out = [e.item for e in result.events if e.type == "function_call_output"]
    assert len(out) == 1 and out[0].is_error and "did not finish" in out[0].output
    assert_consistent(session)
    await assert_usable(session, llm)


async def test_run_from_inside_a_tool_fails_clearly_instead_of_deadlocking() -> None:
    llm = still_here_script(call("nested_run"))
    session: AgentSession[Any] = AgentSession(llm=llm)
    await session.start(Reentrant())
    try:
        result = await asyncio.wait_for(session.run(user_input="go"), 5)  # hang guard only
    except asyncio.TimeoutError:
        for job in list(session._jobs.running):  # unwedge the loop so the test can end
            job.cancel()
        pytest.fail("session.run() awaited inside a tool deadlocks the session")
    out = [e.item for e in result.events if e.type == "function_call_output"]
    assert len(out) == 1
    # either a clear error for the misuse, or a nested turn that really ran
    assert out[0].is_error or out[0].output.startswith("inner turn had")
    assert_consistent(session)
    await assert_usable(session, llm)
