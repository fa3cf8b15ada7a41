"""``voxfsm check APP``: static findings, generated conversations, exit codes."""

from __future__ import annotations

from pathlib import Path

import pytest

from voxfsm.io.cli import main

GOOD = '''
from voxfsm.agents import Agent, AgentSession, function_tool


class Billing(Agent):
    """Billing."""

    terminal = True

    def __init__(self) -> None:
        super().__init__(instructions="billing")

    @function_tool
    async def invoice(self, number: int) -> str:
        """Look up an invoice."""
        return "paid"


class Desk(Agent):
    """Front desk."""

    def __init__(self) -> None:
        super().__init__(instructions="desk")

    @function_tool
    async def to_billing(self) -> Billing:
        """Send the caller to billing."""
        return Billing()


entry = Desk


def make_session() -> AgentSession:
    return AgentSession(userdata={"caller": "ann"})
'''

SNEAKY = (
    GOOD
    + '''

class Sneaky(Desk):
    """Hands off where it does not say."""

    @function_tool
    async def escalate(self):
        """Escalate."""
        return [Billing][0]()


entry = Sneaky
'''
)


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "app.py"
    path.write_text(text)
    return str(path)


def test_clean_app_exits_0_with_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    app = write(tmp_path, GOOD)
    assert main(["check", app, "--examples", "15", "--steps", "6", "--seed", "1"]) == 0
    out = capsys.readouterr().out
    assert "generated conversations" in out and "transition coverage" in out
    assert "desk --to_billing--> billing" in out
    assert "no problems found" in out


@pytest.mark.slow
def test_undeclared_handoff_exits_1_with_conversation_and_regression_test(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = write(tmp_path, SNEAKY)
    assert main(["check", app, "--examples", "30", "--steps", "8", "--seed", "2"]) == 1
    out = capsys.readouterr().out
    assert "undeclared-handoff" in out  # merged into the graph findings and as the failure
    assert "sneaky --escalate--> billing" in out  # the observed edge is in the coverage table
    assert "smallest failing conversation (1 step(s))" in out
    assert "LLM calls escalate({})" in out
    assert f"replay(\n        load_app({app!r}).entry," in out
    assert f"session_factory=load_app({app!r}).make_session," in out


def test_output_draws_the_taken_transitions(tmp_path: Path) -> None:
    app = write(tmp_path, GOOD)
    out = tmp_path / "coverage.mmd"
    assert (
        main(["check", app, "--examples", "10", "--steps", "5", "--seed", "1", "-o", str(out)]) == 0
    )
    text = out.read_text()
    assert "desk" in text and "billing" in text and "×" in text  # edges carry taken counts


def test_static_only_run_reports_graph_findings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = write(tmp_path, GOOD.replace('"""Look up an invoice."""', ""))
    assert main(["check", app, "--examples", "0"]) == 1
    out = capsys.readouterr().out
    assert "no-description" in out and "generated conversations" not in out


@pytest.mark.parametrize(
    "argv",
    [
        ["check", "no/such/file.py"],
        ["check", "APP_PLACEHOLDER", "--examples", "-1"],
        ["check", "APP_PLACEHOLDER", "--steps", "many"],
    ],
)
def test_usage_errors_exit_2(tmp_path: Path, argv: list[str]) -> None:
    app = write(tmp_path, GOOD)
    argv = [app if a == "APP_PLACEHOLDER" else a for a in argv]
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse rejects a non-integer itself
        code = int(exc.code or 0)
    assert code == 2
