"""Renderers over :class:`~voxfsm.fsm.graph.WorkflowGraph`: one registry, chosen by name or suffix.

Each renderer is a plain function ``graph -> str | bytes``.  DOT, Mermaid and text need no
program; SVG and PNG run the real Graphviz ``dot`` through the ``graphviz`` package.
"""

from __future__ import annotations

import functools
import html
import logging
import re
import shutil
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import attrs

if TYPE_CHECKING:
    from .graph import Edge, State, WorkflowGraph

log = logging.getLogger(__name__)

Renderer = Callable[["WorkflowGraph"], "str | bytes"]
_F = TypeVar("_F", bound=Renderer)


@attrs.frozen
class Format:
    name: str
    suffixes: tuple[str, ...]
    fn: Renderer


FORMATS: dict[str, Format] = {}


def register(name: str, *suffixes: str) -> Callable[[_F], _F]:
    """Register a renderer under ``name`` for the given file suffixes (``".svg"``...)."""

    def deco(fn: _F) -> _F:
        FORMATS[name] = Format(name, tuple(s.lower() for s in suffixes), fn)
        return fn

    return deco


def format_for(path: str | Path) -> Format:
    suffix = Path(path).suffix.lower()
    for fmt in FORMATS.values():
        if suffix in fmt.suffixes:
            return fmt
    known = ", ".join(s for f in FORMATS.values() for s in f.suffixes)
    raise ValueError(
        f"cannot tell the graph format from {str(path)!r}: use one of the suffixes {known} "
        "or pass format= (" + ", ".join(FORMATS) + ")"
    )


def get_format(name: str) -> Format:
    try:
        return FORMATS[name]
    except KeyError:
        raise ValueError(
            f"unknown graph format {name!r}; choose one of {', '.join(FORMATS)}"
        ) from None


def render(graph: WorkflowGraph, path: str | Path, format: str | None = None) -> Path:
    """Write ``graph`` to ``path`` in the format named or implied by the suffix."""
    fmt = get_format(format) if format else format_for(path)
    out = fmt.fn(graph)
    path = Path(path)
    if isinstance(out, bytes):
        path.write_bytes(out)
    else:
        path.write_text(out, encoding="utf-8")
    return path


# --- shared wording -------------------------------------------------------------------------

COLORS = {
    "current_fill": "#ffd8a8",
    "current_line": "#d9480f",
    "visited_fill": "#d0ebff",
    "visited_line": "#1c7ed6",
    "undeclared": "#e03131",
    "idle": "#495057",
}


def _count(edge: Edge) -> str:
    return f" ×{edge.taken}" if edge.taken else ""


def edge_label(edge: Edge) -> str:
    """The words on an edge, shared by every format."""
    if edge.tool is None:
        text = "update_agent()"
    elif edge.kind == "task":
        text = f"{edge.tool} (task)"
    elif edge.kind == "return":
        text = "returns" if edge.tool is None else f"{edge.tool} (returns)"
    else:
        text = edge.tool
    if edge.tool is not None and not edge.declared:
        text += " (undeclared)"
    return text + _count(edge)


def _short(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


# --- DOT ------------------------------------------------------------------------------------

_START = "voxfsm:start"


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
        sub += f" · {_short(state.summary, 40)}"
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
        tooltip=_short(tip, 200),
    )
    return f"  {_q(state.id)} [label={_node_label(state)}] {a}"


def _dot_edge(edge: Edge) -> str:
    color, style, pen = COLORS["idle"], "solid", "1"
    if edge.tool is None:
        style = "dotted"
    elif not edge.declared:
        color, style = COLORS["undeclared"], "dashed"
    if edge.kind == "return":
        style = "dashed"
    if edge.taken:
        pen = "2.5"
        if edge.declared or edge.tool is None:
            color = COLORS["visited_line"]
    a = _attrs(
        label=edge_label(edge),
        color=color,
        fontcolor=color,
        style=style,
        penwidth=pen,
        dir="both" if edge.kind == "task" else None,
        arrowtail="odot" if edge.kind == "task" else None,
        tooltip=edge.description or None,
    )
    return f"  {_q(edge.source)} -> {_q(edge.target)} {a}"


@register("dot", ".dot", ".gv")
def to_dot(graph: WorkflowGraph) -> str:
    """Graphviz DOT text: rounded boxes, double border for terminal states, LR layout."""
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
                tooltip=_short(broken.error, 200),
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
    lines.append("}")
    return "\n".join(lines) + "\n"


# --- Mermaid stateDiagram-v2 ----------------------------------------------------------------

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
    """Mermaid ``stateDiagram-v2`` text; nodes carry their staying tools as descriptions.

    Mermaid cannot style edges in state diagrams, so taken edges show their count in the label.
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
            lines.append(f"    {mid} : {_mm_text(_short(s.summary, 40))}")
        for tool in s.staying_tools:
            lines.append(f"    {mid} : · {_mm_text(tool.name)}")
        if not s.summary and not s.staying_tools and mid == s.id:
            lines.append(f"    state {mid}")
    for i, broken in enumerate(graph.unresolved):
        lines.append(f'    state "? {_mm_text(broken.name)}" as unresolved_{i}_')
    lines.append(f"    [*] --> {ids[graph.entry]}")
    for e in graph.edges:
        lines.append(f"    {ids[e.source]} --> {ids[e.target]} : {_mm_text(edge_label(e))}")
        if e.kind == "task":
            back = f"returns ×{e.returned}" if e.returned else "returns"
            lines.append(f"    {ids[e.target]} --> {ids[e.source]} : {back}")
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
    return "\n".join(lines) + "\n"


# --- terminal text --------------------------------------------------------------------------


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
    """A plain-text outline for terminals: one block per agent, every line within ``width``."""
    width = max(width, 40)
    n_edges = sum(1 for e in graph.edges if e.tool is not None)
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
            out += _wrap(f"“{_short(s.summary, 160)}”", width, "    ", "     ")
        lines: list[tuple[str, str | None]] = []
        for e in graph.edges_from(s.id):
            mark = "⇄" if e.kind == "task" else "→"
            text = f"{edge_label(e)} {mark} {e.target}"
            lines.append((text, e.description))
        for b in (b for b in graph.unresolved if b.source == s.id):
            lines.append((f"{b.tool} → ? {b.name} (unresolved: {_short(b.error, 80)})", None))
        for tool in s.staying_tools:
            lines.append((f"{tool.name} (stays)", tool.description))
        if not lines:
            out.append("    (no tools)")
        for text, desc in lines:
            out += _wrap(text, width, "  - ", "      ")
            if desc:
                out += _wrap(_short(desc, 200), width, "      ", "      ")
    return "\n".join(out) + "\n"


register("text", ".txt")(to_text)


# --- Graphviz images ------------------------------------------------------------------------


class GraphvizNotFound(RuntimeError):
    """The ``dot`` program is missing."""


def dot_available() -> bool:
    return shutil.which("dot") is not None


@functools.lru_cache(maxsize=32)
def _pipe(dot_source: str, fmt: str) -> bytes:
    import graphviz

    try:
        return graphviz.Source(dot_source, engine="dot").pipe(format=fmt)
    except graphviz.ExecutableNotFound as exc:
        raise GraphvizNotFound(
            "the Graphviz `dot` program is not installed, so SVG/PNG cannot be drawn; install "
            "it (apt-get install graphviz, brew install graphviz) or write .dot/.mmd/.txt instead"
        ) from exc


@register("svg", ".svg")
def to_svg(graph: WorkflowGraph) -> bytes:
    return _pipe(to_dot(graph), "svg")


@register("png", ".png")
def to_png(graph: WorkflowGraph) -> bytes:
    return _pipe(to_dot(graph), "png")


def svg_or_none(graph: WorkflowGraph) -> str | None:
    """SVG text via the local ``dot``, or None when it is missing (never any network)."""
    if not dot_available():
        return None
    try:
        return to_svg(graph).decode("utf-8")
    except Exception as exc:  # a display hook must not raise into the notebook
        log.warning("could not render the graph with dot: %s", exc)
        return None


def mimebundle(graph: WorkflowGraph) -> dict[str, str]:
    """Jupyter display data: SVG when ``dot`` is there, otherwise Mermaid for JupyterLab."""
    bundle = {"text/plain": to_text(graph)}
    svg = svg_or_none(graph)
    if svg is not None:
        bundle["image/svg+xml"] = svg
    else:
        mermaid = to_mermaid(graph)
        bundle["text/vnd.mermaid"] = mermaid
        bundle["text/markdown"] = f"```mermaid\n{mermaid}```\n"
    return bundle
