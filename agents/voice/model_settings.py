"""``ModelSettings``: what a pipeline node is told about the reply it produces."""

from __future__ import annotations

from typing import Any

import attrs


@attrs.define
class ModelSettings:
    """Settings of one LLM request: the tool choice in force (``"auto"``, ``"none"``...)."""

    tool_choice: Any = "auto"
