"""Real sounddevice streams over a PulseAudio null-sink mic/speaker, and device errors."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from _io_helpers import PulseServer, best_alignment, envelope

from voxfsm.io import AudioClip, AudioDeviceError, Endpointer, Microphone, Speaker, WebRtcVAD
from voxfsm.io.audio import list_devices, read_wav
from voxfsm.io.format import FRAME_SAMPLES, SAMPLE_RATE

pytestmark = pytest.mark.voice


def tone_clip(seconds: float, rate: int = 22_050, freq: float = 440.0) -> AudioClip:
    t = np.arange(int(seconds * rate)) / rate
    return AudioClip(
        samples=(np.sin(2 * np.pi * freq * t) * 8000).astype(np.int16), sample_rate=rate
    )


def loud_seconds(samples: np.ndarray) -> float:
    return float((envelope(samples) > 2000).sum() * FRAME_SAMPLES / SAMPLE_RATE)


async def record_monitor(pulse: PulseServer, path: Path, coro: object) -> tuple[object, np.ndarray]:
    """Run ``coro`` while recording the virtual speaker; return its result and the recording."""
    recorder = pulse.record_speaker(path)
    await asyncio.sleep(0.3)  # parecord connects asynchronously
    try:
        result = await coro  # type: ignore[misc]
        await asyncio.sleep(0.4)
    finally:
        recorder.terminate()
        recorder.wait()
    samples, _ = read_wav(path)
    return result, samples


async def test_pulse_devices_are_listed(pulse: PulseServer) -> None:
    names = [d.name for d in list_devices()]
    assert "pulse" in names
    pulse_dev = next(d for d in list_devices() if d.name == "pulse")
    assert pulse_dev.max_input_channels > 0 and pulse_dev.max_output_channels > 0
    assert "pulse" in str(pulse_dev)


async def test_microphone_captures_speech_played_into_the_virtual_mic(
    pulse: PulseServer, speech_wav: Path, speech16k: np.ndarray
) -> None:
    frames: list[np.ndarray] = []
    endpointer = Endpointer(WebRtcVAD(), end_silence_ms=500)
    events = []
    async with Microphone("pulse") as mic:
        assert mic.device_name == "pulse"
        stream = aiter(mic)
        frames.append(await anext(stream))  # the stream is live before the speech starts
        player = pulse.feed_mic(speech_wav)
        try:
            # real time: ~3.5 s of speech, then stop at the endpoint (or give up after 10 s)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                frame = await anext(stream)
                frames.append(frame)
                if (event := endpointer.push(frame)) is not None:
                    events.append(event)
                    if event.type == "speech_ended":
                        break
        finally:
            await asyncio.to_thread(player.wait)

    assert all(f.dtype == np.int16 and f.shape == (FRAME_SAMPLES,) for f in frames)
    assert [e.type for e in events] == ["speech_started", "speech_ended"]
    captured = np.concatenate(frames)
    assert best_alignment(captured, speech16k) > 0.9
    assert events[1].samples.size >= speech16k.size * 0.8


async def test_speaker_plays_a_clip_heard_on_the_sink_monitor(
    pulse: PulseServer, tmp_path: Path
) -> None:
    clip = tone_clip(1.5)
    async with Speaker("pulse") as speaker:
        played, recorded = await record_monitor(pulse, tmp_path / "mon.wav", speaker.play(clip))

    assert played == len(clip.samples)
    assert abs(loud_seconds(recorded) - 1.5) < 0.2
    mask = envelope(recorded).repeat(FRAME_SAMPLES) > 2000
    loud = recorded[: mask.size][mask]
    spectrum = np.abs(np.fft.rfft(loud.astype(np.float64)))
    assert abs(np.fft.rfftfreq(loud.size, 1 / SAMPLE_RATE)[spectrum.argmax()] - 440) < 5


async def test_speaker_stop_cuts_playback_mid_clip(pulse: PulseServer, tmp_path: Path) -> None:
    clip = tone_clip(4.0)
    async with Speaker("pulse") as speaker:

        async def play_then_stop() -> int:
            task = asyncio.create_task(speaker.play(clip))
            await asyncio.sleep(0.8)
            assert speaker.playing
            speaker.stop()
            return await task

        played, recorded = await record_monitor(pulse, tmp_path / "mon.wav", play_then_stop())
        assert not speaker.playing
        # the speaker keeps working after a stop
        assert await speaker.play(tone_clip(0.2)) == len(tone_clip(0.2).samples)

    assert isinstance(played, int) and 0 < played < len(clip.samples) // 2
    # what reached the sink is what play() reported, give or take one block and the buffer
    assert loud_seconds(recorded) <= played / clip.sample_rate + 0.1
    assert loud_seconds(recorded) < 2.0


async def test_cancelling_play_silences_the_speaker(pulse: PulseServer, tmp_path: Path) -> None:
    async with Speaker("pulse") as speaker:

        async def cancel_midway() -> None:
            task = asyncio.create_task(speaker.play(tone_clip(4.0)))
            await asyncio.sleep(0.5)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

        _, recorded = await record_monitor(pulse, tmp_path / "mon.wav", cancel_midway())

    assert 0 < loud_seconds(recorded) < 2.0


async def test_unknown_device_name_lists_the_real_ones(pulse: PulseServer) -> None:
    with pytest.raises(AudioDeviceError) as err:
        await Microphone("no-such-mic").start()
    message = str(err.value)
    assert "no-such-mic" in message and "'pulse'" in message
    assert "--input IN.wav --output OUT.wav" in message and "--text" in message


def test_no_audio_server_gives_an_actionable_error(tmp_path: Path) -> None:
    # a fresh process that can reach no sound server: PortAudio sees no device at all
    script = textwrap.dedent(
        """
        import asyncio
        from voxfsm.io import AudioDeviceError, Microphone, Speaker, list_devices
        from voxfsm.io.tts.base import AudioClip
        import numpy as np
        assert list_devices() == []
        clip = AudioClip(np.zeros(10, np.int16), 16000)
        for attempt in (Microphone().start(), Speaker().play(clip)):
            try:
                asyncio.run(attempt)
            except AudioDeviceError as exc:
                print(exc)
        """
    )
    env = {**os.environ, "PULSE_SERVER": f"unix:{tmp_path}/nothing-here"}
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert len(lines) == 2
    assert "no default input device" in lines[0] and "no default output device" in lines[1]
    for line in lines:
        assert "no input devices" in line or "no output devices" in line
        assert "--input IN.wav --output OUT.wav" in line and "--text" in line
    assert "PortAudioError" not in out.stdout + out.stderr


def test_missing_portaudio_is_reported_with_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    # what `import sounddevice` does without libportaudio2
    monkeypatch.setitem(sys.modules, "sounddevice", None)
    with pytest.raises(AudioDeviceError, match=r"libportaudio2.*--text"):
        list_devices()
