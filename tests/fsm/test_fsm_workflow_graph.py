"""The workflow graph as real apps write them: tools passed as ``Agent(tools=[...])``,
constructors with arguments, session tools, and the shipped examples, which must all draw
with every tool they have and check clean, with ``graph --check`` and ``check`` agreeing."""

from __future__ import annotations

import importlib
import inspect
import re
import sys
from pathlib import Path
from typing import Any

import pytest

from voxfsm.agents import Agent, AgentSession, function_tool
from voxfsm.agents._spec import shared_transitions
from voxfsm.fsm.checks import check_graph
from voxfsm.fsm.graph import WorkflowGraph, build_graph
from voxfsm.io.cli import main

APPS = Path(__file__).parent / "apps"
LIVEKIT_APP = str(APPS / "livekit_style.py")
EXAMPLES = [
    "voxfsm.examples.customer_service",
    "voxfsm.examples.drive_thru",
    "voxfsm.examples.front_desk",
    "voxfsm.examples.intake",
    "voxfsm.examples.medical_triage",
    "voxfsm.examples.restaurant",
]


def livekit() -> Any:
    sys.path.insert(0, str(APPS))
    try:
        return importlib.import_module("livekit_style")
    finally:
        sys.path.remove(str(APPS))


def tools_of(graph: WorkflowGraph, state: str) -> set[str]:
    return {t.name for t in graph.state(state).tools}


def test_restaurant_constructor_tools_are_in_its_graph() -> None:
    from voxfsm.examples.restaurant import Greeter

    g = build_graph(Greeter)
    for state in ("reservation", "checkout"):
        assert {"update_name", "update_phone"} <= tools_of(g, state)
        staying = {t.name for t in g.state(state).staying_tools}
        assert {"update_name", "update_phone"} <= staying
    assert "update_name" in g.to_dot() and "update_phone" in g.to_mermaid()


def test_livekit_style_tools_are_read_without_building_any_agent(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = livekit()
    built: list[type] = []
    real = Agent.__init__

    def counting(self: Agent, **kwargs: Any) -> None:
        built.append(type(self))
        real(self, **kwargs)

    monkeypatch.setattr(Agent, "__init__", counting)
    g = build_graph(app.Reception)
    assert built == []
    assert g.states.ids == ("reception", "sales", "support", "farewell")
    assert tools_of(g, "reception") == {"record_name", "to_sales", "to_support"}
    assert tools_of(g, "sales") == {"back_to_reception", "goodbye"}  # a module constant
    assert tools_of(g, "support") == {"back_to_reception", "goodbye", "record_name"}
    assert {(e.source, e.tool, e.target) for e in g.edges} == {
        ("reception", "to_sales", "sales"),
        ("reception", "to_support", "support"),
        ("sales", "back_to_reception", "reception"),
        ("sales", "goodbye", "farewell"),
        ("support", "back_to_reception", "reception"),
        ("support", "goodbye", "farewell"),
    }
    assert g.context_types == (app.CallData,)
    assert check_graph(g) == []


def test_a_class_and_its_instance_draw_the_same_node() -> None:
    app = livekit()
    for cls in (app.Reception, app.Support, app.Farewell):
        by_class = build_graph(cls).state(build_graph(cls).entry)
        by_instance = build_graph(cls()).state(by_class.id)
        assert by_class.summary == by_instance.summary != ""
        assert [t.name for t in by_class.tools] == [t.name for t in by_instance.tools]


@pytest.mark.parametrize("module", EXAMPLES)
def test_every_shipped_example_draws_every_tool_its_agents_have(module: str) -> None:
    mod = importlib.import_module(module)
    g = build_graph(mod.entry)
    assert check_graph(g) == []
    dot, mermaid, text = g.to_dot(), g.to_mermaid(), g.to_text()
    for state in g.states:
        init = inspect.signature(state.cls.__init__)
        required = [
            p
            for p in list(init.parameters.values())[1:]
            if p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        ]
        if required:
            continue  # cannot build one to compare with; its class tools are still drawn
        live = {t.name for t in state.cls().tools}
        assert tools_of(g, state.id) == live, state.id
        for name in live:
            assert name in dot and name in mermaid and name in text


def test_session_tools_are_every_agents_tools() -> None:
    @function_tool
    async def transfer_to_human() -> str:
        """Hand the call to a person."""
        return "transferring"

    app = livekit()
    session = AgentSession(tools=[transfer_to_human])
    g = build_graph(app.Reception, shared=shared_transitions(session.tools))
    assert all("transfer_to_human" in tools_of(g, s) for s in g.states.ids)


# ----------------------------------------------------------------------------- the two commands


def graph_findings(
    app: str, capsys: pytest.CaptureFixture[str]
) -> tuple[int, set[tuple[str, str]]]:
    code = main(["graph", app, "--check"])
    out = capsys.readouterr().out
    return code, set(re.findall(r"agent '(\w+)'.*\[([\w-]+)\]$", out, re.MULTILINE))


def check_findings(
    app: str, capsys: pytest.CaptureFixture[str]
) -> tuple[int, set[tuple[str, str]]]:
    code = main(["check", app, "--examples", "4", "--steps", "6", "--seed", "3"])
    out = capsys.readouterr().out
    if "graph: no findings" in out:
        return code, set()
    rows = []
    for line in out.splitlines():  # the findings table: level | agent | tool | finding | code
        cells = [c.strip() for c in line.split("│")[1:-1]]
        if len(cells) == 5 and cells[0] in ("warning", "error"):
            rows.append((cells[1], cells[4]))
    return code, set(rows)


@pytest.mark.slow
@pytest.mark.parametrize("app", [*EXAMPLES, LIVEKIT_APP])
def test_graph_check_and_check_agree(
    app: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    assert graph_findings(app, capsys) == (0, set())
    assert check_findings(app, capsys) == (0, set())


@pytest.mark.slow
def test_a_flawed_livekit_style_app_gets_the_same_findings_from_both(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    source = (APPS / "livekit_style.py").read_text()
    # Farewell loses its end-state marker: a dead end; and a helper agent nobody reaches
    flawed = source.replace("    terminal = True\n", "") + (
        "\n\nclass Archive(Agent):\n"
        "    def __init__(self) -> None:\n"
        '        super().__init__(instructions="old", tools=[goodbye])\n'
    )
    app = tmp_path / "flawed_app.py"
    app.write_text(flawed)
    expected = {("farewell", "dead-end"), ("archive", "unreachable")}
    assert graph_findings(str(app), capsys) == (1, expected)
    assert check_findings(str(app), capsys) == (1, expected)


SNEAKY_APP = '''
from voxfsm.agents import Agent, function_tool


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

    @function_tool
    async def escalate(self):
        """Escalate (hands off without saying so, in a way no reading of its code shows)."""
        return [Billing][0]()


entry = Desk
'''


@pytest.mark.slow
def test_check_output_draws_the_workflow_and_the_undeclared_edge_but_no_synthetic_swaps(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import pydot

    app = tmp_path / "sneaky_app.py"
    app.write_text(SNEAKY_APP)
    out = tmp_path / "run.dot"
    argv = ["check", str(app), "--examples", "30", "--steps", "8", "--seed", "2", "-o", str(out)]
    assert main(argv) == 1
    assert "undeclared" in capsys.readouterr().out
    (dot,) = pydot.graph_from_dot_data(out.read_text())
    labels = {str(e.get("label")).strip('"'): e for e in dot.get_edges()}
    (undeclared,) = [e for lbl, e in labels.items() if lbl.startswith("escalate (undeclared)")]
    assert str(undeclared.get("color")).strip('"') == "#e03131"  # highlighted
    assert (str(undeclared.get_source()), str(undeclared.get_destination())) == (
        '"desk"',
        '"billing"',
    )
    assert any(lbl.startswith("to_billing") for lbl in labels)  # the workflow's own edge
    # the property tester's own update_agent() swaps are no part of the workflow
    assert not [lbl for lbl in labels if lbl.startswith("update_agent()")]


def test_targets_inferred_from_a_tools_code_are_inferred_edges(tmp_path: Path) -> None:
    (tmp_path / "inferred_app.py").write_text(
        SNEAKY_APP.replace("return [Billing][0]()", "return Billing()")
    )
    sys.path.insert(0, str(tmp_path))
    try:
        desk = importlib.import_module("inferred_app").Desk
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("inferred_app", None)
    g = build_graph(desk)
    (edge,) = [e for e in g.edges if e.tool == "escalate"]
    assert (edge.origin, edge.target) == ("inferred", "billing")
    assert "escalate (inferred) → billing" in g.to_text()
    assert check_graph(g) == []
