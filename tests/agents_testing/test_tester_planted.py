"""Planted bugs: each small app in ``planted/`` hides one hang or bug that ``voxfsm check`` finds.

The hangs are app-level (they stay bugs however good the engine is): a greeting whose tool
waits for a future nobody resolves, an AgentTask nobody completes, greetings that hand off
to each other forever, a blocking ``def`` tool.  Some run the real command line in a
subprocess under a timeout, so a check that hung itself would fail the test, not stall it.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from voxfsm.agents.testing import (
    CallTool,
    WorkflowUsageError,
    check_workflow,
    replay,
)
from voxfsm.io.cli.app import load_app

PLANTED = Path(__file__).parent / "planted"


def voxfsm_check(app: str, *args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "voxfsm.io.cli", "check", app, "--seed", "3", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout)


def planted(name: str) -> str:
    return str(PLANTED / f"{name}.py")


@pytest.mark.slow
def test_a_greeting_whose_tool_never_returns_is_a_deadlock_of_start() -> None:
    started = time.monotonic()
    result = voxfsm_check(planted("greeting_hang"), "--examples", "30", "--steps", "4")
    assert result.returncode == 1, result.stdout + result.stderr
    out = result.stdout
    # hypothesis finds the shortest way in (a turn calling lookup, or the greeting doing so)
    assert "FAILED [deadlock] " in out and "can never return" in out, out
    assert "tool lookup of desk" in out  # what was still running
    assert "replay(" in out  # printed as a regression test too
    assert time.monotonic() - started < 200


@pytest.mark.slow
def test_a_task_nobody_completes_is_a_deadlock_of_run() -> None:
    result = voxfsm_check(planted("task_hang"), "--examples", "40", "--steps", "4")
    assert result.returncode == 1, result.stdout + result.stderr
    out = result.stdout
    assert "FAILED [deadlock] run()" in out, out
    assert "LLM calls verify" in out and "tool check of verify" in out


def test_greetings_that_hand_off_to_each_other_are_a_handoff_loop() -> None:
    report = check_workflow(
        load_app(planted("ping_pong")).entry, examples=40, steps=4, seed=3, step_timeout=5
    )
    assert report.failure is not None, str(report)
    assert report.failure.check == "handoff-loop", str(report.failure)
    # the session's own bound stops it first (or, above that bound, the tester's)
    message = report.failure.message
    assert "max_handoffs_per_turn" in message or "an on_enter keeps handing off" in message
    assert report.failure.steps == ()  # found at start(): no step needed


@pytest.mark.slow
def test_a_blocking_def_tool_is_reported_at_the_step_deadline() -> None:
    started = time.monotonic()
    result = voxfsm_check(
        planted("blocking_tool"), "--examples", "5", "--steps", "2", "--step-timeout", "1"
    )
    assert result.returncode == 1, result.stdout + result.stderr
    out = result.stdout
    assert "FAILED [deadlock] run() did not return within 1 s" in out, out
    assert "tool slow_lookup of desk" in out
    # the sleeping worker thread holds neither the report nor the process exit (30 s sleep)
    assert time.monotonic() - started < 25


def test_update_agent_inside_a_handing_off_tool_is_caught() -> None:
    report = check_workflow(load_app(planted("swap_in_tool")).entry, examples=30, steps=3, seed=3)
    assert report.failure is not None, str(report)
    assert report.failure.check == "conflicting-handoff", str(report.failure)
    assert report.failure.steps == (CallTool("escalate", {}),)


def test_an_undeclared_handoff_fails_the_check() -> None:
    result = voxfsm_check(planted("undeclared"), "--examples", "20", "--steps", "3", timeout=120)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "[undeclared-handoff]" in result.stdout and "escalate" in result.stdout


def test_lost_order_items_break_the_apps_own_invariant() -> None:
    app = load_app(planted("lost_items"))

    def paid_orders_keep_their_items(session: object) -> None:
        data = session.userdata  # type: ignore[attr-defined]
        assert not data["paid"] or data["items"], "an order was paid with nothing in it"

    report = check_workflow(
        app.entry,
        session_factory=app.make_session,
        invariants=[paid_orders_keep_their_items],
        examples=60,
        steps=6,
        seed=3,
    )
    assert report.failure is not None, str(report)
    assert report.failure.check == "invariant:paid_orders_keep_their_items"
    assert [type(s).__name__ for s in report.failure.steps] == ["CallTool"]


def test_a_workflow_needing_userdata_gets_one_usage_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with pytest.raises(WorkflowUsageError, match="make_session"):
        check_workflow(load_app(planted("needs_userdata")).entry, examples=50, steps=5, seed=1)
    tracebacks = [r for r in caplog.records if r.exc_info]
    assert len(tracebacks) <= 1  # stopped at the first, not one per generated step


def test_the_command_line_says_the_same_in_one_line_with_exit_2() -> None:
    result = voxfsm_check(planted("needs_userdata"), "--examples", "50", timeout=120)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "make_session()" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_replay_reports_the_deadlock_of_a_greeting_in_the_same_words() -> None:
    from voxfsm.agents.testing import Start, WorkflowFailure

    app = load_app(planted("greeting_hang"))
    with pytest.raises(WorkflowFailure, match=r"start\(\) can never return"):
        replay(app.entry, [Start((CallTool("lookup", {}),))])


@pytest.mark.slow
def test_the_front_desk_example_passes_voxfsm_check(tmp_path: Path) -> None:
    command = [
        sys.executable,
        "-m",
        "voxfsm.io.cli",
        "check",
        "voxfsm.examples.front_desk",
        "--examples",
        "30",
        "--seed",
        "1",
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no problems found" in result.stdout
    assert not (tmp_path / ".hypothesis").exists()  # no example database in the cwd
