"""WAV sources and sinks: format conversion at the edges, pacing, stopping, gap filling."""

from __future__ import annotations

import asyncio
import wave
from pathlib import Path

import numpy as np
import pytest

from voxfsm.io import AudioClip, WavSink, WavSource
from voxfsm.io.audio import AudioFileError, AudioSink, AudioSource, read_wav, write_wav
from voxfsm.io.format import FRAME_SAMPLES, SAMPLE_RATE


def tone(freq: float, seconds: float, rate: int, amplitude: int = 8000) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (np.sin(2 * np.pi * freq * t) * amplitude).astype(np.int16)


def peak_hz(samples: np.ndarray, rate: int = SAMPLE_RATE) -> float:
    spectrum = np.abs(np.fft.rfft(samples.astype(np.float64)))
    return float(np.fft.rfftfreq(samples.size, 1 / rate)[spectrum.argmax()])


def write_stereo_44k(path: Path, left: np.ndarray, right: np.ndarray) -> None:
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(2)
        wav.setsampwidth(2)
        wav.setframerate(44_100)
        wav.writeframes(np.stack([left, right], axis=1).astype("<i2").tobytes())


async def test_wav_source_converts_44k_stereo_to_internal_frames(tmp_path: Path) -> None:
    path = tmp_path / "in.wav"
    sig = tone(440, 1.0, 44_100)
    write_stereo_44k(path, sig, sig)
    source = WavSource(path)
    assert isinstance(source, AudioSource)

    frames = [frame async for frame in source]

    assert all(f.dtype == np.int16 and f.shape == (FRAME_SAMPLES,) for f in frames)
    samples = np.concatenate(frames)
    # one second at 16 kHz, the last frame zero-padded
    assert SAMPLE_RATE <= samples.size < SAMPLE_RATE + FRAME_SAMPLES
    assert abs(peak_hz(samples[:SAMPLE_RATE]) - 440) < 2
    assert 7000 < np.abs(samples).max() <= 8100


async def test_wav_source_mixes_channels_down(tmp_path: Path) -> None:
    path = tmp_path / "in.wav"
    # a tone on the left only: mono must carry it at half amplitude, not drop it
    write_stereo_44k(path, tone(300, 0.5, 44_100), np.zeros(22_050, np.int16))

    samples = np.concatenate([f async for f in WavSource(path)])

    assert abs(peak_hz(samples) - 300) < 3
    assert 3500 < np.abs(samples).max() < 4200


async def test_wav_source_reads_8_bit_and_keeps_native_rate_on_request(tmp_path: Path) -> None:
    path = tmp_path / "u8.wav"
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(1)
        wav.setframerate(8000)
        wav.writeframes(((tone(200, 0.5, 8000) >> 8) + 128).astype(np.uint8).tobytes())

    native, rate = read_wav(path, sample_rate=None)

    assert rate == 8000 and native.size == 4000
    assert abs(peak_hz(native, 8000) - 200) < 3
    assert abs(int(native.mean())) < 300  # unsigned 8-bit re-centred on zero


def test_wav_errors_say_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(AudioFileError, match=r"missing\.wav: no such audio file"):
        WavSource(tmp_path / "missing.wav")
    bogus = tmp_path / "bogus.wav"
    bogus.write_bytes(b"ID3 this is an mp3, honest")
    with pytest.raises(AudioFileError, match="sox"):
        read_wav(bogus)


async def test_wav_sink_round_trip_resamples_to_its_rate(tmp_path: Path) -> None:
    out = tmp_path / "out.wav"
    sink = WavSink(out)
    assert isinstance(sink, AudioSink)
    clip = AudioClip(samples=tone(500, 0.5, 22_050), sample_rate=22_050)

    played = await sink.play(clip)
    await sink.play(clip)
    await sink.aclose()

    assert played == len(clip.samples)
    samples, rate = read_wav(out, sample_rate=None)
    assert rate == SAMPLE_RATE
    assert abs(samples.size - SAMPLE_RATE) <= 2  # two half-second clips, back to back
    assert abs(peak_hz(samples) - 500) < 2


async def test_realtime_wav_sink_stop_cuts_the_clip(tmp_path: Path) -> None:
    sink = WavSink(tmp_path / "out.wav", realtime=True)
    clip = AudioClip(samples=tone(440, 3.0, SAMPLE_RATE), sample_rate=SAMPLE_RATE)

    task = asyncio.create_task(sink.play(clip))
    await asyncio.sleep(0.3)
    sink.stop()
    played = await task
    await sink.aclose()

    assert 0 < played < len(clip.samples) // 2
    # what the file holds is exactly what play() reported, plus nothing after the cut
    recorded = sink.samples
    loud = np.flatnonzero(np.abs(recorded) > 1000)
    assert loud[-1] - loud[0] + 1 <= played + 1


async def test_realtime_wav_sink_writes_silence_between_clips(tmp_path: Path) -> None:
    out = tmp_path / "out.wav"
    sink = WavSink(out, realtime=True)
    clip = AudioClip(samples=tone(440, 0.2, SAMPLE_RATE), sample_rate=SAMPLE_RATE)

    await sink.play(clip)
    await asyncio.sleep(0.4)
    await sink.play(clip)
    await sink.aclose()

    samples, _ = read_wav(out)
    loud = np.abs(samples) > 1000
    starts = np.flatnonzero(loud[1:] & ~loud[:-1]) + 1
    # the second clip starts at least the pause after the first one ended
    first_end = np.flatnonzero(loud)[0] + clip.samples.size
    second_start = next(s for s in starts if s > first_end)
    assert second_start - first_end >= int(0.4 * SAMPLE_RATE) - FRAME_SAMPLES
    assert not loud[first_end + FRAME_SAMPLES : second_start - FRAME_SAMPLES].any()


async def test_stop_also_cancels_clips_waiting_their_turn(tmp_path: Path) -> None:
    sink = WavSink(tmp_path / "out.wav", realtime=True)
    clip = AudioClip(samples=tone(440, 1.0, SAMPLE_RATE), sample_rate=SAMPLE_RATE)

    first = asyncio.create_task(sink.play(clip))
    second = asyncio.create_task(sink.play(clip))
    await asyncio.sleep(0.1)
    sink.stop()

    assert await second == 0
    assert 0 < await first < len(clip.samples)


async def test_realtime_wav_source_is_paced_and_matches_fast_read(tmp_path: Path) -> None:
    path = tmp_path / "in.wav"
    write_wav(path, tone(440, 0.3, SAMPLE_RATE))
    fast = [f async for f in WavSource(path)]
    loop = asyncio.get_running_loop()
    started = loop.time()

    paced = [f async for f in WavSource(path, realtime=True)]

    # pacing never delivers audio before it would have been spoken (a lower bound only)
    assert loop.time() - started >= 0.3 - 0.001
    assert len(paced) == len(fast)
    assert all(np.array_equal(a, b) for a, b in zip(paced, fast, strict=True))
