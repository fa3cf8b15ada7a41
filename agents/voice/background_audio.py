"""LiveKit's background audio (``BackgroundAudioPlayer``, ``AudioConfig``, ``BuiltinAudioClip``).

Ambient sound, "thinking" sounds and hold music are mixed into a LiveKit room's audio track.
voxfsm's voice loop has no mixer for a second sound yet, so the player accepts the same
configuration and calls, logs once that nothing will be heard, and every ``play()`` returns a
handle that is already finished (awaiting it never waits).
"""

from __future__ import annotations

import enum
import logging
from typing import Any

import attrs

log = logging.getLogger("voxfsm.agents")
_warned: set[str] = set()


class BuiltinAudioClip(str, enum.Enum):
    """Names of LiveKit's bundled clips (no audio files ship offline)."""

    OFFICE_AMBIENCE = "office-ambience.ogg"
    KEYBOARD_TYPING = "keyboard-typing.ogg"
    KEYBOARD_TYPING2 = "keyboard-typing2.ogg"
    HOLD_MUSIC = "hold_music.ogg"
    CITY_AMBIENCE = "city-ambience.ogg"
    FOREST_AMBIENCE = "forest-ambience.ogg"
    CROWDED_ROOM = "crowded-room.ogg"


@attrs.define
class AudioConfig:
    """One sound: a clip or file, its volume, and the chance it plays."""

    source: Any
    volume: float = 1.0
    probability: float = 1.0


class PlayHandle:
    """A sound that was asked for; offline it is finished at once."""

    def done(self) -> bool:
        return True

    def stop(self) -> None:
        """Nothing is playing."""

    async def wait_for_playout(self) -> None:
        """Returns at once: nothing is played offline."""

    def __await__(self) -> Any:
        return self.wait_for_playout().__await__()


class BackgroundAudioPlayer:
    """Accepts LiveKit's ambient/thinking sounds; offline none of them is played."""

    def __init__(self, *, ambient_sound: Any = None, thinking_sound: Any = None, **_: Any) -> None:
        self.ambient_sound = ambient_sound
        self.thinking_sound = thinking_sound

    async def start(self, *, room: Any = None, agent_session: Any = None, **_: Any) -> None:
        if "start" not in _warned:
            _warned.add("start")
            log.warning(
                "BackgroundAudioPlayer: the offline voice loop mixes no background audio; "
                "ambient, thinking and hold sounds are not played"
            )

    def play(self, audio: Any, *, loop: bool = False) -> PlayHandle:
        return PlayHandle()

    async def aclose(self) -> None:
        """Nothing to release."""


__all__ = ["AudioConfig", "BackgroundAudioPlayer", "BuiltinAudioClip", "PlayHandle"]
