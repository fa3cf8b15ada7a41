"""A plain-text outline for terminals: one block per agent, every line within the width."""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING

from ._registry import register
from .style import edge_label, legend_entries, short

if TYPE_CHECKING:
    from ..graph import State, WorkflowGraph

_MARKS = {"task": "⇄", "return": "↩"}


def _state_flags(graph: WorkflowGraph, s: State) -> str:
    flags = []
    if s.id == graph.entry:
        flags.append("entry")
    if s.terminal:
        flags.append("terminal")
    if s.task:
        flags.append("task")
    if s.current:
        flags.append("CURRENT")
    elif s.visited:
        flags.append("visited")
    if graph.observed and s.visits:
        flags.append(f"{s.visits} visit" + ("s" if s.visits > 1 else ""))
    return ", ".join(flags)


def _wrap(text: str, width: int, first: str, rest: str) -> list[str]:
    return textwrap.wrap(
        text, width=width, initial_indent=first, subsequent_indent=rest, break_on_hyphens=False
    ) or [first.rstrip()]


def to_text(graph: WorkflowGraph, width: int = 80) -> str:
    """The graph as text; ``width`` (at least 40) bounds every line."""
    width = max(width, 40)
    n_edges = sum(1 for e in graph.edges if e.tool is not None and e.kind != "return")
    out = _wrap(
        f"workflow from {graph.entry}: {len(graph.states)} agents, {n_edges} handoff edges",
        width,
        "",
        "  ",
    )
    for s in graph.states:
        marker = "▶" if s.current else ("●" if s.visited else "○")
        out.append("")
        out += _wrap(
            f"{s.id} ({s.cls.__qualname__})"
            + (f" [{flags}]" if (flags := _state_flags(graph, s)) else ""),
            width,
            f"{marker} ",
            "    ",
        )
        if s.summary:
            out += _wrap(f"“{short(s.summary, 160)}”", width, "    ", "     ")
        lines: list[tuple[str, str | None]] = []
        for e in graph.edges_from(s.id):
            text = f"{edge_label(e)} {_MARKS.get(e.kind, '→')} {e.target}"
            lines.append((text, e.description))
        for b in (b for b in graph.unresolved if b.source == s.id):
            lines.append((f"{b.tool} → ? {b.name} (unresolved: {short(b.error, 80)})", None))
        for tool in s.staying_tools:
            lines.append((f"{tool.name} (stays)", tool.description))
        if not lines:
            out.append("    (no tools)")
        for text, desc in lines:
            out += _wrap(text, width, "  - ", "      ")
            if desc:
                out += _wrap(short(desc, 200), width, "      ", "      ")
    out.append("")
    legend = ", ".join(f"{e.mark} {e.words}" for e in legend_entries(graph))
    out += _wrap(f"legend: {legend}", width, "", "  ")
    return "\n".join(out) + "\n"


register("text", ".txt")(to_text)
