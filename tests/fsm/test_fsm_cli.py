"""``voxfsm graph`` through ``voxfsm.io.cli.main`` with APP files written to tmp_path."""

from __future__ import annotations

import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from voxfsm.io.cli import main

# A workflow that implements the state protocol by hand, so the CLI is tested on its own.
PROTOCOL_APP = """
from voxfsm.fsm.spec import StateSpec, TransitionSpec


class _Hook:
    def __get__(self, obj, owner):
        return lambda: owner.describe()


class Node:
    ID = ""
    TOOLS = ()
    terminal = False
    __fsm_state__ = _Hook()

    @classmethod
    def describe(cls):
        tools = tuple(TransitionSpec(n, d, tuple(t())) for n, d, t in cls.TOOLS)
        return StateSpec(cls.ID, cls, "", cls.terminal, tools)


class Billing(Node):
    ID = "billing"
    terminal = True
    TOOLS = (("invoice", "Find an invoice.", lambda: ()),)


class Desk(Node):
    ID = "desk"
    TOOLS = (("to_billing", "To billing.", lambda: (Billing,)),)


class Lost(Node):
    ID = "lost"
    TOOLS = (("chat", {desc}, lambda: ()),)


entry = Desk
"""


def write_app(tmp_path: Path, *, desc: str = "'Chat.'", name: str = "flow_app") -> Path:
    path = tmp_path / f"{name}.py"
    path.write_text(PROTOCOL_APP.replace("{desc}", desc), encoding="utf-8")
    return path


def test_terminal_text_when_no_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    app = write_app(tmp_path, name="app_text")
    assert main(["graph", str(app)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("workflow from desk")
    assert "to_billing → billing" in out and "invoice (stays)" in out
    assert "lost" in out  # module agents are included by default
    assert max(map(len, out.splitlines())) <= 80


def test_entry_only(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    app = write_app(tmp_path, name="app_entry_only")
    assert main(["graph", f"{app}:Desk", "--entry-only"]) == 0
    out = capsys.readouterr().out
    assert "billing" in out and "lost" not in out


@pytest.mark.parametrize(
    ("suffix", "check"),
    [
        (".dot", lambda p: p.read_text().startswith("digraph workflow")),
        (".mmd", lambda p: p.read_text().startswith("stateDiagram-v2")),
        (".txt", lambda p: p.read_text().startswith("workflow from desk")),
        (".png", lambda p: p.read_bytes()[:4] == b"\x89PNG"),
    ],
)
def test_output_format_from_suffix(tmp_path: Path, suffix: str, check) -> None:  # type: ignore[no-untyped-def]
    app = write_app(tmp_path, name=f"app_{suffix[1:]}")
    out = tmp_path / f"flow{suffix}"
    assert main(["graph", str(app), "-o", str(out)]) == 0
    assert check(out)


def test_svg_has_every_agent(tmp_path: Path) -> None:
    app = write_app(tmp_path, name="app_svg")
    out = tmp_path / "flow.svg"
    assert main(["graph", str(app), "-o", str(out)]) == 0
    texts = " ".join(t.text or "" for t in ET.parse(out).iter("{http://www.w3.org/2000/svg}text"))
    assert {"desk", "billing", "lost"} <= set(texts.split())


def test_format_flag_prints_mermaid(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    app = write_app(tmp_path, name="app_fmt")
    assert main(["graph", str(app), "-f", "mermaid"]) == 0
    assert capsys.readouterr().out.startswith("stateDiagram-v2")


def test_check_exit_1_and_findings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    app = write_app(tmp_path, desc="None", name="app_check")
    assert main(["graph", str(app), "--check", "-o", str(tmp_path / "x.dot")]) == 1
    out = capsys.readouterr().out
    assert "agent 'lost', tool 'chat'" in out and "[no-description]" in out
    assert "agent 'lost': " in out and "[unreachable]" in out and "[dead-end]" in out
    assert "3 findings" in out


def test_check_exit_0_when_clean(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    app = write_app(tmp_path, name="app_clean")
    assert main(["graph", str(app), "--check", "--entry-only"]) == 0
    assert capsys.readouterr().out.rstrip().endswith("no findings")


def test_usage_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    app = write_app(tmp_path, name="app_usage")
    assert main(["graph", str(app), "-o", str(tmp_path / "flow.jpeg")]) == 2
    assert ".svg" in capsys.readouterr().err
    assert main(["graph", str(tmp_path / "missing.py")]) == 2
    assert main(["graph", f"{app}:Nope"]) == 2
    assert main(["graph", str(app), "-f", "png"]) == 2
    assert "-o FILE" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["graph"])
    assert exc.value.code == 2


def test_entry_that_is_not_an_agent(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "app_bad.py"
    path.write_text(textwrap.dedent("entry = 42\n"), encoding="utf-8")
    assert main(["graph", str(path)]) == 2
    assert "not an Agent" in capsys.readouterr().err
