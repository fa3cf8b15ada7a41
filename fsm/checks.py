"""Static checks over a :class:`~voxfsm.fsm.graph.WorkflowGraph`, returned as plain findings.

Each check is a small pure function ``graph -> findings``; :func:`check_graph` runs them all.
Messages name the agent by id and the tool by name, and say what to change.

A dead end is judged on the workflow's own edges (declared and inferred) only: a swap a run
made from there is no way out the workflow has, so drawing a graph after a run cannot hide
one.  An agent a run reached is not "unreachable" (it was reached; if by an undeclared
handoff, that is its own finding).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import attrs

from .graph import WorkflowGraph


@attrs.frozen
class Finding:
    """One problem in a workflow graph.

    ``level`` is ``"error"`` (the workflow can break at run time) or ``"warning"`` (it works
    but is likely a mistake); ``code`` is a stable kebab-case name to filter on.
    """

    level: str
    code: str
    message: str
    agent: str | None = None
    tool: str | None = None

    def __str__(self) -> str:
        where = ""
        if self.agent is not None:
            where = f"agent {self.agent!r}" + (f", tool {self.tool!r}" if self.tool else "") + ": "
        return f"{self.level}: {where}{self.message} [{self.code}]"


Check = Callable[[WorkflowGraph], Iterator[Finding]]
CHECKS: list[Check] = []


def _check(fn: Check) -> Check:
    CHECKS.append(fn)
    return fn


def reachable(graph: WorkflowGraph, *, observed: bool = True) -> set[str]:
    """States reachable from the entry over every edge (declared, inferred, tasks, and what a
    run did); ``observed=False`` follows only the workflow's own edges."""
    out: dict[str, list[str]] = {}
    for edge in graph.edges if observed else graph.static_edges:
        out.setdefault(edge.source, []).append(edge.target)
    seen = {graph.entry}
    todo = [graph.entry]
    while todo:
        for target in out.get(todo.pop(), ()):
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


@_check
def unreachable_agents(graph: WorkflowGraph) -> Iterator[Finding]:
    seen = reachable(graph)
    for s in graph.states:
        if s.id not in seen:
            yield Finding(
                "warning",
                "unreachable",
                f"no handoff from the entry {graph.entry!r} leads here; declare one "
                f"(handoff={s.cls.__name__} or a `-> {s.cls.__name__}` return annotation)"
                " or remove the agent",
                s.id,
            )


@_check
def dead_ends(graph: WorkflowGraph) -> Iterator[Finding]:
    ways_out = {e.source for e in graph.static_edges} | {b.source for b in graph.unresolved}
    if [s.id for s in graph.states if not s.task] == [graph.entry]:
        return  # a one-agent workflow: the conversation ends where it started
    for s in graph.states:
        if s.terminal or s.task:
            continue  # an end state, or an AgentTask that returns to its caller
        if s.id in ways_out:
            continue
        yield Finding(
            "warning",
            "dead-end",
            "no way out: none of its tools hands off; add a handoff tool, or set "
            f"`terminal = True` on {s.cls.__name__} if the conversation ends there",
            s.id,
        )


@_check
def missing_descriptions(graph: WorkflowGraph) -> Iterator[Finding]:
    for s in graph.states:
        for tool in s.tools:
            if not (tool.description or "").strip():
                yield Finding(
                    "warning",
                    "no-description",
                    "no description, so the LLM sees only "
                    "its name; add a docstring or @function_tool(description=...)",
                    s.id,
                    tool.name,
                )


@_check
def unresolved_targets(graph: WorkflowGraph) -> Iterator[Finding]:
    for b in graph.unresolved:
        yield Finding(
            "error",
            "unresolved-target",
            f"hands off to {b.name!r}, which cannot be resolved "
            f"({b.error}); define that class at module level or pass the class object with "
            "handoff=...",
            b.source,
            b.tool,
        )


@_check
def undeclared_handoffs(graph: WorkflowGraph) -> Iterator[Finding]:
    for e in graph.edges:
        # A swap (tool None) is the program's own decision, never a finding.
        if e.tool is None or e.origin != "observed" or e.kind == "return":
            continue
        target = graph.state(e.target).cls.__name__
        yield Finding(
            "error",
            "undeclared-handoff",
            f"handed off to {e.target!r} at run time "
            f"({e.taken}×) but does not declare it; add handoff={target} to the tool or "
            f"annotate its return type `-> {target}`",
            e.source,
            e.tool,
        )


@_check
def id_conflicts(graph: WorkflowGraph) -> Iterator[Finding]:
    for c in graph.conflicts:
        yield Finding(
            "error",
            "duplicate-id",
            f"{c.kept.__module__}.{c.kept.__qualname__} and {c.other.__module__}."
            f"{c.other.__qualname__} both use the id {c.id!r}, so the graph cannot tell them "
            "apart; give one of them another id (Agent(id=...))",
            c.id,
        )


def check_graph(graph: WorkflowGraph) -> list[Finding]:
    """Every finding of every check, errors first, then in graph order."""
    findings = [f for check in CHECKS for f in check(graph)]
    return sorted(findings, key=lambda f: f.level != "error")
