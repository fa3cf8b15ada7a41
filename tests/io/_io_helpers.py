"""Helpers shared by the audio tests (fixtures live in conftest.py)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import attrs
import numpy as np
import pytest

from voxfsm.io.format import FRAME_SAMPLES, SAMPLE_RATE

_APT_HINT = (
    "install them with `apt-get install pulseaudio pulseaudio-utils libasound2-plugins "
    "libportaudio2 espeak-ng` (all listed in .ci/apt.txt)"
)


def need(*programs: str) -> None:
    """Fail (not skip: CI installs them) when a program the test drives is missing."""
    missing = [p for p in programs if shutil.which(p) is None]
    if missing:
        pytest.fail(f"audio tests need {', '.join(missing)}; {_APT_HINT}")


@attrs.frozen
class PulseServer:
    """A running private PulseAudio server and helpers to drive its virtual devices."""

    server: str
    log: Path

    def feed_mic(self, wav: Path) -> subprocess.Popen[bytes]:
        """Play ``wav`` into the virtual microphone, in real time (returns the player)."""
        return subprocess.Popen(["paplay", "--latency-msec=20", "-d", "vmic_in", str(wav)])

    def record_speaker(self, wav: Path) -> subprocess.Popen[bytes]:
        """Record the virtual speaker's monitor to ``wav`` until the process is terminated."""
        return subprocess.Popen(
            [
                "parecord",
                "-d",
                "vspk.monitor",
                f"--rate={SAMPLE_RATE}",
                "--channels=1",
                "--format=s16le",
                "--file-format=wav",
                "--latency-msec=20",
                str(wav),
            ]
        )


def espeak(text: str, path: Path, *, voice: str = "en-us") -> Path:
    """``text`` spoken by espeak-ng into ``path`` (22050 Hz mono WAV)."""
    need("espeak-ng")
    subprocess.run(["espeak-ng", "-v", voice, "-w", str(path), text], check=True)
    return path


def frames_of(samples: np.ndarray) -> list[np.ndarray]:
    """Cut samples into internal frames (zero-padding the tail)."""
    padded = np.zeros(-(-samples.size // FRAME_SAMPLES) * FRAME_SAMPLES, np.int16)
    padded[: samples.size] = samples
    return list(padded.reshape(-1, FRAME_SAMPLES))


def envelope(samples: np.ndarray) -> np.ndarray:
    """RMS per internal frame."""
    count = samples.size // FRAME_SAMPLES
    blocks = samples[: count * FRAME_SAMPLES].reshape(count, FRAME_SAMPLES).astype(np.float64)
    return np.sqrt((blocks**2).mean(axis=1))


def best_alignment(captured: np.ndarray, reference: np.ndarray) -> float:
    """Peak normalized correlation of two frame-RMS envelopes over all lags (1.0 = same shape)."""
    a, b = envelope(captured), envelope(reference)
    a = (a - a.mean()) / (a.std() or 1.0)
    b = (b - b.mean()) / (b.std() or 1.0)
    best = -1.0
    for lag in range(-len(b) + 1, len(a)):
        lo, hi = max(0, lag), min(len(a), lag + len(b))
        if hi - lo < len(b) // 2:
            continue
        best = max(best, float(np.dot(a[lo:hi], b[lo - lag : hi - lag]) / len(b)))
    return best
