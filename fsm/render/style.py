"""What every format agrees on: colours, the words on an edge, and the legend's entries."""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

if TYPE_CHECKING:
    from ..graph import Edge, WorkflowGraph

COLORS = {
    "current_fill": "#ffd8a8",
    "current_line": "#d9480f",
    "visited_fill": "#d0ebff",
    "visited_line": "#1c7ed6",
    "undeclared": "#e03131",
    "inferred": "#7048e8",
    "idle": "#495057",
}


def count(edge: Edge) -> str:
    return f" ×{edge.taken}" if edge.taken else ""


def edge_label(edge: Edge) -> str:
    """The words on an edge, shared by every format."""
    if edge.kind == "return":
        text = "returns"
    elif edge.tool is None:
        text = "update_agent()" if edge.kind == "handoff" else "task"
    elif edge.kind == "task":
        text = f"{edge.tool} (task)"
    else:
        text = edge.tool
    if edge.kind != "return":
        if edge.origin == "inferred":
            text += " (inferred)"
        elif edge.origin == "observed" and edge.tool is not None:
            text += " (undeclared)"
    return text + count(edge)


def short(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


@attrs.frozen
class LegendEntry:
    """One line of a legend: a stable key, the text mark used by the text format, the words."""

    key: str
    mark: str
    words: str


LEGEND = (
    LegendEntry("declared", "→", "declared handoff"),
    LegendEntry("inferred", "(inferred)", "handoff read from the tool's code, not declared"),
    LegendEntry("observed", "(undeclared)", "handoff observed at run time, not declared"),
    LegendEntry("swap", "update_agent()", "programmatic swap"),
    LegendEntry("task", "⇄", "AgentTask call, ↩ its return"),
    LegendEntry("current", "▶", "current agent"),
    LegendEntry("visited", "●", "visited agent (○ not visited)"),
    LegendEntry("taken", "×N", "edge taken N times"),
)
"""Every legend entry, in drawing order."""


def legend_entries(graph: WorkflowGraph) -> tuple[LegendEntry, ...]:
    """The legend entries this graph needs: declared always, the others when they occur."""
    kinds = {"declared"}
    for e in graph.edges:
        if e.kind in ("task", "return"):
            kinds.add("task")
        elif e.tool is None:
            kinds.add("swap")
        if e.origin == "inferred":
            kinds.add("inferred")
        elif e.origin == "observed" and e.tool is not None:
            kinds.add("observed")
        if e.taken:
            kinds.add("taken")
    if graph.current is not None:
        kinds.add("current")
    if graph.observed:
        kinds.add("visited")
    return tuple(entry for entry in LEGEND if entry.key in kinds)
