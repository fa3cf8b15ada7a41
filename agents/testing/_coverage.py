"""Transition coverage: which edges and guard outcomes generated conversations exercised.

An *edge* is ``(agent id, tool name, target id)``, with target ``None`` for a tool that
stays.  The declared edges come from the static graph (every declared handoff, and a stay
edge for each tool that declares no handoff); a tool's *guard outcomes* are what its calls
actually did: ``stay``, ``handoff`` or ``error``.  A :class:`Coverage` is also a trace
source (``__fsm_trace__``), so ``build_graph(coverage)`` draws the workflow with every
transition the runs took highlighted and counted.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

import attrs

from voxfsm.fsm.spec import Step, Trace

Edge = tuple[str, str, "str | None"]
OUTCOMES = ("stay", "handoff", "error")


@attrs.define
class Coverage:
    """Coverage accumulated over any number of conversations (mutable while a run goes on)."""

    entry: object = None
    declared: frozenset[Edge] = frozenset()
    hits: Counter[Edge] = attrs.field(factory=Counter)
    outcomes: dict[tuple[str, str], Counter[str]] = attrs.field(factory=dict)
    steps: list[Step] = attrs.field(factory=list)
    conversations: int = 0
    actions: int = 0
    _targets: dict[str, object] = attrs.field(factory=dict, repr=False)

    # ------------------------------------------------------------------ recording

    def record_call(self, agent: str, tool: str, outcome: str, target: str | None = None) -> None:
        """One tool call of ``agent`` ended in ``outcome`` (``handoff`` needs its target)."""
        if outcome not in OUTCOMES:
            raise ValueError(f"outcome must be one of {OUTCOMES}, got {outcome!r}")
        self.outcomes.setdefault((agent, tool), Counter())[outcome] += 1
        if outcome != "error":
            self.hits[(agent, tool, target if outcome == "handoff" else None)] += 1

    def record_steps(self, steps: Iterable[Step]) -> None:
        """Transitions a session took; targets are kept once per id, so memory stays small."""
        for step in steps:
            target = self._targets.setdefault(step.target_id, step.target)
            self.steps.append(attrs.evolve(step, target=target))

    def merge(self, other: Coverage) -> None:
        self.declared |= other.declared
        self.hits.update(other.hits)
        for key, counts in other.outcomes.items():
            self.outcomes.setdefault(key, Counter()).update(counts)
        self.record_steps(other.steps)
        self.conversations += other.conversations
        self.actions += other.actions

    # ------------------------------------------------------------------ reading

    @property
    def covered(self) -> frozenset[Edge]:
        return frozenset(e for e in self.declared if self.hits[e])

    @property
    def missing(self) -> list[Edge]:
        """Declared edges no conversation took, in a stable order."""
        return sorted(self.declared - self.covered, key=_edge_key)

    @property
    def extra(self) -> list[Edge]:
        """Edges taken that the graph does not declare (undeclared handoffs, or new tools)."""
        return sorted(
            (e for e in self.hits if e[2] is not None and e not in self.declared), key=_edge_key
        )

    @property
    def ratio(self) -> float:
        """Covered / declared edges (1.0 for a workflow with no edges)."""
        return len(self.covered) / len(self.declared) if self.declared else 1.0

    def require(self, ratio: float = 1.0) -> None:
        """Raise ``AssertionError`` listing the untaken edges when coverage is below ``ratio``."""
        if self.ratio + 1e-9 < ratio:
            lines = "\n".join(f"  {format_edge(e)}" for e in self.missing)
            raise AssertionError(
                f"transition coverage {self.ratio:.0%} is below {ratio:.0%}; never taken:\n"
                f"{lines}\nraise max_examples/steps, or add a rule that reaches them"
            )

    def guard_outcomes(self, agent: str, tool: str) -> frozenset[str]:
        return frozenset(k for k, n in self.outcomes.get((agent, tool), Counter()).items() if n)

    def summary(self) -> str:
        lines = [
            f"transition coverage: {len(self.covered)}/{len(self.declared)} declared edges "
            f"({self.ratio:.0%}) over {self.conversations} conversations, {self.actions} steps"
        ]
        for edge in sorted({*self.declared, *self.extra}, key=_edge_key):
            mark = "x" if self.hits[edge] else " "
            note = "" if edge in self.declared else "  (not declared)"
            lines.append(f"  [{mark}] {format_edge(edge)}  ×{self.hits[edge]}{note}")
        for (agent, tool), counts in sorted(self.outcomes.items()):
            seen = ", ".join(f"{k} {counts[k]}" for k in OUTCOMES if counts[k])
            lines.append(f"  guard outcomes of {agent}.{tool}: {seen}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def __fsm_trace__(self) -> Trace:
        """Every transition taken, for ``build_graph(coverage)`` to highlight and count."""
        return Trace(entry=self.entry, current=None, steps=tuple(self.steps))


def format_edge(edge: Edge) -> str:
    """An edge as ``agent --tool--> target`` (``(stays)`` when the tool keeps the agent)."""
    agent, tool, target = edge
    return f"{agent} --{tool}--> {target if target is not None else '(stays)'}"


def _edge_key(edge: Edge) -> tuple[str, str, str]:
    return (edge[0], edge[1], edge[2] or "")
