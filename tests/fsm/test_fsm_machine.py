"""The session machine is derived from the frozen workflow graph, joined in O(1), and what a
session does beyond the graph goes to that session's overlay, never into the definition."""

from __future__ import annotations

import asyncio

from _fsm_fakes import FakeSession, FakeState, FakeTool

from voxfsm.fsm.graph import build_graph
from voxfsm.fsm.machine import IDLE, RETURN, MachineDefinition, SessionMachine


class Billing(FakeState):
    terminal = True
    TOOLS = (
        FakeTool("lookup", "Find an invoice."),
        FakeTool("back", "Back to the desk.", lambda: (Desk,)),
    )


class Verify(FakeState):
    TOOLS = (FakeTool("done", "Finish."),)


class Legacy(FakeState):
    """Reached only through a target a static reading inferred."""

    terminal = True


class Desk(FakeState):
    TOOLS = (
        FakeTool("to_billing", "Billing.", lambda: (Billing,)),
        FakeTool("verify", "Check identity.", lambda: (Verify,), kind="task"),
        FakeTool("old_route", "Undeclared in code.", inferred=lambda: (Legacy,)),
    )


def test_definition_has_every_graph_edge_a_stay_per_tool_and_each_task_return() -> None:
    defn = MachineDefinition.from_graph(build_graph(Desk))
    assert defn.transitions == {
        ("to_billing", "desk", "billing"),
        ("verify", "desk", "verify"),
        (RETURN, "verify", "desk"),
        ("old_route", "desk", "legacy"),  # inferred edges are part of the machine
        ("back", "billing", "desk"),
        *((t, s, None) for s, t in [
            ("desk", "to_billing"), ("desk", "verify"), ("desk", "old_route"),
            ("billing", "lookup"), ("billing", "back"), ("verify", "done"),
        ]),
    }  # fmt: skip
    assert defn.states == ["billing", "desk", "legacy", "verify"]


def test_observed_edges_of_a_session_graph_stay_out_of_the_definition() -> None:
    class Stray(FakeState):
        terminal = True

    session = FakeSession().start(Desk()).handoff("to_billing", Stray(), declared=False)
    graph = build_graph(session)
    assert [e.origin for e in graph.edges if e.target == "stray"] == ["observed"]
    defn = MachineDefinition.from_graph(graph)
    assert not any(dest == "stray" for _, _, dest in defn.transitions)


def test_sessions_join_without_registering_with_the_shared_machine() -> None:
    defn = MachineDefinition.from_graph(build_graph(Desk))
    machines = [SessionMachine(defn) for _ in range(1000)]
    # transitions' own model list is scanned on every add/remove: it must stay empty
    assert defn.machine.models == []
    assert {m.state for m in machines} == {IDLE}
    machines[0].set_state("desk")
    assert machines[0].state == "desk" and machines[1].state == IDLE


def test_known_transition_goes_through_transitions_and_unknown_one_to_the_overlay() -> None:
    defn = MachineDefinition.from_graph(build_graph(Desk))
    before = (defn.transitions, sorted(defn.machine.events), defn.states)
    m = SessionMachine(defn)
    m.set_state("desk")
    asyncio.run(m.fire("to_billing", "billing"))
    assert m.state == "billing" and not m.observed
    asyncio.run(m.fire("lookup", None))
    assert m.state == "billing"
    # an undeclared handoff to a state the graph does not have, then a move from there
    asyncio.run(m.fire("lookup", "elsewhere"))
    asyncio.run(m.fire("anything", "desk"))
    assert m.state == "desk"
    assert m.observed == {
        ("lookup", "billing", "elsewhere"): 1,
        ("anything", "elsewhere", "desk"): 1,
    }
    assert (defn.transitions, sorted(defn.machine.events), defn.states) == before
    other = SessionMachine(defn)
    assert not other.observed  # the overlay is per session


def test_restoring_into_a_state_the_graph_lacks_does_not_change_the_definition() -> None:
    defn = MachineDefinition.from_graph(build_graph(Desk))
    m = SessionMachine(defn)
    m.set_state("ghost")
    assert m.state == "ghost" and not defn.has_state("ghost")


def test_commit_takes_moves_synchronously_and_stays_cost_no_trigger() -> None:
    defn = MachineDefinition.from_graph(build_graph(Desk))
    m = SessionMachine(defn)
    m.set_state("desk")
    m.commit("to_billing", "billing")  # nothing hooked: transitions sets the state directly
    assert m.state == "billing" and not m.observed
    fired: list[str] = []
    defn.machine.prepare_event.append(lambda event: fired.append(event.event.name))
    try:
        m.commit("lookup", None)  # a stay cannot change the state: no trigger runs
        assert fired == [] and m.state == "billing"
        m.commit("back", "desk")  # a hooked callback gets the full trigger path
        assert fired == ["back"] and m.state == "desk"
    finally:
        defn.machine.prepare_event.clear()
    m.commit("lookup", None)  # a stay the graph lacks still goes to the overlay
    assert m.observed == {("lookup", "desk", None): 1}
