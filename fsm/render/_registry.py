"""The format registry: a name, the file suffixes that imply it, and the function that draws it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import attrs

if TYPE_CHECKING:
    from ..graph import WorkflowGraph

Renderer = Callable[["WorkflowGraph"], "str | bytes"]
_F = TypeVar("_F", bound=Renderer)


@attrs.frozen
class Format:
    """A graph output format: its name, the file suffixes that pick it, and its renderer."""

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
    """The format a file name asks for, by its suffix; a clear ``ValueError`` otherwise."""
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
    """The format called ``name`` (``svg``, ``png``, ``dot``, ``mermaid``, ``text``...)."""
    try:
        return FORMATS[name]
    except KeyError:
        raise ValueError(
            f"unknown graph format {name!r}; choose one of {', '.join(FORMATS)}"
        ) from None
