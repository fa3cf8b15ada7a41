"""Graphviz DOT text: rounded boxes, a double border for end states, left to right, a legend."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from ._registry import register
from .style import COLORS, edge_label, legend_entries, short

if TYPE_CHECKING:
    from ..graph import Edge, State, WorkflowGraph

_START = "voxfsm:start"
_LEGEND = "voxfsm:legend"


def _q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _attrs(**kw: str | None) -> str:
    return "[" + " ".join(f"{k}={_q(v)}" for k, v in kw.items() if v is not None) + "]"


def _h(text: str) -> str:
    # Graphviz rejects empty HTML elements such as <b></b>.
    return html.escape(text) or "&#160;"


def _node_label(state: State) -> str:
    rows = [f"<b>{_h(state.id)}</b>"]
    sub = state.cls.__qualname__
    if state.summary:
        sub += f" · {short(state.summary, 40)}"
    rows.append(f'<font point-size="9">{_h(sub)}</font>')
    for tool in state.staying_tools:
        rows.append(f'<font point-size="9">· {_h(tool.name)}</font>')
    cells = "".join(f'<tr><td align="left">{r}</td></tr>' for r in rows)
    return f'<<table border="0" cellborder="0" cellspacing="1">{cells}</table>>'


def _dot_node(state: State) -> str:
    style = ["rounded", "filled"] + (["dashed"] if state.task else [])
    fill, line, pen = "white", COLORS["idle"], "1"
    if state.current:
        fill, line, pen = COLORS["current_fill"], COLORS["current_line"], "2.5"
    elif state.visited:
        fill, line = COLORS["visited_fill"], COLORS["visited_line"]
    tip = state.summary or state.cls.__qualname__
    a = _attrs(
        style=",".join(style),
        fillcolor=fill,
        color=line,
        penwidth=pen,
        peripheries="2" if state.terminal else None,
        tooltip=short(tip, 200),
    )
    return f"  {_q(state.id)} [label={_node_label(state)}] {a}"


def _dot_edge(edge: Edge) -> str:
    color, style, pen = COLORS["idle"], "solid", "1"
    if edge.kind == "return":
        style = "dashed"
    elif edge.tool is None:
        style = "dotted"
    elif edge.origin == "inferred":
        color, style = COLORS["inferred"], "dashed"
    elif edge.origin == "observed":
        color, style, pen = COLORS["undeclared"], "dashed", "2"
    if edge.taken:
        pen = "2.5"
        if edge.origin != "observed" or edge.tool is None:
            color = COLORS["visited_line"]
    a = _attrs(
        label=edge_label(edge),
        color=color,
        fontcolor=color,
        style=style,
        penwidth=pen,
        arrowhead="empty" if edge.kind == "return" else None,
        arrowtail="odot" if edge.kind == "task" else None,
        dir="both" if edge.kind == "task" else None,
        tooltip=edge.description or None,
    )
    return f"  {_q(edge.source)} -> {_q(edge.target)} {a}"


_SAMPLES = {
    "declared": ("——", COLORS["idle"]),
    "inferred": ("- - -", COLORS["inferred"]),
    "observed": ("- - -", COLORS["undeclared"]),
    "swap": ("· · ·", COLORS["idle"]),
    "task": ("o—▷ - -▷", COLORS["idle"]),
    "current": ("■", COLORS["current_line"]),
    "visited": ("■", COLORS["visited_line"]),
    "taken": ("━━ ×N", COLORS["visited_line"]),
}


def _legend(graph: WorkflowGraph) -> list[str]:
    rows = []
    for entry in legend_entries(graph):
        sample, color = _SAMPLES[entry.key]
        rows.append(
            f'<tr><td align="left"><font color="{color}">{_h(sample)}</font></td>'
            f'<td align="left">{_h(entry.words)}</td></tr>'
        )
    table = (
        '<<table border="0" cellborder="0" cellspacing="2">'
        '<tr><td colspan="2" align="left"><b>legend</b></td></tr>' + "".join(rows) + "</table>>"
    )
    return [
        "  subgraph cluster_legend {",
        '    graph [style="rounded,dashed" color="#adb5bd" label=""]',
        f'    {_q(_LEGEND)} [shape="plaintext" fontsize="9" label={table}]',
        "  }",
    ]


@register("dot", ".dot", ".gv")
def to_dot(graph: WorkflowGraph) -> str:
    """Graphviz DOT text for ``graph``."""
    lines = [
        "digraph workflow {",
        '  graph [rankdir="LR" fontname="Helvetica" nodesep="0.4" ranksep="0.6"]',
        '  node [shape="box" fontname="Helvetica" fontsize="11"]',
        '  edge [fontname="Helvetica" fontsize="9"]',
        f'  {_q(_START)} [shape="point" width="0.15" label=""]',
    ]
    lines += [_dot_node(s) for s in graph.states]
    for i, broken in enumerate(graph.unresolved):
        node = f"voxfsm:unresolved:{i}"
        lines.append(
            f"  {_q(node)} "
            + _attrs(
                label=f"? {broken.name}",
                shape="note",
                color=COLORS["undeclared"],
                fontcolor=COLORS["undeclared"],
                tooltip=short(broken.error, 200),
            )
        )
        lines.append(
            f"  {_q(broken.source)} -> {_q(node)} "
            + _attrs(
                label=broken.tool,
                color=COLORS["undeclared"],
                fontcolor=COLORS["undeclared"],
                style="dashed",
            )
        )
    start = (
        _attrs(color=COLORS["visited_line"], penwidth="2.5")
        if graph.observed
        else _attrs(color=COLORS["idle"])
    )
    lines.append(f"  {_q(_START)} -> {_q(graph.entry)} {start}")
    lines += [_dot_edge(e) for e in graph.edges]
    lines += _legend(graph)
    lines.append("}")
    return "\n".join(lines) + "\n"
