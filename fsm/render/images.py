"""SVG and PNG through the real Graphviz ``dot`` program (the ``graphviz`` package runs it)."""

from __future__ import annotations

import functools
import shutil
from typing import TYPE_CHECKING

from ._registry import register
from .dot import to_dot

if TYPE_CHECKING:
    from ..graph import WorkflowGraph


class GraphvizNotFound(RuntimeError):
    """The ``dot`` program is missing."""


def dot_available() -> bool:
    """Whether Graphviz's ``dot`` program is on the PATH (needed for SVG and PNG)."""
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
    """The graph drawn as SVG by Graphviz."""
    return _pipe(to_dot(graph), "svg")


@register("png", ".png")
def to_png(graph: WorkflowGraph) -> bytes:
    """The graph drawn as PNG by Graphviz."""
    return _pipe(to_dot(graph), "png")
