"""``voxfsm demo`` ends every call with a verdict: complete, not complete, or out of time.

With `--local` the local model decides, and a real model may route a caller somewhere
else or never finish; the demo then says so in one line (exit 1) after writing what was said.
Scripted apps make those outcomes deterministic here; the ``llama`` tier runs the local-model
path itself with the small SmolLM2 model.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from voxfsm.io.cli import main

APP = '''
import asyncio
from voxfsm.agents import Agent, AgentSession, function_tool
from voxfsm.agents.llm import ScriptedLLM, call, reply

class Billing(Agent):
    def __init__(self):
        super().__init__(instructions="You are billing.")

class Desk(Agent):
    def __init__(self):
        super().__init__(instructions="You are the front desk.")

    async def on_enter(self):
        await self.session.generate_reply(instructions="Greet the caller.")

    @function_tool
    async def to_billing(self) -> Billing:
        """Send the caller to billing."""
        return Billing()

    @function_tool
    async def look_up(self) -> str:
        """Look something up (slowly)."""
        await asyncio.sleep(30)
        return "found"

entry = Desk
DEMO_TURNS = ["Hello"]
DEMO_PATH = ["desk", "billing"]

def make_session():
    return AgentSession(llm=ScriptedLLM({
        "Greet the caller.": reply("Front desk, hello."),
        "Hello": reply("Hi! How can I help?"),
        "Please look it up": call("look_up"),
    }))
'''


@pytest.fixture
def app(tmp_path: Path) -> str:
    path = tmp_path / "desk.py"
    path.write_text(APP)
    return str(path)


@pytest.fixture
def slow_app(tmp_path: Path) -> str:
    path = tmp_path / "slow_desk.py"
    path.write_text(APP.replace('DEMO_TURNS = ["Hello"]', 'DEMO_TURNS = ["Please look it up"]'))
    return str(path)


def test_a_call_that_misses_the_demo_path_says_where_it_went(
    app: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    code = main(["demo", app, "--scripted", "--text", "--out", str(out)])
    assert code == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "the call did not complete: the agents went desk, not desk → billing" in err[0]
    data = json.loads((out / "transcript.json").read_text())
    assert data["path"] == ["desk"]  # what was said is written all the same


def test_a_call_that_does_not_finish_in_time_ends_with_one_line(
    slow_app: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    args = ["demo", slow_app, "--scripted", "--text", "--call-timeout", "2", "--out", str(out)]
    assert main(args) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "within 2 s (--call-timeout)" in err[0]
    assert (out / "transcript.json").exists()


def test_scripted_is_said_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--scripted", "--text", "--out", str(tmp_path)]) == 0
    shown = capsys.readouterr().out
    assert "(--scripted was given)" in shown
    assert "call complete: greeter → takeaway → checkout → greeter" in shown


def test_the_scripted_llm_is_the_default_and_local_is_offered(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", "--text", "--out", str(tmp_path)]) == 0
    shown = capsys.readouterr().out
    assert "not a language model (--local for the local model)" in shown
    assert "call complete: greeter → takeaway → checkout → greeter" in shown


def test_scripted_and_local_together_are_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["demo", "--scripted", "--local", "--text", "--out", str(tmp_path)])
    assert exit_.value.code == 2


@pytest.mark.llama
def test_the_local_model_plays_the_call_and_the_demo_gives_a_verdict(tmp_path: Path) -> None:
    """`--local` with a real model: SmolLM2 (135M) stands in for Qwen to keep it cheap;
    it rarely routes right, so the verdict may be either, but it is always one of the two."""
    env = {**os.environ, "VOXFSM_LOCAL_MODEL": "smollm2", "VOXFSM_LLM_THREADS": "2"}
    out = tmp_path / "out"
    run = subprocess.run(
        [sys.executable, "-m", "voxfsm.io.cli", "demo", "--local", "--text", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=900,
        env=env,
    )
    assert "LLM: smollm2 in process" in run.stdout, run.stdout + run.stderr
    data = json.loads((out / "transcript.json").read_text())
    assert data["path"][0] == "greeter"
    if run.returncode == 0:
        assert data["path"] == ["greeter", "takeaway", "checkout", "greeter"]
    else:
        assert run.returncode == 1
        lines = run.stderr.strip().splitlines()
        assert len(lines) == 1 and "the call did not complete" in lines[0], run.stderr
