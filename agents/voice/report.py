"""``livekit.agents.voice.report``: what a finished session leaves behind (``SessionReport``).

``ctx.make_session_report()`` builds one for the job's session: its id, the room stand-in's
name, the whole history and when the report was made.  Offline there is no recording, so
the audio fields LiveKit fills stay empty.
"""

from __future__ import annotations

import time
from typing import Any

import attrs

from voxfsm.agents.chat import ChatContext


@attrs.define
class SessionReport:
    """A session's record: the conversation (``chat_history``) and where it ran."""

    job_id: str
    room_id: str
    room: str
    chat_history: ChatContext
    options: dict[str, Any] = attrs.field(factory=dict)
    events: list[Any] = attrs.field(factory=list)
    audio_recording_path: str | None = None
    timestamp: float = attrs.field(factory=time.time)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe data: the history as ``ChatContext.to_dict()`` gives it."""
        return {
            "job_id": self.job_id,
            "room_id": self.room_id,
            "room": self.room,
            "options": dict(self.options),
            "events": list(self.events),
            "chat_history": self.chat_history.to_dict(),
            "audio_recording_path": self.audio_recording_path,
            "timestamp": self.timestamp,
        }


__all__ = ["SessionReport"]
