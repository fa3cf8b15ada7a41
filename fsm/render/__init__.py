"""Renderers over :class:`~voxfsm.fsm.graph.WorkflowGraph`: one registry, chosen by name or suffix.

Each output format lives in its own module and registers a plain function
``graph -> str | bytes`` here: :mod:`.dot` (Graphviz DOT), :mod:`.images` (SVG and PNG through
the real ``dot`` program), :mod:`.mermaid`, :mod:`.text`; :mod:`.notebook` builds Jupyter's
display data from the same functions.  ``WorkflowGraph.render()``, ``voxfsm graph`` and the
notebook view all go through :func:`render` / :func:`get_format`, so they draw the same thing.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ._registry import FORMATS, Format, Renderer, format_for, get_format, register
from .dot import to_dot
from .images import GraphvizNotFound, dot_available, to_png, to_svg
from .mermaid import to_mermaid
from .notebook import mimebundle, svg_or_none
from .style import COLORS, LEGEND, edge_label, legend_entries
from .text import to_text

if TYPE_CHECKING:
    from ..graph import WorkflowGraph

__all__ = [
    "COLORS",
    "FORMATS",
    "LEGEND",
    "Format",
    "GraphvizNotFound",
    "Renderer",
    "dot_available",
    "edge_label",
    "format_for",
    "get_format",
    "legend_entries",
    "mimebundle",
    "register",
    "render",
    "svg_or_none",
    "to_dot",
    "to_mermaid",
    "to_png",
    "to_svg",
    "to_text",
]


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
