"""What the prebuilt tasks share: when to ask the user to confirm what was heard."""

from __future__ import annotations

from typing import Any

from voxfsm.agents.context import RunContext


def input_modality(ctx: RunContext[Any] | None) -> str:
    """``"audio"`` when the user spoke the current turn, ``"text"`` when they typed it."""
    if ctx is None:
        return "text"
    session = ctx.session
    given = getattr(session, "input_modality", None)
    if given in ("text", "audio"):
        return str(given)
    return "audio" if session.output is not None else "text"


def needs_confirmation(setting: bool | None, ctx: RunContext[Any] | None) -> bool:
    """``None`` (the default) asks only for spoken input, where recognition may have misheard."""
    if setting is not None:
        return setting
    return input_modality(ctx) == "audio"
