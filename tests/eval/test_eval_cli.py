"""``voxfsm eval``: the shipped scenarios pass, a planted regression is reported by name."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from voxfsm.io.cli import main

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "examples" / "scenarios"


def test_every_shipped_scenario_passes_and_both_reports_are_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "report"
    assert (
        main(
            [
                "eval",
                ".",
                str(SCENARIOS),
                "--out",
                str(out),
                "--backend",
                "asyncio",
                "--workers",
                "2",
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    data = json.loads((out / "report.json").read_text())
    assert data["scenarios"] >= 50 and data["passed"] == data["scenarios"] and data["failed"] == []
    assert f"{data['scenarios']}/{data['scenarios']} scenarios passed" in printed
    assert set(data["latency"]) >= {"turn", "llm", "llm_first_chunk"}
    assert data["coverage"]["voxfsm.examples.customer_service"]["coverage"] == 1.0
    page = (out / "report.html").read_text()
    assert page.count("<svg") == len(data["coverage"])  # one drawing of the paths per app
    assert "restaurant/takeaway-paid" in page and "Two pizzas and a coffee please." in page
    assert "http" not in page.replace("http://www.w3.org", "")  # self-contained: no links out


def test_a_planted_regression_is_reported_by_scenario_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = (ROOT / "examples" / "restaurant.py").read_text()
    # a copy-paste slip: checkout's "back to takeaway" tool now sends the caller to the greeter
    slip = (
        '"""Send the caller back to takeaway to change the order."""\n'
        "        return reuse(self.session, Takeaway)"
    )
    assert slip in source
    changed = tmp_path / "restaurant_changed.py"
    changed.write_text(
        source.replace(
            slip, slip.replace("reuse(self.session, Takeaway)", "reuse(self.session, Greeter)")
        )
    )
    out = tmp_path / "report"
    code = main(["eval", str(changed), str(SCENARIOS / "restaurant.toml"), "--out", str(out)])
    printed = capsys.readouterr().out
    assert code == 1
    data = json.loads((out / "report.json").read_text())
    assert data["failed"] == ["restaurant/checkout-back-to-takeaway"]
    (failed,) = [r for r in data["results"] if not r["passed"]]
    assert failed["app"] == str(changed)
    assert (
        "path was greeter > takeaway > checkout > greeter, "
        "expected greeter > takeaway > checkout > takeaway" in failed["reasons"]
    )
    assert "restaurant/checkout-back-to-takeaway" in printed and "failed scenarios" in printed
    # the unchanged workflow passes the same file
    assert (
        main(
            [
                "eval",
                "voxfsm.examples.restaurant",
                str(SCENARIOS / "restaurant.toml"),
                "--out",
                str(out),
            ]
        )
        == 0
    )


def test_usage_errors_are_one_line_with_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[[scenario]]\nname = "a"\n')
    assert main(["eval", "voxfsm.examples.restaurant", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("voxfsm eval: ") and "needs either `lines`" in err and "\n" not in err
    nameless = tmp_path / "nameless.toml"
    nameless.write_text('[[scenario]]\nname = "a"\nlines = ["hi"]\n')
    assert main(["eval", ".", str(nameless)]) == 2
    assert "APP is `.` but scenario 'a' names no app" in capsys.readouterr().err
    assert main(["eval", "no.such.module", str(nameless)]) == 2
    assert "cannot import 'no.such.module'" in capsys.readouterr().err


def test_judge_and_caller_llms_from_the_command_line_go_through_the_openai_client(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from voxfsm.agents.llm.testing import ChatCompletionsServer, call, reply

    scenarios = tmp_path / "s.toml"
    scenarios.write_text(
        'app = "voxfsm.examples.restaurant"\n'
        '[[scenario]]\nname = "judged"\nlines = ["Takeaway please."]\n'
        'expect = { judge = "offers the menu" }\n'
        '[[scenario]]\nname = "goal"\ngoal = "order takeaway"\nmax_turns = 3\n'
        'expect = { agents = ["takeaway"] }\n'
    )
    with ChatCompletionsServer() as judge, ChatCompletionsServer() as caller:
        judge.push(call("check_intent", success=False, reason="no menu was offered"))
        caller.push(reply("Takeaway please."), reply("DONE"))
        code = main(
            ["eval", ".", str(scenarios), "--out", str(tmp_path / "r"),
             "--judge-llm", judge.url, "--judge-model", "j",
             "--caller-llm", caller.url, "--caller-model", "c"]
        )  # fmt: skip
        judged_request = judge.chat_requests[0]
    assert code == 1
    data = json.loads((tmp_path / "r" / "report.json").read_text())
    assert data["failed"] == ["judged"]
    (judged,) = [r for r in data["results"] if r["name"] == "judged"]
    assert judged["reasons"] == ["judge, turn 1 ('offers the menu'): no menu was offered"]
    assert judged_request.tool_names == ["check_intent"]
    assert "offers the menu" in judged_request.messages[-1]["content"]
    (goal,) = [r for r in data["results"] if r["name"] == "goal"]
    assert goal["passed"] and goal["turns"] == 1
