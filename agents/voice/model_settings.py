"""``ModelSettings``: what a pipeline node is told about the reply it produces."""

from __future__ import annotations

from voxfsm.agents.nodes import ModelSettings

__all__ = ["ModelSettings"]
