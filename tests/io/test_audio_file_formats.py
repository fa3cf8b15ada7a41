"""Audio files as a user has them: every WAV subtype, FLAC and OGG in (files made by the real
``sox`` program and by soundfile), 16-bit WAV / FLAC / OGG out by suffix, and broken or
absurd files refused with one message that names the file, before any large allocation."""

from __future__ import annotations

import resource
import shutil
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from voxfsm.io import WavSink, WavSource
from voxfsm.io.audio import AudioFileError, check_output_path, read_audio, write_audio
from voxfsm.io.format import SAMPLE_RATE
from voxfsm.io.tts import AudioClip

needs_sox = pytest.mark.skipif(shutil.which("sox") is None, reason="needs sox (.ci/apt.txt)")


def peak_hz(samples: np.ndarray, rate: int = SAMPLE_RATE) -> float:
    spectrum = np.abs(np.fft.rfft(samples.astype(np.float64)))
    return float(np.fft.rfftfreq(samples.size, 1 / rate)[spectrum.argmax()])


def sox(*args: str) -> None:
    subprocess.run(["sox", *args], check=True, timeout=60, capture_output=True)


def wav_format_tag(path: Path) -> int:
    """The format tag of a WAV's fmt chunk (1 PCM, 3 float, 0xFFFE extensible)."""
    data = path.read_bytes()
    at = data.index(b"fmt ")
    return int(struct.unpack("<H", data[at + 8 : at + 10])[0])


@needs_sox
@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("s24.wav", ["-b", "24"]),
        ("s32.wav", ["-b", "32"]),
        ("float.wav", ["-e", "floating-point", "-b", "32"]),
        ("u8.wav", ["-b", "8"]),
        ("ulaw.wav", ["-e", "u-law"]),
        ("stereo48k.flac", ["-r", "48000", "-c", "2"]),
        ("tone.ogg", []),
        ("six-channels.wav", ["-c", "6"]),
    ],
)
def test_sox_files_of_every_kind_are_read_as_16k_mono(
    tmp_path: Path, name: str, args: list[str]
) -> None:
    path = tmp_path / name
    rate = "48000" if "48k" in name else "22050"
    sox("-n", "-r", rate, *args, str(path), "synth", "1.5", "sine", "440", "vol", "0.5")

    samples, out_rate = read_audio(path)

    assert out_rate == SAMPLE_RATE
    assert abs(samples.size - int(1.5 * SAMPLE_RATE)) < SAMPLE_RATE // 50
    assert abs(peak_hz(samples) - 440) < 3
    assert 12_000 < np.abs(samples).max() < 17_500  # half scale, not wrapped or silent


@needs_sox
def test_the_issue_example_is_a_wave_format_extensible_file_and_plays(tmp_path: Path) -> None:
    path = tmp_path / "x.wav"
    # what the issue ran: 1.5 s of near-silence at 22.05 kHz, 32-bit integer, EXTENSIBLE
    sox("-n", "-r", "22050", "-c", "1", str(path), "trim", "0", "1.5")
    loud = tmp_path / "loud.wav"
    sox("-n", "-r", "22050", "-b", "24", "-c", "3", str(loud), "synth", "0.5", "sine", "300")
    assert wav_format_tag(path) == wav_format_tag(loud) == 0xFFFE

    silent, _ = read_audio(path)
    tone, _ = read_audio(loud)

    assert silent.size == int(1.5 * SAMPLE_RATE) and np.abs(silent).max() < 50  # dither only
    assert abs(peak_hz(tone) - 300) < 3


async def test_wav_source_takes_flac(tmp_path: Path) -> None:
    t = np.arange(32_000) / 32_000
    sf.write(tmp_path / "in.flac", (np.sin(2 * np.pi * 500 * t) * 0.3), 32_000, subtype="PCM_24")

    frames = [f async for f in WavSource(tmp_path / "in.flac")]

    assert abs(peak_hz(np.concatenate(frames)[:SAMPLE_RATE]) - 500) < 3


@pytest.mark.parametrize(("suffix", "fmt"), [(".wav", "WAV"), (".flac", "FLAC"), (".ogg", "OGG")])
def test_write_audio_picks_the_format_by_suffix(tmp_path: Path, suffix: str, fmt: str) -> None:
    t = np.arange(SAMPLE_RATE) / SAMPLE_RATE
    tone = (np.sin(2 * np.pi * 600 * t) * 9000).astype(np.int16)
    path = tmp_path / f"out{suffix}"

    write_audio(path, tone)

    info = sf.info(str(path))
    assert info.format == fmt and info.samplerate == SAMPLE_RATE and info.channels == 1
    if fmt != "OGG":
        assert info.subtype == "PCM_16"
    back, _ = read_audio(path)
    assert abs(peak_hz(back) - 600) < 3
    assert not list(tmp_path.glob(".*.part"))  # the temporary file was renamed away


def test_unknown_output_suffix_and_missing_folder_are_refused_up_front(tmp_path: Path) -> None:
    with pytest.raises(AudioFileError, match=r"out\.mp4: cannot write \.mp4; use one of \.wav"):
        check_output_path(tmp_path / "out.mp4")
    with pytest.raises(AudioFileError, match=r"the folder .*nowhere does not exist"):
        WavSink(tmp_path / "nowhere" / "out.wav")
    (tmp_path / "dir.wav").mkdir()
    with pytest.raises(AudioFileError, match="is a folder"):
        check_output_path(tmp_path / "dir.wav")


def header_says(path: Path, *, rate: int, data_bytes: int, real_bytes: int) -> None:
    """A 16-bit mono PCM WAV whose header claims ``rate`` and ``data_bytes``."""
    fmt = struct.pack("<HHIIHH", 1, 1, rate, rate * 2, 2, 16)
    body = b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt
    body += b"data" + struct.pack("<I", data_bytes) + bytes(real_bytes)
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)


def test_a_32_kb_file_claiming_1_hz_is_refused_before_any_large_allocation(
    tmp_path: Path,
) -> None:
    path = tmp_path / "one-hertz.wav"
    header_says(path, rate=1, data_bytes=32_000, real_bytes=32_000)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    with pytest.raises(AudioFileError) as info:
        read_audio(path)

    message = str(info.value)
    assert message.startswith(f"{path}: its header says 1 Hz")
    assert message.count(str(path)) == 2  # the file once, and once in the sox command to fix it
    # resampling 16,000 samples from 1 Hz would have allocated gigabytes
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 100_000  # KB


def test_a_header_promising_hours_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "long.wav"
    sf.write(path, np.zeros(16_000 * 4, np.int16), 16_000)

    with pytest.raises(AudioFileError, match=r"4 s of audio is longer than the 2 s limit"):
        read_audio(path, max_seconds=2)
    assert read_audio(path, max_seconds=None)[0].size == 64_000


def test_not_audio_names_the_file_once_and_says_how_to_convert(tmp_path: Path) -> None:
    path = tmp_path / "notes.wav"
    path.write_text("these are my meeting notes, not audio")

    with pytest.raises(AudioFileError) as info:
        WavSource(path)

    message = str(info.value)
    assert message.startswith(f"{path}: not an audio file")
    assert "sox" in message and "\n" not in message


async def test_sink_interrupted_mid_call_still_writes_what_was_recorded(tmp_path: Path) -> None:
    sink = WavSink(tmp_path / "out.flac")
    await sink.play(AudioClip(samples=np.full(8000, 5000, np.int16), sample_rate=SAMPLE_RATE))

    await sink.aclose()

    assert sf.info(str(tmp_path / "out.flac")).frames == 8000
