"""The serial async state machine every session runs on, derived from the workflow graph.

States are agent ids; each tool is a trigger with one guarded transition per target the graph
gives it (declared or inferred), plus an internal "stay" transition; a task call has its return
transition.  The transition *structure* of a workflow is built once from its frozen
:class:`~voxfsm.fsm.graph.WorkflowGraph` and shared by all its sessions (one
:class:`MachineDefinition`, never changed after it is built); each session owns a tiny model
object holding its current state, and joins the machine in O(1).

A session may still do something the graph does not know (a handoff to an undeclared agent, an
``update_agent()`` swap, an agent reached only at run time).  That edge is recorded in the
session's own :attr:`SessionMachine.observed` overlay and the state moves without going through
``transitions``; the shared definition stays as built.

Two departures from stock ``AsyncMachine`` (see research/transitions.md §1.3, §1.8): callbacks
run one after another in the calling task, and no trigger ever cancels another one or
swallows an external cancellation.  Concurrency policy lives in the session, not here.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from transitions.extensions.asyncio import AsyncEventData, AsyncMachine, AsyncTransition

if TYPE_CHECKING:
    from .graph import WorkflowGraph

log = logging.getLogger(__name__)

IDLE = "voxfsm:idle"
"""State of a session machine before its first agent starts."""
STATE_ATTRIBUTE = "voxfsm_state"

SWAP = "voxfsm:update_agent"
"""Trigger of a programmatic swap (``session.update_agent``): never part of the graph."""
TASK = "voxfsm:task"
"""Trigger of an AgentTask started outside any tool (e.g. from ``on_enter``)."""
RETURN = "voxfsm:return"
"""Trigger of an AgentTask giving control back to its caller."""

Transition = tuple[str, str, "str | None"]
"""``(trigger, source, dest)``; ``dest`` None means the trigger stays in ``source``."""


class _SerialMachine(AsyncMachine):
    """``AsyncMachine`` without gather-per-callback, implicit cancellation or swallowed cancels.

    Models are not kept in ``self.models``: ``transitions`` checks membership with a list scan
    (``add_model``) and removes with another (``remove_model``), which made starting N
    sessions O(N²).  A frozen definition never adds states or triggers later, so nothing needs
    to visit every model.
    """

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

    def add_model(self, model: Any, initial: Any = None) -> None:
        for mod in model if isinstance(model, list) else [model]:
            setattr(mod, STATE_ATTRIBUTE, initial if initial is not None else self.initial)

    def remove_model(self, model: Any) -> None:
        return None


class _TargetIs:
    """Guard of a transition: passes when the trigger's outcome names this destination."""

    __slots__ = ("dest",)

    def __init__(self, dest: str | None) -> None:
        self.dest = dest

    def __call__(self, event: AsyncEventData) -> bool:
        return bool(event.kwargs.get("target") == self.dest)


class MachineDefinition:
    """States and transitions of one workflow, shared by every session running it.

    Build it with :meth:`from_graph` (or :meth:`from_transitions`); it does not change after.
    """

    def __init__(self, states: Iterable[str] = (), transitions: Iterable[Transition] = ()) -> None:
        self._edges: frozenset[Transition] = frozenset(transitions)
        names = list(dict.fromkeys([*states, *(s for _, s, _ in self._edges)]))
        names += [d for _, _, d in self._edges if d is not None and d not in names]
        self._states = frozenset(names)
        self.machine = _SerialMachine(
            model=None,
            states=[IDLE, *names],
            initial=IDLE,
            auto_transitions=False,
            send_event=True,
            ignore_invalid_triggers=False,
            # any tool name must be usable as a trigger, including "state"
            model_attribute=STATE_ATTRIBUTE,
        )
        # sorted: the machine's transition order must not depend on set iteration order
        for trigger, source, dest in sorted(self._edges, key=lambda t: (t[0], t[1], t[2] or "")):
            self.machine.add_transition(trigger, source, dest, conditions=[_TargetIs(dest)])
        # each state-changing edge's own ``transitions`` object, looked up once: a commit
        # then finds its transition with one dict lookup instead of building an event
        self._moves: dict[Transition, AsyncTransition] = {}
        for trigger, source, dest in self._edges:
            if dest is not None:
                for trans in self.machine.events[trigger].transitions[source]:
                    if trans.dest == dest:
                        self._moves[(trigger, source, dest)] = trans

    @classmethod
    def from_transitions(
        cls, states: Iterable[str], transitions: Iterable[Transition]
    ) -> MachineDefinition:
        return cls(states, transitions)

    @classmethod
    def from_graph(cls, graph: WorkflowGraph) -> MachineDefinition:
        """The machine of a workflow graph: its states, a stay transition per tool, one
        guarded transition per declared or inferred edge, and a return per task edge.

        Observed edges (a graph drawn from a session) are left out: they belong to the
        session that took them, not to the workflow.
        """
        edges: set[Transition] = set()
        for state in graph.states:
            for tool in state.tools:
                edges.add((tool.name, state.id, None))
        for edge in graph.edges:
            if edge.origin == "observed":
                continue
            if edge.kind == "return":
                edges.add((RETURN, edge.source, edge.target))
            elif edge.tool is not None:
                edges.add((edge.tool, edge.source, edge.target))
        return cls(graph.states.ids, edges)

    @property
    def states(self) -> list[str]:
        return sorted(self._states)

    @property
    def transitions(self) -> frozenset[Transition]:
        return self._edges

    def has_state(self, state: str) -> bool:
        return state in self._states

    def knows(self, trigger: str, source: str, dest: str | None) -> bool:
        """True when the workflow's graph has this transition."""
        return (trigger, source, dest) in self._edges

    def _plain(self, trans: AsyncTransition) -> bool:
        """Whether taking ``trans`` runs nothing but the state change: no callback is hooked
        on the machine, the transition or its two states (the definition adds none; code
        that hooks one onto ``machine`` gets the full trigger path)."""
        m = self.machine
        if (
            m.prepare_event
            or m.before_state_change
            or m.after_state_change
            or m.finalize_event
            or m.on_final
            or trans.prepare
            or trans.before
            or trans.after
            or len(trans.conditions) != 1
        ):
            return False
        src, dst = m.states[trans.source], m.states[str(trans.dest)]
        return not (src.on_exit or dst.on_enter or dst.final)


class _Model:
    """The per-session object ``transitions`` writes the state onto."""

    __slots__ = ("voxfsm_state",)

    voxfsm_state: str


class SessionMachine:
    """One session's view of a shared :class:`MachineDefinition`.

    ``state`` is the active agent's id.  :meth:`fire` is the single commit point of every
    transition: when it returns, the state has changed (or stayed) as the outcome says.
    ``observed`` counts the transitions this session took that the workflow's graph does not
    have (the definition itself never changes).
    """

    __slots__ = ("_model", "_observed", "definition")

    def __init__(self, definition: MachineDefinition) -> None:
        self.definition = definition
        self._model = _Model()
        self._model.voxfsm_state = IDLE  # O(1): no registration with the shared machine
        self._observed: Counter[Transition] | None = None  # most sessions never need one

    @property
    def observed(self) -> Counter[Transition]:
        """Transitions this session took that the workflow's graph does not have, counted."""
        if self._observed is None:
            self._observed = Counter()
        return self._observed

    @property
    def state(self) -> str:
        return self._model.voxfsm_state

    @property
    def machine(self) -> AsyncMachine:
        """The underlying ``transitions`` machine (shared by the workflow's sessions)."""
        return self.definition.machine

    async def fire(self, trigger: str, target: str | None) -> None:
        """Take ``trigger`` towards ``target`` (``None`` = stay).

        A transition the graph has goes through ``transitions``; any other one (undeclared,
        a swap, a state reached only at run time) is counted in :attr:`observed` and the
        state moves directly.  Whether it was declared is the caller's to judge (a tool
        knows its own targets).
        """
        source = self.state
        defn = self.definition
        if not defn.knows(trigger, source, target):
            self.observed[(trigger, source, target)] += 1  # the overlay, never the definition
            if target is not None:
                self._model.voxfsm_state = target
            return
        ok = await defn.machine.events[trigger].trigger(self._model, target=target)
        if not ok:  # pragma: no cover - the guard of a known transition always matches
            raise RuntimeError(f"machine refused {trigger!r} from {source!r} to {target!r}")

    def commit(self, trigger: str, target: str | None) -> None:
        """:meth:`fire`, synchronously and by the cheapest ``transitions`` path.

        A stay (``target`` None) cannot change the state: a known one costs one set lookup and
        nothing runs.  A move the graph has is looked up in the definition's transitions
        table; when nothing is hooked on it, ``transitions`` sets the state directly (what
        its trigger would do after evaluating our guard), otherwise its full trigger runs.
        Anything the graph lacks goes to :attr:`observed`, as in :meth:`fire`.
        """
        model = self._model
        source = model.voxfsm_state
        defn = self.definition
        key = (trigger, source, target)
        if key not in defn._edges:
            self.observed[key] += 1  # the overlay, never the definition
            if target is not None:
                model.voxfsm_state = target
            return
        if target is None:
            return
        trans = defn._moves[key]
        if defn._plain(trans):
            defn.machine.set_state(target, model=model)
            return
        coro = self.fire(trigger, target)
        try:
            coro.send(None)
        except StopIteration:
            return
        coro.close()
        raise RuntimeError("the state machine suspended inside a transition")

    def set_state(self, state: str) -> None:
        """Jump without callbacks (session start and restore)."""
        if self.definition.has_state(state):
            self.definition.machine.set_state(state, model=self._model)
        else:
            self._model.voxfsm_state = state  # a state the graph does not have
