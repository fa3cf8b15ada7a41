"""VADs and the endpointer on real (espeak) speech with silence and pauses around it."""

from __future__ import annotations

import numpy as np
import pytest
from _io_helpers import frames_of

from voxfsm.io import Endpointer, SileroVAD, WebRtcVAD
from voxfsm.io.format import FRAME_MS, FRAME_SAMPLES, SAMPLE_RATE
from voxfsm.io.vad import VAD, EndpointEvent


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * SAMPLE_RATE), np.int16)


def hiss(signal: np.ndarray, sigma: float = 150.0, seed: int = 0) -> np.ndarray:
    """``signal`` with faint Gaussian hiss (σ in LSB, ~-47 dBFS) throughout, like a quiet room."""
    noise = np.random.default_rng(seed).normal(0, sigma, signal.size)
    return (signal + noise).clip(-32768, 32767).astype(np.int16)


def feed(endpointer: Endpointer, samples: np.ndarray) -> list[tuple[int, EndpointEvent]]:
    """Push every frame; return (frame index, event) for each event."""
    events = []
    for i, frame in enumerate(frames_of(samples)):
        event = endpointer.push(frame)
        if event is not None:
            events.append((i, event))
    return events


def speech_span(speech: np.ndarray) -> tuple[int, int]:
    """First and last sample that is clearly voiced (ground truth for the synthetic signal)."""
    loud = np.flatnonzero(np.abs(speech) > 500)
    return int(loud[0]), int(loud[-1])


@pytest.fixture(params=["webrtc", "silero"])
def vad(request: pytest.FixtureRequest) -> VAD:
    return WebRtcVAD(2) if request.param == "webrtc" else SileroVAD()


def test_vads_tell_speech_from_silence(vad: VAD, speech16k: np.ndarray) -> None:
    assert isinstance(vad, VAD)
    quiet = [vad.is_speech(f) for f in frames_of(hiss(silence(1.0)))]
    vad.reset()
    first, last = speech_span(speech16k)
    talking = [vad.is_speech(f) for f in frames_of(speech16k[first:last])]

    assert sum(quiet) <= 2
    assert sum(talking) / len(talking) > 0.6


def test_vad_rejects_frames_of_the_wrong_size(vad: VAD) -> None:
    with pytest.raises(ValueError, match="320 samples"):
        vad.is_speech(np.zeros(480, np.int16))


def test_webrtc_aggressiveness_is_validated() -> None:
    with pytest.raises(ValueError, match="0, 1, 2 or 3"):
        WebRtcVAD(5)


def test_one_utterance_with_preroll_and_endpoint_after_silence(
    vad: VAD, speech16k: np.ndarray
) -> None:
    lead = silence(1.0)
    signal = hiss(np.concatenate([lead, speech16k, silence(1.5)]))
    endpointer = Endpointer(vad, min_speech_ms=100, end_silence_ms=600, preroll_ms=300)

    events = feed(endpointer, signal)

    assert [e.type for _, e in events] == ["speech_started", "speech_ended"]
    (start_at, started), (end_at, ended) = events
    onset = lead.size + speech_span(speech16k)[0]
    # the started event holds ~300 ms of audio from before the speech onset
    preroll = started.samples[: 300 * SAMPLE_RATE // 1000]
    assert np.abs(preroll[:FRAME_SAMPLES]).max() < 1000  # begins in the quiet part
    assert started.duration_ms >= 300 + 100
    assert (start_at + 1) * FRAME_SAMPLES - started.samples.size <= onset
    # the endpoint comes after the speech has ended plus at least the silence asked for
    offset = lead.size + speech_span(speech16k)[1]
    assert (end_at + 1) * FRAME_SAMPLES >= offset + 600 * SAMPLE_RATE // 1000 - FRAME_SAMPLES
    assert ended.reason == "silence"
    # the utterance is the whole speech: same start as the started event, through the end
    assert np.array_equal(ended.samples[: started.samples.size], started.samples)
    assert ended.samples.size >= offset - onset + 300 * SAMPLE_RATE // 1000
    assert ended.pcm == ended.samples.astype("<i2").tobytes()
    assert not endpointer.in_speech


def test_short_pause_stays_inside_the_utterance(vad: VAD, speech16k: np.ndarray) -> None:
    first, last = speech_span(speech16k)
    words = speech16k[first : last + 1]
    signal = hiss(np.concatenate([silence(0.5), words, silence(0.3), words, silence(1.0)]))
    endpointer = Endpointer(vad, end_silence_ms=700)

    events = feed(endpointer, signal)

    assert [e.type for _, e in events] == ["speech_started", "speech_ended"]
    assert events[1][1].samples.size >= 2 * words.size


def test_a_long_pause_splits_two_utterances(speech16k: np.ndarray) -> None:
    first, last = speech_span(speech16k)
    words = speech16k[first : last + 1]
    signal = hiss(np.concatenate([silence(0.5), words, silence(1.0), words, silence(1.0)]))

    events = feed(Endpointer(WebRtcVAD(), end_silence_ms=600), signal)

    assert [e.type for _, e in events] == ["speech_started", "speech_ended"] * 2


def test_a_click_shorter_than_min_speech_never_starts() -> None:
    click = (np.random.default_rng(3).normal(0, 8000, 3 * FRAME_SAMPLES)).astype(np.int16)
    signal = np.concatenate([silence(0.5), click, silence(1.0)])
    endpointer = Endpointer(WebRtcVAD(3), min_speech_ms=200)

    assert feed(endpointer, signal) == []
    assert not endpointer.in_speech


def test_stt_can_endpoint_early_and_flush_closes_at_stream_end(speech16k: np.ndarray) -> None:
    endpointer = Endpointer(WebRtcVAD(), end_silence_ms=2000)
    events = feed(endpointer, np.concatenate([silence(0.5), speech16k[:SAMPLE_RATE]]))
    assert [e.type for _, e in events] == ["speech_started"]
    assert endpointer.in_speech

    ended = endpointer.end_of_utterance()

    assert ended is not None and ended.type == "speech_ended" and ended.reason == "stt"
    assert endpointer.end_of_utterance() is None  # nothing open any more
    feed(endpointer, speech16k[: SAMPLE_RATE // 2])
    flushed = endpointer.flush()
    assert flushed is not None and flushed.reason == "flush"
    assert endpointer.flush() is None


def test_max_speech_length_forces_an_endpoint(speech16k: np.ndarray) -> None:
    endpointer = Endpointer(WebRtcVAD(), end_silence_ms=5000, max_speech_ms=1000)

    events = feed(endpointer, np.concatenate([silence(0.2), speech16k]))

    ended = [e for _, e in events if e.type == "speech_ended"]
    assert ended and ended[0].reason == "max_length"
    assert ended[0].duration_ms == 1000


def test_endpointer_validates_durations() -> None:
    with pytest.raises(ValueError, match="end_silence_ms"):
        Endpointer(WebRtcVAD(), end_silence_ms=-1)


def test_speech_ms_counts_voiced_frames(speech16k: np.ndarray) -> None:
    events = feed(Endpointer(WebRtcVAD()), np.concatenate([silence(0.3), speech16k, silence(1)]))
    ended = events[-1][1]
    assert ended.speech_ms % FRAME_MS == 0
    assert 0 < ended.speech_ms <= ended.duration_ms
