"""Mermaid ``stateDiagram-v2`` text; needs no program to write, renders in Markdown viewers."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ._registry import register
from .style import COLORS, edge_label, legend_entries, short

if TYPE_CHECKING:
    from ..graph import WorkflowGraph

_MERMAID_ID = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")
_MERMAID_RESERVED = {"end", "state", "class", "classDef", "direction", "note", "style"}


def _mm_text(text: str) -> str:
    # Mermaid reads these characters as syntax; its entity codes print them instead.
    for ch, code in (("#", "#35;"), (";", "#59;"), ('"', "#quot;"), ("<", "#lt;"), (">", "#gt;")):
        text = text.replace(ch, code)
    return " ".join(text.replace(":", "#58;").split())


def _mermaid_ids(graph: WorkflowGraph) -> dict[str, str]:
    ids: dict[str, str] = {}
    for i, s in enumerate(graph.states):
        ok = _MERMAID_ID.match(s.id) and s.id not in _MERMAID_RESERVED
        ids[s.id] = s.id if ok else f"s{i}_"
    return ids


@register("mermaid", ".mmd", ".mermaid")
def to_mermaid(graph: WorkflowGraph) -> str:
    """Mermaid text; nodes carry their staying tools as descriptions.

    Mermaid cannot style edges in state diagrams, so an edge's origin (inferred, undeclared)
    and its count are words in its label; a note beside the entry is the legend.
    """
    ids = _mermaid_ids(graph)
    lines = [
        "stateDiagram-v2",
        "    direction LR",
        f"    classDef current fill:{COLORS['current_fill']},stroke:{COLORS['current_line']},"
        "stroke-width:3px",
        f"    classDef visited fill:{COLORS['visited_fill']},stroke:{COLORS['visited_line']}",
        "    classDef task stroke-dasharray:5 5",
        f"    classDef unresolved stroke:{COLORS['undeclared']},color:{COLORS['undeclared']}",
    ]
    for s in graph.states:
        mid = ids[s.id]
        if mid != s.id:
            lines.append(f'    state "{_mm_text(s.id)}" as {mid}')
        if s.summary:
            lines.append(f"    {mid} : {_mm_text(short(s.summary, 40))}")
        for tool in s.staying_tools:
            lines.append(f"    {mid} : · {_mm_text(tool.name)}")
        if not s.summary and not s.staying_tools and mid == s.id:
            lines.append(f"    state {mid}")
    for i, broken in enumerate(graph.unresolved):
        lines.append(f'    state "? {_mm_text(broken.name)}" as unresolved_{i}_')
    lines.append(f"    [*] --> {ids[graph.entry]}")
    for e in graph.edges:
        lines.append(f"    {ids[e.source]} --> {ids[e.target]} : {_mm_text(edge_label(e))}")
    for i, broken in enumerate(graph.unresolved):
        lines.append(f"    {ids[broken.source]} --> unresolved_{i}_ : {_mm_text(broken.tool)}")
    for s in graph.states:
        if s.terminal:
            lines.append(f"    {ids[s.id]} --> [*]")
    for cls, members in (
        ("current", [s for s in graph.states if s.current]),
        ("visited", [s for s in graph.states if s.visited and not s.current]),
        ("task", [s for s in graph.states if s.task]),
    ):
        if members:
            lines.append(f"    class {','.join(ids[s.id] for s in members)} {cls}")
    if graph.unresolved:
        names = ",".join(f"unresolved_{i}_" for i in range(len(graph.unresolved)))
        lines.append(f"    class {names} unresolved")
    lines.append(f"    note left of {ids[graph.entry]}")
    lines.append("        legend")
    for entry in legend_entries(graph):
        lines.append(f"        {_mm_text(entry.mark)} {_mm_text(entry.words)}")
    lines.append("    end note")
    return "\n".join(lines) + "\n"
