"""Room I/O options, accepted offline: there is no room, so they carry no settings.

``session.start(..., room_options=room_io.RoomOptions(...))`` and the older
``RoomInputOptions``/``RoomOutputOptions`` are kept as given (``.options``) and ignored.
"""

from __future__ import annotations

from typing import Any


class _RoomSettings:
    def __init__(self, **options: Any) -> None:
        self.options = dict(options)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.options.items())})"


class RoomOptions(_RoomSettings):
    """How a session would join a room (ignored offline)."""


class RoomInputOptions(_RoomSettings):
    """Room input settings such as noise cancellation (ignored offline)."""


class RoomOutputOptions(_RoomSettings):
    """Room output settings such as transcription (ignored offline)."""


class AudioInputOptions(_RoomSettings):
    """Audio input settings (ignored offline)."""


class AudioOutputOptions(_RoomSettings):
    """Audio output settings (ignored offline)."""


class TextInputOptions(_RoomSettings):
    """Text input settings (ignored offline)."""


class TextOutputOptions(_RoomSettings):
    """Text output settings (ignored offline)."""
