"""build_graph: declared graphs from classes and instances, observed graphs from sessions."""

from __future__ import annotations

import pytest
from _fsm_fakes import FakeSession, FakeState, FakeTool

from voxfsm.fsm.graph import Edge, WorkflowGraph, build_graph, overlay
from voxfsm.fsm.spec import Unresolved


class Billing(FakeState):
    terminal = True
    SUMMARY = "billing questions"
    TOOLS = (
        FakeTool("lookup_invoice", "Find an invoice."),
        FakeTool("back_to_desk", "Return to the front desk.", lambda: (Desk,)),
    )


class Verify(FakeState):
    TOOLS = (FakeTool("done", "Finish the check."),)


class Support(FakeState):
    TOOLS = (FakeTool("to_billing", "Billing.", lambda: (Billing,)),)


class Desk(FakeState):
    SUMMARY = "front desk"
    TOOLS = (
        FakeTool("to_billing", "Send the caller to billing.", lambda: (Billing,)),
        FakeTool("to_support", "Technical problems.", lambda: (Support, Billing)),
        FakeTool("verify", "Check identity.", lambda: (Verify,), kind="task"),
        FakeTool("hours", "Opening hours."),
    )


class Stray(FakeState):
    """Not declared by anybody."""

    TOOLS = (FakeTool("to_desk", "Desk.", lambda: (Desk,)),)


def edge(g: WorkflowGraph, source: str, tool: str | None, target: str) -> Edge:
    (found,) = [e for e in g.edges if (e.source, e.target, e.tool) == (source, target, tool)]
    return found


def test_declared_graph_from_class_follows_targets_transitively_and_dedupes() -> None:
    g = build_graph(Desk)
    assert g.entry == "desk"
    assert [s.id for s in g.states] == ["desk", "billing", "support", "verify"]
    assert {(e.source, e.tool, e.target) for e in g.edges} == {
        ("desk", "to_billing", "billing"),
        ("desk", "to_support", "support"),
        ("desk", "to_support", "billing"),
        ("desk", "verify", "verify"),
        ("verify", "verify", "desk"),  # the task's return edge
        ("billing", "back_to_desk", "desk"),
        ("support", "to_billing", "billing"),
    }
    assert all(e.declared and e.taken == 0 for e in g.edges)
    assert not g.observed and g.current is None and g.visited == ()
    desk = g.state("desk")
    assert desk.cls is Desk and desk.summary == "front desk" and not desk.terminal
    assert [t.name for t in desk.staying_tools] == ["hours"]
    assert g.state("billing").terminal
    assert edge(g, "desk", "to_billing", "billing").description == "Send the caller to billing."


def test_task_edges_are_call_and_return() -> None:
    g = build_graph(Desk)
    call = edge(g, "desk", "verify", "verify")
    assert call.kind == "task"
    assert g.state("verify").task and not g.state("billing").task


def test_instance_adds_its_own_tools() -> None:
    desk = Desk(FakeTool("escalate", "Escalate.", lambda: (Stray,)))
    g = build_graph(desk)
    assert "stray" in [s.id for s in g.states]
    assert edge(g, "desk", "escalate", "stray").declared
    assert [t.name for t in build_graph(Desk).state("desk").tools] == [
        "to_billing",
        "to_support",
        "verify",
        "hours",
    ]


def test_unresolved_and_undescribable_targets_are_kept_not_raised() -> None:
    class Broken(FakeState):
        TOOLS = (
            FakeTool("to_ghost", "Ghost.", lambda: (Unresolved("Ghost", "NameError: Ghost"),)),
            FakeTool("to_int", "Not a state.", lambda: (int,)),
        )

    g = build_graph(Broken)
    assert [(u.tool, u.name) for u in g.unresolved] == [("to_ghost", "Ghost"), ("to_int", "int")]
    assert "NameError" in g.unresolved[0].error
    assert "__fsm_state__" in g.unresolved[1].error
    # A tool whose only target is broken still means to hand off: not drawn as staying.
    assert g.state("broken").staying_tools == ()


def test_entry_that_is_not_a_state_source_says_what_to_pass() -> None:
    with pytest.raises(TypeError, match="Agent subclass or instance"):
        build_graph(object())


def test_same_id_from_two_classes_is_a_conflict() -> None:
    class Twin(FakeState):
        ID = "billing"

    class Start(FakeState):
        TOOLS = (FakeTool("a", "A.", lambda: (Billing,)), FakeTool("b", "B.", lambda: (Twin,)))

    g = build_graph(Start)
    (conflict,) = g.conflicts
    assert (conflict.id, conflict.kept, conflict.other) == ("billing", Billing, Twin)


def test_include_adds_states_without_edges_from_the_entry() -> None:
    g = build_graph(Billing, include=[Stray])
    assert [s.id for s in g.states][-1] == "stray"
    assert edge(g, "stray", "to_desk", "desk").declared


def test_session_overlay_marks_current_visited_and_counts_taken_edges() -> None:
    desk = Desk()
    s = FakeSession().start(desk)
    s.handoff("to_billing", Billing()).handoff("back_to_desk", desk)
    s.handoff("to_billing", Billing())
    g = build_graph(s)
    assert g.observed and g.entry == "desk" and g.current == "billing"
    assert g.state("billing").current and not g.state("desk").current
    assert set(g.visited) == {"desk", "billing"}
    assert not g.state("support").visited
    assert edge(g, "desk", "to_billing", "billing").taken == 2
    assert edge(g, "billing", "back_to_desk", "desk").taken == 1
    assert edge(g, "desk", "to_support", "support").taken == 0
    assert g.state("desk").visits == 2 and g.state("billing").visits == 2
    assert {(e.source, e.target) for e in g.taken} == {("desk", "billing"), ("billing", "desk")}


def test_undeclared_edge_to_an_unknown_agent_expands_its_declared_handoffs() -> None:
    class Secret(FakeState):
        TOOLS = (FakeTool("to_stray", "Stray.", lambda: (Stray,)),)

    s = FakeSession().start(Billing()).handoff("lookup_invoice", Secret(), declared=False)
    g = build_graph(s)
    sneaky = edge(g, "billing", "lookup_invoice", "secret")
    assert not sneaky.declared and sneaky.taken == 1
    # secret was reached only at run time, yet its own declared handoffs are in the graph
    assert edge(g, "secret", "to_stray", "stray").declared
    assert edge(g, "secret", "to_stray", "stray").taken == 0
    assert g.current == "secret"


def test_programmatic_swap_is_an_edge_with_no_tool() -> None:
    s = FakeSession().start(Desk()).swap(Support())
    g = build_graph(s)
    swap = edge(g, "desk", None, "support")
    assert swap.taken == 1 and swap.tool is None and not swap.declared


def test_task_call_and_return_counts_without_a_new_visit() -> None:
    desk = Desk()
    s = FakeSession().start(desk).task("verify", Verify(), desk).complete("done")
    g = build_graph(s)
    call = edge(g, "desk", "verify", "verify")
    assert (call.taken, call.returned) == (1, 1)
    (back,) = [e for e in g.edges if e.kind == "return"]  # the task's own way back, taken once
    assert (back.source, back.target, back.tool, back.taken) == ("verify", "desk", "verify", 1)
    assert g.state("desk").visits == 1 and g.state("verify").visits == 1
    assert g.current == "desk"


def test_session_without_entry_explains_itself() -> None:
    with pytest.raises(ValueError, match="start the session"):
        build_graph(FakeSession())


def test_graph_is_frozen() -> None:
    g = build_graph(Desk)
    with pytest.raises(AttributeError):
        setattr(g, "entry", "x")  # noqa: B010 - mypy would reject the plain assignment


def test_states_can_be_looked_up_by_id() -> None:
    g = build_graph(Desk)
    assert "billing" in g.states and "nobody" not in g.states
    assert g.states["billing"] is g.state("billing") and g.states[0].id == "desk"
    assert g.states.ids == ("desk", "billing", "support", "verify")
    with pytest.raises(KeyError, match="known: desk, billing"):
        g.states["nobody"]


def test_task_taken_through_a_mixed_tool_becomes_a_task_edge() -> None:
    class Mixed(FakeState):
        TOOLS = (FakeTool("route", "Route.", lambda: (Billing, Verify)),)

    caller = Mixed()
    s = FakeSession().start(caller).task("route", Verify(), caller).complete()
    g = build_graph(s)
    routed = edge(g, "mixed", "route", "verify")
    assert (routed.kind, routed.taken, routed.returned, routed.declared) == ("task", 1, 1, True)
    assert g.state("verify").task
    assert edge(g, "mixed", "route", "billing").kind == "handoff"


def test_merge_graphs_sums_runs_of_the_same_workflow() -> None:
    from voxfsm.fsm.graph import merge_graphs

    one = build_graph(FakeSession().start(Desk()).handoff("to_billing", Billing()))
    two = build_graph(FakeSession().start(Desk()).handoff("to_support", Support()).swap(Billing()))
    g = merge_graphs(build_graph(Desk), one, two)
    assert g.observed and g.entry == "desk"
    assert g.current is None  # the runs ended in different places... or not at all
    assert edge(g, "desk", "to_billing", "billing").taken == 1
    assert edge(g, "desk", "to_support", "support").taken == 1
    assert edge(g, "support", None, "billing").taken == 1
    assert g.state("desk").visits == 2 and g.state("billing").visits == 2
    assert set(g.visited) == {"desk", "billing", "support"}
    assert merge_graphs(one, one).current == "billing"


def test_edges_say_where_they_come_from() -> None:
    class Legacy(FakeState):
        terminal = True

    class Mixed(FakeState):
        TOOLS = (
            FakeTool(
                "both", "Declared and inferred.", lambda: (Billing,), inferred=lambda: (Billing,)
            ),
            FakeTool("guess", "Only inferred.", inferred=lambda: (Legacy,)),
        )

    g = build_graph(Mixed)
    assert edge(g, "mixed", "both", "billing").origin == "declared"  # declared wins, no twin
    assert edge(g, "mixed", "guess", "legacy").origin == "inferred"
    assert g.state("mixed").staying_tools == ()  # an inferred target is a way out
    s = (
        FakeSession()
        .start(Mixed())
        .handoff("both", Billing())
        .handoff("lookup_invoice", Stray(), declared=False)
    )
    observed = build_graph(s)
    assert edge(observed, "billing", "lookup_invoice", "stray").origin == "observed"
    assert {e.origin for e in observed.static_edges} == {"declared", "inferred"}


def test_overlay_adds_a_run_to_a_frozen_graph_without_changing_it() -> None:
    static = build_graph(Desk)
    steps = (
        FakeSession()
        .start(Desk())
        .handoff("to_billing", Billing())
        .swap(Stray())
        .__fsm_trace__()
        .steps
    )
    drawn = overlay(static, steps, swaps=False)
    assert edge(drawn, "desk", "to_billing", "billing").taken == 1
    assert "stray" not in drawn.states  # the swap was left out, and nothing else led there
    assert all(e.taken == 0 for e in static.edges) and not static.observed
    with_swaps = overlay(static, steps)
    assert edge(with_swaps, "billing", None, "stray").origin == "observed"
