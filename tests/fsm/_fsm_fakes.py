"""Small state sources and a session stand-in implementing the voxfsm.fsm protocols.

They let the graph tests run without the agent layer; tests with real agents live in
``test_fsm_agents.py``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, ClassVar

import attrs

from voxfsm.fsm.spec import StateSpec, Step, Trace, TransitionSpec

Targets = Callable[[], tuple[object, ...]]


@attrs.frozen
class FakeTool:
    name: str
    description: str | None = "does something"
    to: Targets = lambda: ()  # called lazily, like forward references
    kind: str = "handoff"
    inferred: Targets = lambda: ()  # targets a static reading found, none declared


class _Hook:
    """``__fsm_state__`` that works on the class and on instances, like the agent layer's."""

    def __get__(self, obj: object, owner: type) -> Callable[[], StateSpec]:
        return lambda: owner._describe(obj)  # type: ignore[attr-defined]


def snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


class FakeState:
    ID: ClassVar[str | None] = None
    SUMMARY: ClassVar[str] = ""
    terminal: ClassVar[bool] = False
    TOOLS: ClassVar[tuple[FakeTool, ...]] = ()
    __fsm_state__ = _Hook()

    def __init__(self, *tools: FakeTool, id: str | None = None) -> None:
        self.extra = tools
        self.own_id = id

    @classmethod
    def _describe(cls, obj: FakeState | None) -> StateSpec:
        tools = cls.TOOLS + (obj.extra if obj is not None else ())
        sid = (obj.own_id if obj is not None else None) or cls.ID or snake(cls.__name__)
        return StateSpec(
            id=sid,
            cls=cls,
            summary=cls.SUMMARY,
            terminal=cls.terminal,
            transitions=tuple(
                TransitionSpec(t.name, t.description, t.to(), t.kind, t.inferred()) for t in tools
            ),
        )


def state_id(obj: Any) -> str:
    return str(obj.__fsm_state__().id)


class FakeSession:
    """Records steps the way AgentSession's ``__fsm_trace__`` reports them."""

    def __init__(self) -> None:
        self.entry: object | None = None
        self.current: object | None = None
        self.steps: list[Step] = []

    def _go(self, trigger: str | None, target: object, declared: bool, kind: str) -> None:
        source = state_id(self.current) if self.current is not None else None
        self.steps.append(Step(source, trigger, state_id(target), target, declared, kind))
        self.current = target

    def start(self, agent: object) -> FakeSession:
        self.entry = agent
        self._go(None, agent, True, "handoff")
        return self

    def handoff(self, tool: str, target: object, *, declared: bool = True) -> FakeSession:
        self._go(tool, target, declared, "handoff")
        return self

    def swap(self, target: object) -> FakeSession:
        self._go(None, target, False, "handoff")
        return self

    def task(self, tool: str, task: object, caller: object) -> FakeSession:
        self._go(tool, task, True, "task")
        self._caller = caller
        return self

    def complete(self, tool: str = "done") -> FakeSession:
        self._go(tool, self._caller, True, "return")
        return self

    def __fsm_trace__(self) -> Trace:
        current = state_id(self.current) if self.current is not None else None
        return Trace(self.entry, current, tuple(self.steps))
