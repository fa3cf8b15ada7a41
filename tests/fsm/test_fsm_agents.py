"""Graphs of real Agents and real AgentSessions driven by ScriptedLLM."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pydot
import pytest

from voxfsm.agents import Agent, AgentSession, AgentTask, function_tool
from voxfsm.agents.llm import ScriptedLLM, call
from voxfsm.fsm import render as R
from voxfsm.fsm.checks import check_graph
from voxfsm.fsm.graph import WorkflowGraph, build_graph
from voxfsm.io.cli import main

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:pydot.dot_parser")


class Billing(Agent):
    """Billing questions."""

    terminal = True

    def __init__(self) -> None:
        super().__init__(instructions="billing")

    @function_tool
    async def lookup_invoice(self, number: str) -> str:
        """Find an invoice by its number."""
        return "paid"

    @function_tool
    async def back_to_desk(self) -> Desk:
        """Return the caller to the front desk."""
        return Desk()


class Verify(AgentTask[bool]):
    def __init__(self) -> None:
        super().__init__(instructions="verify the caller")

    @function_tool
    async def confirmed(self) -> None:
        """The caller is who they claim to be."""
        self.complete(True)


class Desk(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="front desk")

    @function_tool
    async def to_billing(self) -> Billing:
        """Send the caller to billing."""
        return Billing()

    @function_tool(handoff=Verify)
    async def verify(self) -> str:
        """Check the caller's identity."""
        return "verified" if await Verify() else "not verified"

    @function_tool
    async def sneaky(self):  # type: ignore[no-untyped-def]  # no annotation: declares nothing
        """Goes somewhere it does not declare (in a way its source does not show either)."""
        return [Billing][0]()

    @function_tool
    async def hours(self) -> str:
        """Opening hours."""
        return "9 to 5"


class NeverBuilt(Agent):
    """Drawn from its class alone."""

    def __init__(self) -> None:
        raise AssertionError("the graph must not instantiate agents")

    @function_tool
    async def to_ghost(self) -> Ghost:  # type: ignore[name-defined]  # noqa: F821
        """A handoff to a class that does not exist."""

    @function_tool
    async def mumble(self) -> None:
        return None


class Door(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="door")

    @function_tool
    async def enter(self) -> NeverBuilt:
        """Go in."""
        raise AssertionError("not called")


SCRIPT = ScriptedLLM(
    {
        "check me": call("verify"),
        "it is me": call("confirmed"),
        "billing please": call("to_billing"),
        "back": call("back_to_desk"),
        "sneak": call("sneaky"),
    }
)


async def run_session(*turns: str) -> AgentSession:
    session = AgentSession(llm=SCRIPT)
    await session.start(Desk())
    for text in turns:
        await session.run(user_input=text)
    return session


def edge_taken(g: WorkflowGraph, source: str, tool: str | None, target: str) -> int:
    (e,) = [e for e in g.edges if (e.source, e.tool, e.target) == (source, tool, target)]
    return e.taken


def test_declared_graph_of_real_agents() -> None:
    g = build_graph(Desk)
    assert [s.id for s in g.states] == ["desk", "billing", "verify"]
    assert {(e.source, e.tool, e.target, e.kind) for e in g.edges} == {
        ("desk", "to_billing", "billing", "handoff"),
        ("desk", "verify", "verify", "task"),
        ("verify", "verify", "desk", "return"),
        ("billing", "back_to_desk", "desk", "handoff"),
    }
    assert [t.name for t in g.state("desk").staying_tools] == ["sneaky", "hours"]
    assert g.state("billing").terminal and g.state("verify").task
    assert check_graph(g) == []


def test_classes_are_drawn_without_instantiating_and_broken_targets_are_findings() -> None:
    g = build_graph(Door)
    assert "never_built" in [s.id for s in g.states]
    fs = {(f.code, f.agent, f.tool) for f in check_graph(g)}
    assert fs == {
        ("unresolved-target", "never_built", "to_ghost"),
        ("no-description", "never_built", "mumble"),
    }
    (broken,) = g.unresolved
    assert "Ghost" in broken.error
    assert "? " in R.to_dot(g) and "to_ghost" in g.to_text()


async def test_session_graph_highlights_current_visited_and_taken() -> None:
    session = await run_session("check me", "it is me", "billing please", "back", "billing please")
    g = build_graph(session)
    assert g.current == "billing" == session.current_agent.id
    assert set(g.visited) == {"desk", "verify", "billing"}
    assert edge_taken(g, "desk", "to_billing", "billing") == 2
    assert edge_taken(g, "billing", "back_to_desk", "desk") == 1
    (task,) = [e for e in g.edges if e.kind == "task"]
    assert (task.taken, task.returned) == (1, 1)
    # the subtitle stays the class docstring once the agent ran (stable drawings)
    assert g.state("billing").summary == build_graph(Billing).state("billing").summary
    assert g.state("billing").summary == "Billing questions."
    parsed = pydot.graph_from_dot_data(g.to_dot())
    assert parsed is not None
    (dot,) = parsed
    fills = {
        str(n.get_name()).strip('"'): str(n.get("fillcolor")).strip('"') for n in dot.get_nodes()
    }
    assert fills["billing"] == R.COLORS["current_fill"]
    assert fills["desk"] == fills["verify"] == R.COLORS["visited_fill"]
    labels = {str(e.get("label")).strip('"') for e in dot.get_edges()}
    assert {"to_billing ×2", "back_to_desk ×1", "verify (task) ×1"} <= labels
    assert check_graph(g) == []


async def test_undeclared_handoff_at_run_time_is_a_finding() -> None:
    session = await run_session("sneak")
    g = build_graph(session)
    ((code, agent, tool),) = [(f.code, f.agent, f.tool) for f in check_graph(g)]
    assert (code, agent, tool) == ("undeclared-handoff", "desk", "sneaky")
    assert "sneaky (undeclared) ×1 → billing" in g.to_text()


async def test_update_agent_swap_is_an_edge_without_tool_and_no_finding() -> None:
    session = await run_session("billing please")
    session.update_agent(Desk())
    for _ in range(50):  # the swap's on_exit/on_enter run in the background
        if len(session.__fsm_trace__().steps) >= 2:
            break
        await asyncio.sleep(0.01)
    g = build_graph(session)
    assert edge_taken(g, "billing", None, "desk") == 1
    assert g.current == "desk"
    assert check_graph(g) == []
    assert "update_agent() ×1" in g.to_mermaid()


async def test_session_svg_via_real_dot(tmp_path: Path) -> None:
    session = await run_session("billing please")
    svg = build_graph(session).render(tmp_path / "s.svg").read_text()
    assert all(f">{agent}<" in svg for agent in ("desk", "billing", "verify"))
    assert R.COLORS["current_fill"] in svg


APP = """
from voxfsm.agents import Agent, function_tool


class Base(Agent):
    '''A shared base, not a state of its own.'''


class Billing(Base):
    terminal = True

    def __init__(self):
        super().__init__(instructions="billing")


class Desk(Base):
    def __init__(self):
        super().__init__(instructions="front desk")

    @function_tool
    async def to_billing(self) -> Billing:
        '''Send the caller to billing.'''
        return Billing()


class Orphan(Base):
    def __init__(self):
        super().__init__(instructions="nobody comes here")


def entry():
    return Desk()
"""


def test_cli_with_a_real_agent_app(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    app = tmp_path / "real_agents_app.py"
    app.write_text(APP, encoding="utf-8")
    out = tmp_path / "flow.svg"
    assert main(["graph", str(app), "-o", str(out), "--check"]) == 1
    printed = capsys.readouterr().out
    assert "agent 'orphan'" in printed and "[unreachable]" in printed and "[dead-end]" in printed
    assert "'base'" not in printed
    svg = out.read_text()
    assert all(f">{agent}<" in svg for agent in ("desk", "billing", "orphan"))
    assert main(["graph", f"{app}:Desk", "--entry-only", "--check"]) == 0
    assert "no findings" in capsys.readouterr().out
