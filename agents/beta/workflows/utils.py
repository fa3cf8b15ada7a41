"""``beta.workflows.utils``: ``WorkflowInstructions`` and the keypad keys (``DtmfEvent``)."""

from __future__ import annotations

import enum

from voxfsm.agents.beta.instructions import WorkflowInstructions


class DtmfEvent(str, enum.Enum):
    """A keypad key."""

    ONE = "1"
    TWO = "2"
    THREE = "3"
    FOUR = "4"
    FIVE = "5"
    SIX = "6"
    SEVEN = "7"
    EIGHT = "8"
    NINE = "9"
    ZERO = "0"
    STAR = "*"
    POUND = "#"
    A = "A"
    B = "B"
    C = "C"
    D = "D"


def format_dtmf(events: list[DtmfEvent]) -> str:
    """Keys as the text a DTMF result holds (``"1 2 #"``)."""
    return " ".join(DtmfEvent(e).value for e in events)


__all__ = ["DtmfEvent", "WorkflowInstructions", "format_dtmf"]
