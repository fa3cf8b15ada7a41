"""Ray tier: scenarios as Ray tasks, and a call surviving a SIGKILLed worker.

Everything runs in a network namespace with only loopback, watched by an audit hook in every
Python process (see ``_netns.py``); each test asserts that nothing reached another address.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _netns import ROOT, loopback_only

pytestmark = pytest.mark.ray
HERE = Path(__file__).parent


def test_eval_runs_the_shipped_scenarios_on_an_existing_ray_cluster(tmp_path: Path) -> None:
    # one process keeps a 2-CPU cluster up; `voxfsm eval --address` joins it as a client
    out = tmp_path / "report"
    scenarios = str(ROOT / "examples" / "scenarios")
    run = loopback_only(tmp_path, str(HERE / "_cluster_driver.py"), str(out), scenarios)
    assert run.code == 0, run.output
    assert run.attempts == [], run.attempts
    assert any("ray" in w for w in run.watched[1:]), run.watched  # Ray's processes were watched
    data = json.loads((out / "report.json").read_text())
    assert data["backend"] == "ray" and data["workers"] == 2
    assert data["scenarios"] >= 50 and data["failed"] == []
    workers = {r["worker"] for r in data["results"]}
    assert len(workers) == 2, workers  # both worker processes took scenarios
    assert (out / "report.html").read_text().count("<svg") == len(data["coverage"])


def test_a_call_survives_its_worker_being_killed_mid_turn(tmp_path: Path) -> None:
    run = loopback_only(tmp_path, str(HERE / "_kill_driver.py"), str(tmp_path))
    assert run.code == 0, run.output
    assert run.attempts == [], run.attempts
    result = json.loads((tmp_path / "result.json").read_text())
    assert result["node_ips"] == ["127.0.0.1"]
    assert result["new_pid"] != result["killed_pid"]
    # the slow tool started in the killed worker, then again in the restarted one
    assert result["tool_runs"][0] == str(result["killed_pid"])
    assert result["tool_runs"][-1] == str(result["new_pid"]) and len(result["tool_runs"]) == 2
    # every turn is in the history exactly once, answered in order
    assert result["user_lines"] == ["hello", "please look it up", "billing please"]
    assert result["assistant_lines"].count("You are all paid up.") == 1
    assert [r["seq"] for r in result["replies"]] == [1, 2, 3]
    assert result["replies"][1]["said"] == ["You are all paid up."]
    assert result["replies"][1]["worker_pid"] == result["new_pid"]
    assert result["replies"][2]["agent"] == "billing"
    assert result["seq"] == 3 and result["version"] == 4


def test_check_splits_its_runs_over_local_ray_workers_and_prints_the_shrunk_failure(
    tmp_path: Path,
) -> None:
    run = loopback_only(
        tmp_path,
        "-m",
        "voxfsm.io.cli",
        "check",
        str(HERE / "sloppy_desk.py"),
        "--workers",
        "2",
        "--examples",
        "40",
        "--steps",
        "6",
        "--seed",
        "5",
    )
    assert run.code == 1, run.output
    assert run.attempts == [], run.attempts
    assert "FAILED [undeclared-handoff]" in run.output
    assert "smallest failing conversation (1 step(s))" in run.output
    assert "regression test (paste into a test file)" in run.output
    assert "front --go--> back" in run.output  # the merged coverage names the edge it took
