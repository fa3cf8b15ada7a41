"""Jupyter display data: SVG from the local ``dot`` when it is there, Mermaid otherwise."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from . import images
from .mermaid import to_mermaid
from .text import to_text

if TYPE_CHECKING:
    from ..graph import WorkflowGraph

log = logging.getLogger(__name__)


def svg_or_none(graph: WorkflowGraph) -> str | None:
    """SVG text via the local ``dot``, or None when it is missing (never any network)."""
    if not images.dot_available():
        return None
    try:
        return images.to_svg(graph).decode("utf-8")
    except Exception as exc:  # a display hook must not raise into the notebook
        log.warning("could not render the graph with dot: %s", exc)
        return None


def mimebundle(graph: WorkflowGraph) -> dict[str, str]:
    """Display data for ``_repr_mimebundle_`` and the live view; text is always included."""
    bundle = {"text/plain": to_text(graph)}
    svg = svg_or_none(graph)
    if svg is not None:
        bundle["image/svg+xml"] = svg
    else:
        mermaid = to_mermaid(graph)
        bundle["text/vnd.mermaid"] = mermaid
        bundle["text/markdown"] = f"```mermaid\n{mermaid}```\n"
    return bundle
