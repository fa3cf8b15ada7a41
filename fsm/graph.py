"""The workflow graph: plain frozen data built from state sources or from a running session.

:func:`build_graph` walks declared transitions from an entry (an agent class or instance) and,
when given a session, overlays what the session actually did: observed edges with counts, the
visited states and the current one.  Renderers (:mod:`voxfsm.fsm.render`) and checks
(:mod:`voxfsm.fsm.checks`) only read this model, so the notebook view, ``voxfsm graph`` and
``render()`` all draw the same thing.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import attrs

from . import render as _render
from .spec import StateSpec, Step, Trace, TransitionSpec, Unresolved, state_spec

log = logging.getLogger(__name__)


@attrs.frozen
class Tool:
    """A trigger of a state.  ``hands_off`` is False for tools that always stay in the state."""

    name: str
    description: str | None = None
    hands_off: bool = False
    kind: str = "handoff"


@attrs.frozen
class State:
    """One agent in the graph.

    ``task`` marks a call-and-return state (an AgentTask): it is entered by a ``task`` edge and
    gives control back to its caller, so it needs no outgoing edge.  ``visits`` counts
    activations seen in a session (the start included).
    """

    id: str
    cls: type
    summary: str = ""
    terminal: bool = False
    tools: tuple[Tool, ...] = ()
    task: bool = False
    visited: bool = False
    current: bool = False
    visits: int = 0

    @property
    def staying_tools(self) -> tuple[Tool, ...]:
        """Tools drawn inside the node: they never leave the state."""
        return tuple(t for t in self.tools if not t.hands_off)


ORIGINS = ("declared", "inferred", "observed")
"""Where an edge comes from: the code declares it (``handoff=`` or a return annotation), a
static reading of the tool infers it, or a running session took it without either."""

KINDS = ("handoff", "task", "return")


@attrs.frozen
class Edge:
    """A transition between two states.

    ``tool`` is None for a programmatic swap (``update_agent``).  ``origin`` is ``"declared"``,
    ``"inferred"`` or ``"observed"`` (only a session produces observed edges: undeclared
    handoffs, swaps).  ``kind`` is ``"handoff"``, ``"task"`` (call into an AgentTask) or
    ``"return"`` (the task giving control back; every task edge has one).  ``taken`` counts
    traversals in a session, ``returned`` how many task calls came back.
    """

    source: str
    target: str
    tool: str | None
    description: str | None = None
    origin: str = attrs.field(default="declared", validator=attrs.validators.in_(ORIGINS))
    kind: str = attrs.field(default="handoff", validator=attrs.validators.in_(KINDS))
    taken: int = 0
    returned: int = 0

    @property
    def declared(self) -> bool:
        """True for edges the workflow itself has (declared or inferred), before any run."""
        return self.origin != "observed"

    @property
    def observed(self) -> bool:
        """True when a session took this edge."""
        return self.taken > 0


class StateTable(tuple[State, ...]):
    """The graph's states in discovery order; also indexable and searchable by agent id."""

    __slots__ = ()

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            for s in self:
                if s.id == key:
                    return s
            known = ", ".join(s.id for s in self)
            raise KeyError(f"no state {key!r} in this graph (known: {known})")
        return super().__getitem__(key)

    def __contains__(self, item: object) -> bool:
        if isinstance(item, str):
            return any(s.id == item for s in self)
        return super().__contains__(item)

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(s.id for s in self)


@attrs.frozen
class UnresolvedTarget:
    """A declared handoff target that could not be turned into a state."""

    source: str
    tool: str
    name: str
    error: str


@attrs.frozen
class IdConflict:
    """Two different classes claim the same state id; the graph kept the first one."""

    id: str
    kept: type
    other: type


@attrs.frozen
class WorkflowGraph:
    """One workflow, frozen: its states, edges and (when built from a run) what happened.

    ``states`` are in discovery order, entry first, and can be looked up by id
    (``graph.states["billing"]``, ``"billing" in graph.states``).  Every edge says where it
    comes from (``origin``: declared, inferred or observed) and what it is (``kind``:
    handoff, task or return).  ``observed`` is True when the graph carries a run's overlay
    (counts, visited and current states), which turns highlighting on in the renderers.
    ``context_types`` are the userdata types the workflow's tools expect
    (``RunContext[T]``); a snapshot restore accepts only those.

    The session's machine is derived from this graph
    (:meth:`voxfsm.fsm.machine.MachineDefinition.from_graph`).
    """

    entry: str
    states: StateTable = attrs.field(converter=StateTable)
    edges: tuple[Edge, ...]
    unresolved: tuple[UnresolvedTarget, ...] = ()
    conflicts: tuple[IdConflict, ...] = ()
    current: str | None = None
    observed: bool = False
    context_types: tuple[type, ...] = ()

    def state(self, state_id: str) -> State:
        """The state with this id (``graph.states[state_id]`` does the same)."""
        state: State = self.states[state_id]
        return state

    def edges_from(self, state_id: str) -> tuple[Edge, ...]:
        return tuple(e for e in self.edges if e.source == state_id)

    def edges_to(self, state_id: str) -> tuple[Edge, ...]:
        return tuple(e for e in self.edges if e.target == state_id)

    @property
    def static_edges(self) -> tuple[Edge, ...]:
        """The workflow's own edges (declared and inferred), whatever a run did."""
        return tuple(e for e in self.edges if e.origin != "observed")

    @property
    def visited(self) -> tuple[str, ...]:
        return tuple(s.id for s in self.states if s.visited)

    @property
    def taken(self) -> tuple[Edge, ...]:
        return tuple(e for e in self.edges if e.taken)

    # Rendering goes through one registry (voxfsm.fsm.render) whatever the entry point.
    def to_dot(self) -> str:
        return _render.to_dot(self)

    def to_mermaid(self) -> str:
        return _render.to_mermaid(self)

    def to_text(self, width: int = 80) -> str:
        return _render.to_text(self, width=width)

    def render(self, path: str | Path, format: str | None = None) -> Path:
        """Write the graph to ``path``; the format comes from the suffix unless given."""
        return _render.render(self, path, format=format)

    def __str__(self) -> str:
        return self.to_text()

    def _repr_svg_(self) -> str | None:
        return _render.svg_or_none(self)

    def _repr_mimebundle_(
        self, include: Any = None, exclude: Any = None, **kwargs: Any
    ) -> dict[str, str]:
        return _render.mimebundle(self)


def build_graph(
    source: object,
    *,
    include: Iterable[object] = (),
    shared: Iterable[TransitionSpec] = (),
) -> WorkflowGraph:
    """Build the workflow graph of ``source``.

    ``source`` is an agent class or instance (anything with ``__fsm_state__``): its declared
    and inferred transitions are followed transitively.  Or it is a running session
    (``__fsm_trace__``): the graph from the session's entry plus the run's overlay (observed
    edges, the current state, visited states and taken edges with counts).  ``include`` adds
    more state sources (e.g. every agent class of a module) so checks can spot unreachable
    ones.  ``shared`` are triggers every state has (a session's own tools).
    """
    builder = _Builder(tuple(shared))
    trace: Trace | None = None
    if not isinstance(source, type) and hasattr(source, "__fsm_trace__"):
        trace = source.__fsm_trace__()
        if not isinstance(trace, Trace):
            raise TypeError(
                f"{source!r}.__fsm_trace__() returned {type(trace).__name__}, not Trace"
            )
        entry_obj = trace.entry
        if entry_obj is None and trace.steps:
            entry_obj = trace.steps[0].target
        if entry_obj is None:
            raise ValueError(
                f"{source!r} has no entry state yet; start the session before drawing it, "
                "or pass the entry agent to build_graph()"
            )
    else:
        entry_obj = source
    entry = builder.add_entry(entry_obj)
    for extra in include:
        builder.add(extra, strict=True)
    if trace is not None:
        builder.apply_trace(trace.steps, swaps=True)
    return builder.freeze(entry, trace.current if trace is not None else None, trace is not None)


def overlay(
    graph: WorkflowGraph,
    steps: Iterable[Step],
    *,
    current: str | None = None,
    swaps: bool = True,
) -> WorkflowGraph:
    """``graph`` with what a run did drawn over it: a new frozen graph, ``graph`` unchanged.

    ``steps`` are the transitions taken (a session's or a property run's trace).  States they
    reach that ``graph`` lacks are added with their own declared handoffs.  ``swaps=False``
    leaves programmatic ``update_agent()`` swaps out, e.g. the ones a property tester made
    up itself, which are no part of the workflow.
    """
    builder = _Builder.from_graph(graph)
    builder.apply_trace(tuple(steps), swaps=swaps)
    return builder.freeze(graph.entry, current, True)


def merge_graphs(first: WorkflowGraph, *others: WorkflowGraph) -> WorkflowGraph:
    """One graph out of several of the same workflow, e.g. one per checked conversation.

    States and edges are united (the first graph's version of each wins), visits, taken and
    returned counts are summed.  ``current`` is kept only when every graph agrees on it.
    """
    graphs = (first, *others)
    states: dict[str, State] = {}
    edges: dict[tuple[str, str, str | None, str], Edge] = {}
    for g in graphs:
        for st in g.states:
            old = states.get(st.id)
            states[st.id] = st if old is None else _add_state(old, st)
        for e in g.edges:
            key = (e.source, e.target, e.tool, e.kind)
            prev = edges.get(key)
            edges[key] = e if prev is None else _add_edge(prev, e)
    currents = {g.current for g in graphs}
    current = currents.pop() if len(currents) == 1 else None
    return WorkflowGraph(
        entry=first.entry,
        states=tuple(attrs.evolve(st, current=st.id == current) for st in states.values()),
        edges=tuple(edges.values()),
        unresolved=tuple(dict.fromkeys(u for g in graphs for u in g.unresolved)),
        conflicts=tuple(dict.fromkeys(c for g in graphs for c in g.conflicts)),
        current=current,
        observed=any(g.observed for g in graphs),
        context_types=tuple(dict.fromkeys(t for g in graphs for t in g.context_types)),
    )


def _add_state(old: State, new: State) -> State:
    tools = old.tools + tuple(t for t in new.tools if t not in old.tools)
    return attrs.evolve(
        old,
        tools=tools,
        task=old.task or new.task,
        visited=old.visited or new.visited,
        visits=old.visits + new.visits,
    )


def _add_edge(old: Edge, new: Edge) -> Edge:
    # an edge the workflow has wins over the same edge merely observed in another run
    origin = old.origin if old.origin != "observed" else new.origin
    return attrs.evolve(
        old, origin=origin, taken=old.taken + new.taken, returned=old.returned + new.returned
    )


def _target_name(obj: object) -> str:
    name = getattr(obj, "__qualname__", None) or getattr(type(obj), "__qualname__", None)
    return str(name or repr(obj))


@attrs.define
class _StateDraft:
    spec: StateSpec
    tools: dict[str, Tool]
    from_instance: bool
    task: bool = False
    visits: int = 0


@attrs.define
class _EdgeDraft:
    edge: Edge
    taken: int = 0
    returned: int = 0


EdgeKey = tuple[str, str, "str | None", str]


class _Builder:
    """Mutable while walking; :meth:`freeze` turns it into a :class:`WorkflowGraph`."""

    def __init__(self, shared: tuple[TransitionSpec, ...] = ()) -> None:
        self.shared = shared
        self.states: dict[str, _StateDraft] = {}
        self.edges: dict[EdgeKey, _EdgeDraft] = {}
        self.unresolved: list[UnresolvedTarget] = []
        self.conflicts: list[IdConflict] = []
        self.context_types: dict[type, None] = {}
        self.started = False  # a run's start step was seen
        self.queue: deque[tuple[StateSpec, tuple[TransitionSpec, ...]]] = deque()

    @classmethod
    def from_graph(cls, graph: WorkflowGraph) -> _Builder:
        """A builder holding a frozen graph's workflow (its own run counts are kept too)."""
        b = cls()
        for st in graph.states:
            spec = StateSpec(st.id, st.cls, st.summary, st.terminal)
            tools = {t.name: t for t in st.tools}
            b.states[st.id] = _StateDraft(spec, tools, False, st.task, st.visits)
        for e in graph.edges:
            b.edges[(e.source, e.target, e.tool, e.kind)] = _EdgeDraft(
                attrs.evolve(e, taken=0, returned=0), e.taken, e.returned
            )
        b.unresolved = list(graph.unresolved)
        b.conflicts = list(graph.conflicts)
        b.context_types = dict.fromkeys(graph.context_types)
        return b

    def add_entry(self, obj: object) -> str:
        spec = state_spec(obj)  # the entry's errors propagate: there is nothing to draw
        self._admit(spec, obj)
        self._drain()
        return spec.id

    def add(self, obj: object, *, strict: bool = False) -> str | None:
        """Add a state source and everything it declares; returns its id (None if broken)."""
        try:
            spec = state_spec(obj)
        except Exception as exc:
            if strict:
                raise
            log.debug("cannot describe %r: %s", obj, exc)
            return None
        self._admit(spec, obj)
        self._drain()
        return spec.id

    def _admit(self, spec: StateSpec, obj: object) -> None:
        instance = not isinstance(obj, type)
        self.context_types.update(dict.fromkeys(spec.context_types))
        draft = self.states.get(spec.id)
        if draft is None:
            self.states[spec.id] = _StateDraft(spec, {}, instance)
            self.queue.append((spec, spec.transitions + self.shared))
            return
        if draft.spec.cls is not spec.cls:
            conflict = IdConflict(spec.id, draft.spec.cls, spec.cls)
            if conflict not in self.conflicts:
                self.conflicts.append(conflict)
            return
        if instance and not draft.from_instance:
            # A running instance may have more tools than its class shows.
            draft.spec, draft.from_instance = spec, True
        # Same class seen again (e.g. an instance after its class): per-instance tools are new.
        extra = tuple(t for t in spec.transitions if t.name not in draft.tools)
        if extra:
            self.queue.append((spec, extra))

    def _drain(self) -> None:
        while self.queue:
            spec, transitions = self.queue.popleft()
            draft = self.states[spec.id]
            for tr in transitions:
                if tr.name in draft.tools and tr.kind == "handoff":
                    continue  # a class tool shadows a shared one of the same name
                hands_off = self._expand(spec.id, tr)
                old = draft.tools.get(tr.name)
                draft.tools[tr.name] = Tool(
                    tr.name,
                    tr.description,
                    hands_off or (old is not None and old.hands_off),
                    tr.kind if old is None or tr.kind == "task" else old.kind,
                )

    def _expand(self, source: str, tr: TransitionSpec) -> bool:
        declared = tuple(tr.targets)
        inferred = tuple(t for t in tr.inferred if t not in declared)
        for origin, targets in (("declared", declared), ("inferred", inferred)):
            for target in targets:
                self._edge_to(source, tr, target, origin)
        return bool(declared or inferred)

    def _edge_to(self, source: str, tr: TransitionSpec, target: object, origin: str) -> None:
        if isinstance(target, Unresolved):
            self.unresolved.append(UnresolvedTarget(source, tr.name, target.name, target.error))
            return
        try:
            spec = state_spec(target)
        except Exception as exc:
            self.unresolved.append(
                UnresolvedTarget(source, tr.name, _target_name(target), str(exc))
            )
            return
        self._admit(spec, target)
        key = (source, spec.id, tr.name, tr.kind)
        if key not in self.edges:
            self.edges[key] = _EdgeDraft(
                Edge(source, spec.id, tr.name, tr.description, origin, tr.kind)
            )
        if tr.kind == "task":
            self.states[spec.id].task = True
            back = (spec.id, source, tr.name, "return")
            if back not in self.edges:
                self.edges[back] = _EdgeDraft(
                    Edge(spec.id, source, tr.name, None, origin, "return")
                )

    def apply_trace(self, steps: tuple[Step, ...], *, swaps: bool) -> None:
        task_calls: list[EdgeKey] = []
        for step in steps:
            if not swaps and step.trigger is None and step.kind == "handoff":
                continue
            if step.target is not None:
                # Reached only at run time: expand its own declared handoffs first.  A known
                # class seen again may bring per-instance tools.
                self.add(step.target)
            target = self.states.get(step.target_id)
            if target is None:
                log.warning("session step to %r has no describable target", step.target_id)
                continue
            if step.kind == "return":
                # A resume after an AgentTask is not an activation: no visit counted.
                if step.source is not None:
                    self._count_return(step.source, step.target_id, task_calls)
                continue
            target.visits += 1
            if step.source is None:
                self.started = True
                continue  # the session's start: no edge
            key = (step.source, step.target_id, step.trigger, step.kind)
            draft = self.edges.get(key)
            if draft is None and step.kind == "task":
                # A tool declaring agents and tasks together is declared as a plain handoff.
                draft = self.edges.pop((step.source, step.target_id, step.trigger, "handoff"), None)
                if draft is not None:
                    draft.edge = attrs.evolve(draft.edge, kind="task")
                    self.edges[key] = draft
                    back = (step.target_id, step.source, step.trigger, "return")
                    self.edges.setdefault(
                        back, _EdgeDraft(Edge(*back[:3], None, draft.edge.origin, "return"))
                    )
            if draft is None:
                origin = "declared" if step.declared and step.trigger is not None else "observed"
                draft = self.edges[key] = _EdgeDraft(
                    Edge(step.source, step.target_id, step.trigger, None, origin, step.kind)
                )
                self._note_description(draft, step.source, step.trigger)
            draft.taken += 1
            if step.kind == "task":
                target.task = True
                task_calls.append(key)

    def _note_description(self, draft: _EdgeDraft, source: str, tool: str | None) -> None:
        state = self.states.get(source)
        known = state.tools.get(tool) if state is not None and tool is not None else None
        if known is not None:
            draft.edge = attrs.evolve(draft.edge, description=known.description)

    def _count_return(self, task: str, caller: str, task_calls: list[EdgeKey]) -> None:
        # The most recent open call from caller into this task is the one returning.
        for i in range(len(task_calls) - 1, -1, -1):
            key = task_calls[i]
            if key[0] == caller and key[1] == task:
                self.edges[key].returned += 1
                del task_calls[i]
                back = (task, caller, key[2], "return")
                draft = self.edges.setdefault(
                    back, _EdgeDraft(Edge(*back[:3], None, self.edges[key].edge.origin, "return"))
                )
                draft.taken += 1
                return
        key = (task, caller, None, "return")
        draft = self.edges.setdefault(
            key, _EdgeDraft(Edge(task, caller, None, None, "observed", "return"))
        )
        draft.taken += 1

    def freeze(self, entry: str, current: str | None, observed: bool) -> WorkflowGraph:
        if observed and not self.started:
            self.states[entry].visits += 1  # a run without a start step still began here
            self.started = True
        states = tuple(
            State(
                id=sid,
                cls=d.spec.cls,
                summary=d.spec.summary,
                terminal=d.spec.terminal,
                tools=tuple(d.tools.values()),
                task=d.task,
                visited=d.visits > 0 or sid == current,
                current=sid == current,
                visits=d.visits,
            )
            for sid, d in self.states.items()
        )
        edges = tuple(
            attrs.evolve(d.edge, taken=d.taken, returned=d.returned) for d in self.edges.values()
        )
        return WorkflowGraph(
            entry=entry,
            states=states,
            edges=edges,
            unresolved=tuple(dict.fromkeys(self.unresolved)),
            conflicts=tuple(self.conflicts),
            current=current,
            observed=observed,
            context_types=tuple(self.context_types),
        )
