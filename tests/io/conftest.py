"""Fixtures for audio tests: a private PulseAudio server with a virtual mic and speaker.

The daemon runs as whoever runs the tests (root works), with its state in a temp dir, and
exposes two null sinks: ``vmic_in`` (whatever is played into it comes out of the ``vmic``
source, the default input) and ``vspk`` (the default output; its ``vspk.monitor`` records
what was played). sounddevice reaches it through the ALSA ``pulse`` device.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from _io_helpers import PulseServer, espeak, need

from voxfsm.io.audio import read_wav

# norewinds=1: without it a null sink fed by a low-latency client runs at ~40-60 % of real
# time on this kind of VM (measured), which starves playback and makes recordings short.
_CONFIG = """\
load-module module-native-protocol-unix auth-anonymous=1 socket={socket}
load-module module-null-sink sink_name=vspk rate=16000 channels=1 norewinds=1 \
sink_properties=device.description=VirtualSpeaker
load-module module-null-sink sink_name=vmic_in rate=16000 channels=1 norewinds=1 \
sink_properties=device.description=VirtualMicFeed
load-module module-remap-source source_name=vmic master=vmic_in.monitor \
source_properties=device.description=VirtualMic
set-default-sink vspk
set-default-source vmic
"""


def _wait_ready(env: dict[str, str], proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        ok = subprocess.run(["pactl", "info"], env=env, capture_output=True).returncode == 0
        if ok:
            return
        time.sleep(0.05)
    proc.kill()
    text = log.read_text() if log.exists() else "(no log)"
    pytest.fail(f"PulseAudio did not come up; its log:\n{text}")


@pytest.fixture(scope="session")
def pulse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PulseServer]:
    """A PulseAudio server with null-sink mic/speaker, made the process's default server."""
    need("pulseaudio", "pactl", "paplay", "parecord")
    run_dir = tmp_path_factory.mktemp("pulse")
    socket = run_dir / "native"
    config = run_dir / "ci.pa"
    config.write_text(_CONFIG.format(socket=socket))
    log = run_dir / "pa.log"
    env = {**os.environ, "HOME": str(run_dir), "PULSE_RUNTIME_PATH": str(run_dir)}
    proc = subprocess.Popen(
        [
            "pulseaudio",
            "-n",
            "-F",
            str(config),
            "--daemonize=no",
            "--exit-idle-time=-1",
            "--disallow-exit",
            "--use-pid-file=no",
            f"--log-target=file:{log}",
        ],
        env=env,
    )
    server = f"unix:{socket}"
    previous = os.environ.get("PULSE_SERVER")
    os.environ["PULSE_SERVER"] = server
    _wait_ready({**os.environ}, proc, log)
    # PortAudio enumerates devices once, when sounddevice is imported: refresh it if some
    # earlier test imported it before this server existed
    if "sounddevice" in sys.modules:
        sd = sys.modules["sounddevice"]
        sd._terminate()
        sd._initialize()
    try:
        yield PulseServer(server=server, log=log)
    finally:
        if previous is None:
            os.environ.pop("PULSE_SERVER", None)
        else:
            os.environ["PULSE_SERVER"] = previous
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="session")
def speech_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """About three seconds of real (synthetic) English speech, made at test time."""
    path = tmp_path_factory.mktemp("speech") / "utterance.wav"
    return espeak("Hello, I would like to check the balance of my account, please.", path)


@pytest.fixture(scope="session")
def speech16k(speech_wav: Path) -> np.ndarray:
    """``speech_wav`` as 16 kHz int16 samples."""
    samples, _ = read_wav(speech_wav)
    return samples
