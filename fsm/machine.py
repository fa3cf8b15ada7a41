"""The serial async state machine every session runs on, built on ``transitions``.

States are agent ids; each tool is a trigger with one guarded transition per target it may
lead to, plus an internal "stay" transition.  The transition *structure* of a workflow is
shared by all its sessions (one :class:`MachineDefinition`); each session owns only a tiny
model object holding its current state, so a thousand sessions cost a thousand small objects,
not a thousand machines.

Two departures from stock ``AsyncMachine`` (see research/transitions.md §1.3, §1.8): callbacks
run one after another in the calling task, and no trigger ever cancels another one or
swallows an external cancellation.  Concurrency policy lives in the session, not here.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable
from typing import Any

from transitions.extensions.asyncio import AsyncEventData, AsyncMachine

log = logging.getLogger(__name__)

IDLE = "voxfsm:idle"
STATE_ATTRIBUTE = "voxfsm_state"
"""State of a session machine before its first agent starts."""


class _SerialMachine(AsyncMachine):
    """``AsyncMachine`` without gather-per-callback, implicit cancellation or swallowed cancels."""

    @staticmethod
    async def await_all(callables: list[Callable[[], Any]]) -> list[Any]:
        return [await c() for c in callables]

    async def cancel_running_transitions(self, model: Any, msg: str | None = None) -> None:
        return None

    async def process_context(self, func: Callable[[], Any], model: Any) -> Any:
        return await self._process_async(func, model)

    def _checked_assignment(self, model: Any, name: str, func: Any) -> None:
        # Triggers are fired through ``events[name].trigger(model)``.  Binding a partial per
        # trigger and per state onto every session's model would cost ~3.5 KiB a session and
        # would let a tool named ``trigger`` or ``to_x`` collide with transitions' helpers.
        return None


class _TargetIs:
    """Guard of a transition: passes when the trigger's outcome names this destination."""

    __slots__ = ("dest",)

    def __init__(self, dest: str | None) -> None:
        self.dest = dest

    def __call__(self, event: AsyncEventData) -> bool:
        return bool(event.kwargs.get("target") == self.dest)


class MachineDefinition:
    """States and transitions of one workflow, shared by every session running it."""

    def __init__(self) -> None:
        self.machine = _SerialMachine(
            model=None,
            states=[IDLE],
            initial=IDLE,
            auto_transitions=False,
            send_event=True,
            ignore_invalid_triggers=False,
            # any tool name must be usable as a trigger, including "state"
            model_attribute=STATE_ATTRIBUTE,
        )
        self._edges: set[tuple[str, str, str | None]] = set()

    @property
    def states(self) -> list[str]:
        return [s for s in self.machine.states if s != IDLE]

    def add_state(self, state: str) -> None:
        if state not in self.machine.states:
            self.machine.add_state(state)

    def add_edge(self, trigger: str, source: str, dest: str | None) -> None:
        """Add a guarded transition (``dest=None``: stay in ``source``)."""
        if (trigger, source, dest) in self._edges:
            return
        self.add_state(source)
        if dest is not None:
            self.add_state(dest)
        self.machine.add_transition(trigger, source, dest, conditions=[_TargetIs(dest)])
        self._edges.add((trigger, source, dest))


class _Model:
    """The per-session object ``transitions`` writes the state onto."""

    __slots__ = ("__weakref__", "voxfsm_state")

    voxfsm_state: str


class SessionMachine:
    """One session's view of a shared :class:`MachineDefinition`.

    ``state`` is the active agent's id.  :meth:`fire` is the single commit point of every
    transition: when it returns, the state has changed (or stayed) as the outcome says.
    """

    def __init__(self, definition: MachineDefinition) -> None:
        self.definition = definition
        self._model = _Model()
        definition.machine.add_model(self._model, initial=IDLE)
        # the definition must not keep dead sessions' models alive
        weakref.finalize(self, definition.machine.remove_model, self._model)

    @property
    def state(self) -> str:
        return self._model.voxfsm_state

    @property
    def machine(self) -> AsyncMachine:
        """The underlying ``transitions`` machine (shared by the workflow's sessions)."""
        return self.definition.machine

    async def fire(self, trigger: str, target: str | None) -> None:
        """Take ``trigger`` towards ``target`` (``None`` = stay).

        An edge the workflow did not declare is added on the fly, so the session keeps going;
        whether it was declared is the caller's to judge (a tool knows its own targets).
        """
        defn = self.definition
        defn.add_edge(trigger, self.state, target)  # a no-op for a known edge
        ok = await defn.machine.events[trigger].trigger(self._model, target=target)
        if not ok:  # pragma: no cover - the guard just added always matches
            raise RuntimeError(f"machine refused {trigger!r} from {self.state!r} to {target!r}")

    def set_state(self, state: str) -> None:
        """Jump without callbacks (session start and restore)."""
        self.definition.add_state(state)
        self.definition.machine.set_state(state, model=self._model)
