"""The command line as a user meets it, run as a real subprocess every time: one line on
stderr per failure, exit 1 (usage 2, interrupted 130), outputs checked before the call,
signals that still write the recording, markup shown as written, a console that never hangs.
Every subprocess has a timeout."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from voxfsm.io.audio import read_audio

TIMEOUT = 120  # seconds for any one command; a hang fails the test instead of blocking CI

APP = """
from voxfsm.agents import Agent, AgentSession
from voxfsm.agents.llm import ScriptedLLM, reply
from voxfsm.io import ScriptedSTT


class Teller(Agent):
    def __init__(self):
        super().__init__(instructions="a bank teller")

    async def on_enter(self):
        await self.session.say("Hello, this is the bank. How can I help you today?")


entry = Teller


def make_session():
    llm = ScriptedLLM({"balance please": reply("Your balance is ten euros.")})
    return AgentSession(llm=llm, stt=ScriptedSTT(["balance please"]))
"""


def voxfsm(
    *args: str,
    stdin: str = "",
    env: dict[str, str] | None = None,
    block_numpy: bool = False,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``voxfsm ARGS`` (through ``python -m voxfsm.io.cli``) to completion."""
    code = "import sys; sys.modules['numpy'] = None\n" if block_numpy else ""
    code += "import runpy; runpy.run_module('voxfsm.io.cli', run_name='__main__')"
    if args[:1] == ("console",):  # the apps' own scripted LLMs, not the local model
        args = ("console", "--scripted", *args[1:])
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        cwd=cwd,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
    )


def one_error_line(out: subprocess.CompletedProcess[str], command: str) -> str:
    """The single stderr line of a failed command (no traceback, nothing else)."""
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, out.stderr
    assert lines[0].startswith(f"voxfsm {command}: "), lines[0]
    assert "Traceback" not in out.stdout + out.stderr
    return lines[0]


@pytest.fixture
def app(tmp_path: Path) -> Path:
    path = tmp_path / "teller.py"
    path.write_text(APP)
    return path


def speechless_wav(path: Path, seconds: float = 6.0) -> Path:
    sf.write(path, np.zeros(int(seconds * 16_000), np.int16), 16_000)
    return path


# ---------------------------------------------------------------- version, help, usage


def test_version_and_module_entry_point() -> None:
    out = voxfsm("--version")
    assert out.returncode == 0
    assert out.stdout.strip().startswith("voxfsm ") and out.stdout.strip() != "voxfsm unknown"
    for module in ("voxfsm", "voxfsm.io.cli"):
        listed = subprocess.run(
            [sys.executable, "-m", module, "--help"],
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
        )
        assert listed.returncode == 0, listed.stderr
        assert all(c in listed.stdout for c in ("demo", "console", "graph", "check", "models"))


def test_usage_errors_are_one_line_and_exit_2(app: Path) -> None:
    bad_silence = voxfsm("console", str(app), "--end-silence-ms", "-5")
    assert bad_silence.returncode == 2
    assert "-5 ms is outside 100-10000" in bad_silence.stderr
    assert len(bad_silence.stderr.strip().splitlines()) == 1

    no_app = voxfsm("console")
    assert no_app.returncode == 2
    assert "name the workflow" in one_error_line(no_app, "console")

    mixed = voxfsm("console", str(app), "--text", "--input", "x.wav")
    assert mixed.returncode == 2 and "--text cannot be combined" in mixed.stderr


# ---------------------------------------------------------------- the app's own failures


@pytest.mark.parametrize(
    ("source", "target", "code", "expected"),
    [
        ("x = 1 / 0\n", "", 1, "raised ZeroDivisionError: division by zero"),
        (
            APP.replace("def __init__(self):", "def __init__(self, branch):"),
            ":Teller",
            2,
            "Teller() needs arguments (branch)",
        ),
        (APP, ":make_session", 2, "returned AgentSession, not an Agent"),
        (
            APP.replace(
                "await self.session.say(",
                "raise RuntimeError('template broke at [/INST] [bold]') or print(",
            ),
            "",
            1,
            "starting Teller (its on_enter) raised RuntimeError: template broke at [/INST] [bold]",
        ),
    ],
    ids=["import-fails", "entry-needs-arguments", "entry-not-an-agent", "on-enter-raises"],
)
def test_app_failures_are_one_line_naming_the_cause(
    tmp_path: Path, source: str, target: str, code: int, expected: str
) -> None:
    path = tmp_path / "app.py"
    path.write_text(source)

    out = voxfsm("console", f"{path}{target}", "--text", stdin="hello\n")

    assert out.returncode == code, out.stderr
    assert expected in one_error_line(out, "console")  # markup shown as written


def test_a_dead_llm_server_is_one_line(tmp_path: Path) -> None:
    out = voxfsm(
        "console",
        "voxfsm.examples.restaurant",
        "--text",
        "--llm",
        "http://127.0.0.1:9/v1",
        "--model",
        "m",
        stdin="hi\n",
    )

    assert out.returncode == 1
    line = one_error_line(out, "console")
    assert "127.0.0.1:9" in line


# ---------------------------------------------------------------- audio files and outputs


def test_unreadable_input_fails_fast_with_one_line_even_with_whisper(
    app: Path, tmp_path: Path
) -> None:
    notes = tmp_path / "notes.wav"
    notes.write_text("not audio")

    for extra in ([], ["--stt", "whisper"]):
        start = time.monotonic()
        out = voxfsm("console", str(app), "--input", str(notes), *extra)
        assert out.returncode == 1
        line = one_error_line(out, "console")
        assert line.count(str(notes)) == 2 and "not an audio file" in line  # file + sox hint
        assert "device" not in line
        assert time.monotonic() - start < TIMEOUT


def test_output_into_a_missing_folder_is_refused_before_the_call(app: Path, tmp_path: Path) -> None:
    wav = speechless_wav(tmp_path / "in.wav")

    out = voxfsm("console", str(app), "--input", str(wav), "--output", str(tmp_path / "no/x.wav"))

    assert out.returncode == 1
    assert "the folder" in one_error_line(out, "console") and "does not exist" in out.stderr
    assert "Hello" not in out.stdout  # nothing ran


def test_graph_into_a_missing_folder(tmp_path: Path) -> None:
    out = voxfsm("graph", "voxfsm.examples.restaurant", "-o", str(tmp_path / "no/dir/x.svg"))

    assert out.returncode == 1
    assert "does not exist" in one_error_line(out, "graph")


def test_demo_out_that_cannot_be_a_folder(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("a file, not a folder")

    out = voxfsm("demo", "--text", "--scripted", "--out", str(blocker / "demo"))

    assert out.returncode == 1
    assert "cannot create the folder" in one_error_line(out, "demo")


@pytest.mark.voice
def test_a_24_bit_stereo_file_in_and_flac_out(
    app: Path, tmp_path: Path, speech16k: np.ndarray
) -> None:
    # the kind of file `sox` writes by default from a 44.1 kHz source: 24-bit, stereo
    plain = tmp_path / "plain.wav"
    lead, tail = np.zeros(2 * 16_000, np.int16), np.zeros(int(2.5 * 16_000), np.int16)
    sf.write(plain, np.concatenate([lead, speech16k, tail]), 16_000)
    wav24 = tmp_path / "in24.wav"
    subprocess.run(
        ["sox", str(plain), "-r", "44100", "-b", "24", "-c", "2", str(wav24)],
        check=True,
        timeout=60,
    )

    out = voxfsm("console", str(app), "--input", str(wav24), "--output", str(tmp_path / "o.flac"))

    assert out.returncode == 0, out.stderr
    assert out.stdout.index("you  balance please") < out.stdout.index("ten euros")
    assert sf.info(str(tmp_path / "o.flac")).format == "FLAC"


# ---------------------------------------------------------------- signals


@pytest.mark.voice
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_a_signal_mid_call_writes_what_was_recorded(
    app: Path, tmp_path: Path, sig: signal.Signals
) -> None:
    wav = speechless_wav(tmp_path / "in.wav", seconds=60)
    output = tmp_path / "out.wav"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "voxfsm.io.cli",
            "console",
            "--scripted",
            str(app),
            "--input",
            str(wav),
            "--output",
            str(output),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert proc.stdout is not None
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if "Hello, this is the bank" in line or not line:  # greeted: the call is under way
            break
    time.sleep(1.0)
    proc.send_signal(sig)
    rest, err = proc.communicate(timeout=TIMEOUT)

    assert proc.returncode == 130, err
    assert one_error_line(subprocess.CompletedProcess([], 130, "", err), "console").endswith(
        f"interrupted ({sig.name})"
    )
    assert "Traceback" not in err
    samples, _ = read_audio(output)
    assert np.abs(samples).max() > 1000  # the greeting is in the file
    assert f"wrote {output}" in rest


# ---------------------------------------------------------------- the text console


def test_text_console_with_a_pipe_left_open_quits_cleanly(app: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "voxfsm.io.cli", "console", "--scripted", str(app), "--text"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdin is not None
    proc.stdin.write("/help\nbalance please\n/quit\n")
    proc.stdin.flush()  # and the pipe stays open
    try:
        out, err = proc.communicate(timeout=TIMEOUT)
    finally:
        proc.kill()

    assert proc.returncode == 0, err
    assert "Fatal Python error" not in err
    assert "/quit" in out and "end the conversation" in out  # /help listed the commands
    assert "you  /help" not in out  # a command, not a turn for the LLM
    assert "ten euros" in out


def test_startup_failure_with_a_pipe_left_open_does_not_abort(tmp_path: Path) -> None:
    path = tmp_path / "app.py"
    path.write_text("raise ImportError('half-installed dependency')\n")
    proc = subprocess.Popen(
        [sys.executable, "-m", "voxfsm.io.cli", "console", "--scripted", str(path), "--text"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _, err = proc.communicate(timeout=TIMEOUT)
    finally:
        proc.kill()
    assert proc.returncode == 1
    assert "half-installed dependency" in err and "Fatal Python error" not in err


def test_long_tool_results_end_in_an_ellipsis() -> None:
    from rich.console import Console

    from voxfsm.agents import FunctionCall, FunctionCallOutput
    from voxfsm.io.cli.transcript import TranscriptPrinter

    console = Console(record=True, width=300)
    call = FunctionCall(call_id="c1", name="lookup", arguments="{}")
    TranscriptPrinter(console).tool(
        call, FunctionCallOutput(call_id="c1", name="lookup", output="x" * 500, is_error=False)
    )

    text = console.export_text()
    assert "x" * 99 + "…" in text and "x" * 101 not in text


# ---------------------------------------------------------------- a base install


def test_base_install_shows_the_install_hint_not_a_numpy_traceback(tmp_path: Path) -> None:
    demo = voxfsm("demo", "--scripted", "--out", str(tmp_path / "demo"), block_numpy=True)
    devices = voxfsm("console", "--list-devices", block_numpy=True)
    text = voxfsm(
        "console", "voxfsm.examples.restaurant", "--text", stdin="hello\n", block_numpy=True
    )

    assert demo.returncode == 0, demo.stderr
    assert "pip install 'voxfsm[voice,whisper,piper]'" in demo.stdout  # markup not eaten
    assert "falling back to the text demo" in demo.stdout
    assert json.loads((tmp_path / "demo" / "transcript.json").read_text())["mode"] == "text"
    assert devices.returncode == 1
    assert "pip install 'voxfsm[voice]'" in one_error_line(devices, "console")
    assert text.returncode == 0, text.stderr
    assert "Traceback" not in demo.stderr + text.stderr


@pytest.mark.voice
@pytest.mark.slow
def test_ctrl_c_mid_demo_writes_the_call_so_far(tmp_path: Path) -> None:
    out_dir = tmp_path / "demo"
    proc = subprocess.Popen(
        [sys.executable, "-m", "voxfsm.io.cli", "demo", "--scripted", "--out", str(out_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert proc.stdout is not None
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if line.startswith("caller") or "you " in line or not line:  # the caller has spoken
            break
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=TIMEOUT)

    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    record = json.loads((out_dir / "transcript.json").read_text())
    assert record["complete"] is False
    samples, _ = read_audio(out_dir / "call.wav")
    assert np.abs(samples).max() > 1000  # the greeting at least
