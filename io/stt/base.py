"""What every speech-to-text engine offers the voice loop.

The loop owns one :class:`STTStream` per session and feeds it 16 kHz mono int16 PCM
(see :mod:`voxfsm.io.format`). ``accept`` and ``finish`` block (decoding is CPU work), so
async callers run them with ``asyncio.to_thread``.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import attrs


@attrs.frozen
class Transcript:
    """A recognition result.

    ``is_final`` is False for a partial (the engine's current guess while the user still
    speaks) and True once the utterance is over. ``confidence`` is in [0, 1] when the
    engine reports one.
    """

    text: str
    is_final: bool
    confidence: float | None = None


@runtime_checkable
class STTStream(Protocol):
    """One recognizer, reused for every utterance of a session."""

    def accept(self, pcm: bytes) -> Transcript | None:
        """Feed audio; return a new partial, or a final at the engine's own endpoint."""
        ...

    def finish(self) -> Transcript:
        """Return the final transcript of the current utterance and get ready for the next."""
        ...

    def close(self) -> None:
        """Release the recognizer; the stream cannot be used afterwards."""
        ...


@runtime_checkable
class STT(Protocol):
    """A speech-to-text engine."""

    def stream(self) -> STTStream:
        """Open a recognizer for one session."""
        ...

    async def transcribe(self, pcm: bytes) -> str:
        """Recognize a whole utterance (runs in a worker thread)."""
        ...
