"""A speech recognizer that "hears" what you scripted: for tests and offline demos.

Example::

    stt = ScriptedSTT(["I have a question about my bill", "yes"])
    stream = stt.stream()
    stream.accept(pcm)              # audio is recorded, nothing is recognized
    stream.finish().text            # -> "I have a question about my bill"
    stt.assert_complete()           # fails while scripted utterances are left

Each ``finish()`` (and each ``transcribe()``) consumes the next transcript, whatever audio
was fed. Every stream of one ``ScriptedSTT`` shares its script.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable

from voxfsm.io.stt.base import Transcript


def _final(item: str | Transcript) -> Transcript:
    if isinstance(item, Transcript):
        return Transcript(item.text, True, item.confidence)
    return Transcript(item, True)


class ScriptedSTT:
    """Returns preset transcripts, one per utterance, and records the audio it was given.

    ``transcripts`` are strings or :class:`Transcript` objects (to set a confidence). With
    ``partials=True``, ``accept`` returns a growing partial (one more word of the upcoming
    transcript per call), as a streaming engine would. Running out of script raises
    ``LookupError`` so a test cannot silently get an empty utterance.
    """

    plugin_kind = "stt"
    """What a plugin string naming this provider must be used for."""

    provider = "scripted"

    def __init__(self, transcripts: Iterable[str | Transcript], *, partials: bool = False) -> None:
        self._script: deque[Transcript] = deque(_final(t) for t in transcripts)
        self.partials = partials
        self.utterances: list[bytes] = []
        """Audio of every finished utterance, in order."""
        self._lock = threading.Lock()

    @classmethod
    def from_spec(cls, model: str | None, option: str | None) -> ScriptedSTT:
        """``scripted:hello|yes please`` hears "hello", then "yes please"."""
        return cls([t for t in (option or "").split("|") if t])

    @property
    def remaining(self) -> list[str]:
        """Transcripts not consumed yet."""
        with self._lock:
            return [t.text for t in self._script]

    def assert_complete(self) -> None:
        """Fail when scripted transcripts were never heard."""
        left = self.remaining
        if left:
            raise AssertionError(f"ScriptedSTT still has {len(left)} unused transcript(s): {left}")

    def next_transcript(self, pcm: bytes = b"") -> Transcript:
        """Consume the next scripted transcript, recording ``pcm`` as its audio."""
        with self._lock:
            if not self._script:
                raise LookupError(
                    f"ScriptedSTT ran out of transcripts after {len(self.utterances)} "
                    "utterance(s); add one per utterance the test speaks"
                )
            self.utterances.append(pcm)
            return self._script.popleft()

    def peek(self) -> Transcript | None:
        with self._lock:
            return self._script[0] if self._script else None

    def stream(self) -> ScriptedStream:
        return ScriptedStream(self)

    async def transcribe(self, pcm: bytes) -> str:
        return self.next_transcript(pcm).text


class ScriptedStream:
    """One session's view of a :class:`ScriptedSTT`."""

    def __init__(self, stt: ScriptedSTT) -> None:
        self._stt = stt
        self._audio = bytearray()
        self._words = 0
        self._closed = False

    def accept(self, pcm: bytes) -> Transcript | None:
        if self._closed:
            raise RuntimeError("this scripted stream is closed; open a new one with stt.stream()")
        self._audio += pcm
        upcoming = self._stt.peek() if self._stt.partials else None
        if upcoming is None:
            return None
        words = upcoming.text.split()
        if self._words >= len(words):
            return None
        self._words += 1
        return Transcript(" ".join(words[: self._words]), False)

    def finish(self) -> Transcript:
        if self._closed:
            raise RuntimeError("this scripted stream is closed; open a new one with stt.stream()")
        audio, self._audio, self._words = bytes(self._audio), bytearray(), 0
        return self._stt.next_transcript(audio)

    def close(self) -> None:
        self._closed = True
