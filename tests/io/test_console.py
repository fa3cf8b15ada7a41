"""``voxfsm console``: typed turns, WAV files in and out, devices, errors and Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from _io_helpers import PulseServer, envelope

from voxfsm.io.audio import read_wav, write_wav
from voxfsm.io.format import FRAME_SAMPLES, SAMPLE_RATE

pytestmark = pytest.mark.voice

APP = """
from voxfsm.agents import Agent, AgentSession
from voxfsm.agents.llm import ScriptedLLM, reply
from voxfsm.io import ScriptedSTT


class Teller(Agent):
    def __init__(self):
        super().__init__(instructions="a bank teller")

    async def on_enter(self):
        await self.session.say("Hello.")


entry = Teller


def make_session():
    llm = ScriptedLLM({"balance please": reply("Your balance is ten euros.")})
    return AgentSession(llm=llm, stt=ScriptedSTT(["balance please"]))
"""


@pytest.fixture
def app(tmp_path: Path) -> Path:
    path = tmp_path / "teller.py"
    path.write_text(APP)
    return path


def console(
    *args: str, env: dict[str, str] | None = None, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "voxfsm.io.cli", "console", "--scripted", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
    )


def no_server(tmp_path: Path) -> dict[str, str]:
    return {"PULSE_SERVER": f"unix:{tmp_path}/no-server-here"}


def test_text_mode_plays_typed_turns_through_a_real_example() -> None:
    out = console(
        "voxfsm.examples.restaurant",
        "--text",
        stdin="Hi, I'd like to order takeaway please.\nTwo pizzas and a coffee please.\n",
    )

    assert out.returncode == 0, out.stderr
    assert "you  Hi, I'd like to order takeaway please." in out.stdout  # piped turns are echoed
    assert "Welcome to Luigi's" in out.stdout
    assert "handoff greeter → takeaway" in out.stdout
    assert "add_to_order" in out.stdout
    assert "Traceback" not in out.stderr


def test_wav_in_wav_out(app: Path, tmp_path: Path, speech16k: np.ndarray) -> None:
    lead = np.zeros(2 * SAMPLE_RATE, np.int16)  # the greeting plays undisturbed
    tail = np.zeros(int(2.5 * SAMPLE_RATE), np.int16)
    write_wav(tmp_path / "in.wav", np.concatenate([lead, speech16k, tail]))

    out = console(
        str(app), "--input", str(tmp_path / "in.wav"), "--output", str(tmp_path / "out.wav")
    )

    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert text.index("Hello.") < text.index("you  balance please") < text.index("ten euros")
    assert "⏱ endpoint" in text and "1 spoken turn(s)" in text
    played, _ = read_wav(tmp_path / "out.wav")
    # the output lines up with the input: greeting first, answer after the question
    assert played.size >= lead.size + speech16k.size
    sound = envelope(played) > 300
    question_end = (lead.size + speech16k.size) // FRAME_SAMPLES
    assert sound[: lead.size // FRAME_SAMPLES].any()
    assert sound[question_end:].any()
    assert not sound[lead.size // FRAME_SAMPLES + 25 : question_end].any()


def test_list_devices_shows_the_virtual_ones(pulse: PulseServer) -> None:
    out = console("--list-devices")
    assert out.returncode == 0, out.stderr
    assert "pulse" in out.stdout


def test_no_audio_device_explains_the_alternatives(app: Path, tmp_path: Path) -> None:
    listed = console("--list-devices", env=no_server(tmp_path))
    voice = console(str(app), env=no_server(tmp_path))

    assert listed.returncode == 1 and "--input IN.wav --output OUT.wav" in listed.stderr
    assert voice.returncode == 1
    flat = " ".join(voice.stderr.split())
    assert "no default input device" in flat and "--text" in flat
    assert "Traceback" not in voice.stdout + voice.stderr


def test_usage_errors_exit_2(app: Path) -> None:
    assert console().returncode == 2
    assert console(str(app), "--text", "--input", "x.wav").returncode == 2
    missing = console("no/such/app.py", "--text")
    assert missing.returncode == 2 and "no such file" in missing.stderr


def test_ctrl_c_ends_a_microphone_session_cleanly(app: Path, pulse: PulseServer) -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "voxfsm.io.cli",
            "console",
            "--scripted",
            str(app),
            "--input-device",
            "pulse",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert proc.stdout is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if "Hello." in line or not line:  # greeted: the loop is running
            break
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)

    assert proc.returncode == 130, err  # interrupted, the shell's convention
    assert err.strip() == "voxfsm console: interrupted (SIGINT)"
