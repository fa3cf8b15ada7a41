"""``RunResult``: the events one turn produced, and LiveKit-style assertions over them."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Generator
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar, Union, overload

import attrs

from voxfsm.agents.chat import AgentHandoff, ChatMessage, FunctionCall, FunctionCallOutput

if TYPE_CHECKING:
    from voxfsm.agents.agent import Agent

T = TypeVar("T")
EventType = Literal["message", "function_call", "function_call_output", "agent_handoff"]


@attrs.frozen
class ChatMessageEvent:
    """A message in a :class:`RunResult` (see ``result.expect``)."""

    item: ChatMessage
    type: Literal["message"] = "message"


@attrs.frozen
class FunctionCallEvent:
    """A tool call in a :class:`RunResult`."""

    item: FunctionCall
    type: Literal["function_call"] = "function_call"


@attrs.frozen
class FunctionCallOutputEvent:
    """A tool's result in a :class:`RunResult`."""

    item: FunctionCallOutput
    type: Literal["function_call_output"] = "function_call_output"


@attrs.frozen
class AgentHandoffEvent:
    """A handoff in a :class:`RunResult`, with the agent instances on both sides."""

    item: AgentHandoff
    old_agent: Agent | None
    new_agent: Agent
    type: Literal["agent_handoff"] = "agent_handoff"


RunEvent = Union[ChatMessageEvent, FunctionCallEvent, FunctionCallOutputEvent, AgentHandoffEvent]


class UnexpectedModelBehavior(RuntimeError):
    """The run did not produce what ``run(output_type=...)`` asked for."""


class RunResult(Generic[T]):
    """Events of one ``run()`` (or of ``start(capture_run=True)``), in creation order.

    Await it to wait for the turn, any handoff and the new agent's ``on_enter``; an LLM
    failure during the turn is raised there.
    """

    def __init__(self) -> None:
        self.events: list[RunEvent] = []
        self.final_output: T | None = None
        """What a task the session runs directly (``session.start(SomeTask())``) completed
        with during this run, if one did."""
        self.output_type: type | None = None
        """``run(output_type=...)``: the run fails unless ``final_output`` is of this type."""
        self._done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._expect: RunAssert | None = None
        # one future per pending await, resolved directly by _finish: an awaiter that is
        # cancelled cancels only its own (what asyncio.shield gave, one loop pass sooner)
        self._waiters: list[asyncio.Future[None]] | None = None

    def __repr__(self) -> str:
        return f"<RunResult {len(self.events)} events{' done' if self.done() else ''}>"

    def done(self) -> bool:
        return self._done.done()

    @property
    def expect(self) -> RunAssert:
        if self._expect is None:
            self._expect = RunAssert(self.events)
        return self._expect

    def __await__(self) -> Generator[Any, None, RunResult[T]]:
        done = self._done
        if not done.done():
            waiter = done.get_loop().create_future()
            if self._waiters is None:
                self._waiters = []
            self._waiters.append(waiter)
            yield from waiter.__await__()
        done.result()  # raises the run's error
        return self

    def _add(self, event: RunEvent) -> None:
        self.events.append(event)

    def _finish(self, exc: BaseException | None = None) -> None:
        if self._done.done():
            return
        wanted = self.output_type
        if exc is None and wanted is not None and not isinstance(self.final_output, wanted):
            exc = UnexpectedModelBehavior(
                f"expected the run to end with a {wanted.__name__} (output_type), got "
                f"{type(self.final_output).__name__}: no task completed with one in this turn"
            )
        if exc is None:
            self._done.set_result(None)
        else:
            self._done.set_exception(exc)
            self._done.exception()  # the caller may never await; don't log "never retrieved"
        waiters, self._waiters = self._waiters, None
        for waiter in waiters or ():
            if not waiter.done():
                waiter.set_result(None)


# --------------------------------------------------------------------------- assertions


def _describe(event: RunEvent) -> str:
    item = event.item
    if isinstance(item, ChatMessage):
        text = item.text_content
        return f"message {item.role}: {text[:70]!r}" + (
            " (interrupted)" if item.interrupted else ""
        )
    if isinstance(item, FunctionCall):
        return f"function_call {item.name}({item.arguments})"
    if isinstance(item, FunctionCallOutput):
        flag = " error" if item.is_error else ""
        return f"function_call_output{flag} {item.name}: {item.output[:70]!r}"
    return f"agent_handoff {item.old_agent_id} -> {item.new_agent_id}"


def _window(events: list[RunEvent], marker: int | None) -> str:
    if not events:
        return "  (no events)"
    lines = []
    for n, ev in enumerate(events):
        prefix = ">>>" if n == marker else "   "
        lines.append(f"{prefix} [{n}] {_describe(ev)}")
    return "\n".join(lines)


def _fail(message: str, events: list[RunEvent], marker: int | None) -> AssertionError:
    return AssertionError(f"{message}\nevents:\n{_window(events, marker)}")


def _subset(expected: Any, actual: Any) -> bool:
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(
            k in actual and _subset(v, actual[k]) for k, v in expected.items()
        )
    return bool(expected == actual)


class EventAssert:
    """An assertion about one event; narrow it with ``is_*``."""

    def __init__(self, events: list[RunEvent], index: int) -> None:
        self._events = events
        self._index = index

    def event(self) -> RunEvent:
        return self._events[self._index]

    def _check(self, ok: bool, what: str) -> None:
        if not ok:
            raise _fail(f"expected {what} at event {self._index}", self._events, self._index)

    def is_message(self, *, role: str | None = None) -> ChatMessageAssert:
        ev = self.event()
        self._check(
            isinstance(ev, ChatMessageEvent) and (role is None or ev.item.role == role),
            f"a message{f' with role {role!r}' if role else ''}",
        )
        return ChatMessageAssert(self._events, self._index)

    def is_function_call(
        self, *, name: str | None = None, arguments: dict[str, Any] | None = None
    ) -> EventAssert:
        ev = self.event()
        ok = isinstance(ev, FunctionCallEvent) and (name is None or ev.item.name == name)
        if ok and arguments is not None:
            try:
                ok = _subset(arguments, json.loads(ev.item.arguments or "{}"))
            except json.JSONDecodeError:
                ok = False
        self._check(
            ok,
            f"a function call{f' to {name!r}' if name else ''}"
            f"{f' with arguments {arguments}' if arguments is not None else ''}",
        )
        return self

    def is_function_call_output(
        self, *, output: str | None = None, is_error: bool | None = None
    ) -> EventAssert:
        ev = self.event()
        ok = isinstance(ev, FunctionCallOutputEvent) and (
            output is None or ev.item.output == output
        )
        ok = ok and (is_error is None or ev.item.is_error == is_error)
        self._check(
            ok,
            f"a function call output{f' {output!r}' if output is not None else ''}"
            f"{f' with is_error={is_error}' if is_error is not None else ''}",
        )
        return self

    def is_agent_handoff(self, *, new_agent_type: type | None = None) -> EventAssert:
        ev = self.event()
        ok = isinstance(ev, AgentHandoffEvent) and (
            new_agent_type is None or isinstance(ev.new_agent, new_agent_type)
        )
        self._check(
            ok, "an agent handoff" + (f" to {new_agent_type.__name__}" if new_agent_type else "")
        )
        return self


class ChatMessageAssert(EventAssert):
    async def judge(self, llm: Any, *, intent: str) -> ChatMessageAssert:
        """Ask ``llm`` whether the message fulfils ``intent``; fails with its reason if not."""
        from voxfsm.agents.evals import judge_message

        item = self.event().item
        assert isinstance(item, ChatMessage)
        ok, reason = await judge_message(llm, item.text_content, intent=intent)
        if not ok:
            raise _fail(f"Judgement failed: {reason}", self._events, self._index)
        return self


_MATCHERS = {
    "message": "is_message",
    "function_call": "is_function_call",
    "function_call_output": "is_function_call_output",
    "agent_handoff": "is_agent_handoff",
}
_EVENT_CLASSES: dict[str, type] = {
    "message": ChatMessageEvent,
    "function_call": FunctionCallEvent,
    "function_call_output": FunctionCallOutputEvent,
    "agent_handoff": AgentHandoffEvent,
}


class RunAssert:
    """A cursor over a run's events."""

    def __init__(self, events: list[RunEvent]) -> None:
        self._events = events
        self._cursor = 0

    @overload
    def __getitem__(self, index: int) -> EventAssert: ...
    @overload
    def __getitem__(self, index: slice) -> RunAssert: ...
    def __getitem__(self, index: int | slice) -> EventAssert | RunAssert:
        """``expect[2]`` is one event; ``expect[1:3]`` the events in that range, to search
        with ``contains_...``."""
        if isinstance(index, slice):
            return RunAssert(self._events[index])
        if not -len(self._events) <= index < len(self._events):
            raise _fail(f"no event at index {index}", self._events, None)
        return EventAssert(self._events, index % len(self._events))

    def next_event(self, type: EventType | None = None) -> EventAssert:
        while True:
            if self._cursor >= len(self._events):
                want = f" of type {type!r}" if type else ""
                raise _fail(
                    f"expected another event{want}, but there are no more", self._events, None
                )
            n = self._cursor
            self._cursor += 1
            if type is None or self._events[n].type == type:
                return (
                    ChatMessageAssert(self._events, n)
                    if self._events[n].type == "message"
                    else EventAssert(self._events, n)
                )

    def skip_next(self, count: int = 1) -> RunAssert:
        for _ in range(count):
            self.next_event()
        return self

    def skip_next_event_if(self, *, type: EventType, **matchers: Any) -> EventAssert | None:
        if self._cursor >= len(self._events):
            return None
        candidate = EventAssert(self._events, self._cursor)
        try:
            getattr(candidate, _MATCHERS[type])(**matchers)
        except AssertionError:
            return None
        self._cursor += 1
        return candidate

    def no_more_events(self) -> None:
        if self._cursor < len(self._events):
            raise _fail("expected no more events", self._events, self._cursor)

    def _contains(self, type_: str, what: str, **matchers: Any) -> EventAssert:
        for n, ev in enumerate(self._events):
            if ev.type != type_:
                continue
            candidate = ChatMessageAssert(self._events, n)
            try:
                getattr(candidate, _MATCHERS[type_])(**matchers)
            except AssertionError:
                continue
            return candidate
        raise _fail(f"expected the run to contain {what}", self._events, None)

    def contains_message(self, *, role: str | None = None) -> ChatMessageAssert:
        return self._contains("message", "a message", role=role)  # type: ignore[return-value]

    def contains_function_call(
        self, *, name: str | None = None, arguments: dict[str, Any] | None = None
    ) -> EventAssert:
        return self._contains(
            "function_call", f"a function call {name or ''}", name=name, arguments=arguments
        )

    def contains_function_call_output(
        self, *, output: str | None = None, is_error: bool | None = None
    ) -> EventAssert:
        return self._contains(
            "function_call_output", "a function call output", output=output, is_error=is_error
        )

    def contains_agent_handoff(self, *, new_agent_type: type | None = None) -> EventAssert:
        return self._contains("agent_handoff", "an agent handoff", new_agent_type=new_agent_type)
