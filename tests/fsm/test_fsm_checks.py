"""check_graph: one test per finding, plus the things that must never be findings."""

from __future__ import annotations

from _fsm_fakes import FakeSession, FakeState, FakeTool

from voxfsm.fsm.checks import Finding, check_graph
from voxfsm.fsm.graph import build_graph
from voxfsm.fsm.spec import Unresolved


class Done(FakeState):
    terminal = True
    TOOLS = (FakeTool("recap", "Summarise the call."),)


class Verify(FakeState):
    TOOLS = (FakeTool("ok", "Identity confirmed."),)


class Desk(FakeState):
    TOOLS = (
        FakeTool("finish", "End the call.", lambda: (Done,)),
        FakeTool("verify", "Check identity.", lambda: (Verify,), kind="task"),
    )


def codes(findings: list[Finding]) -> list[str]:
    return [f.code for f in findings]


def test_clean_workflow_has_no_findings() -> None:
    # terminal end state and an AgentTask without own handoffs are both fine
    assert check_graph(build_graph(Desk)) == []


def test_dead_end_that_is_not_terminal() -> None:
    class Trap(FakeState):
        TOOLS = (FakeTool("chat", "Small talk."),)

    class Start(FakeState):
        TOOLS = (FakeTool("to_trap", "Trap.", lambda: (Trap,)),)

    (f,) = check_graph(build_graph(Start))
    assert (f.level, f.code, f.agent, f.tool) == ("warning", "dead-end", "trap", None)
    assert "'trap'" in str(f) and "terminal = True" in str(f) and "Trap" in f.message


def test_unreachable_agent_from_include() -> None:
    class Orphan(FakeState):
        terminal = True

    (f,) = check_graph(build_graph(Desk, include=[Orphan]))
    assert (f.code, f.agent) == ("unreachable", "orphan")
    assert "'orphan'" in str(f) and "'desk'" in f.message and "handoff=Orphan" in f.message


def test_tool_without_description_names_agent_and_tool() -> None:
    class Quiet(FakeState):
        terminal = True
        TOOLS = (FakeTool("mumble", None), FakeTool("blank", "   "), FakeTool("fine", "Fine."))

    fs = check_graph(build_graph(Quiet))
    assert codes(fs) == ["no-description", "no-description"]
    assert [f.tool for f in fs] == ["mumble", "blank"]
    assert "agent 'quiet', tool 'mumble'" in str(fs[0])
    assert "docstring" in fs[0].message


def test_unresolved_target_is_an_error() -> None:
    class Broken(FakeState):
        terminal = True
        TOOLS = (FakeTool("to_ghost", "Ghost.", lambda: (Unresolved("Ghost", "NameError: x"),)),)

    (f,) = check_graph(build_graph(Broken))
    assert (f.level, f.code, f.agent, f.tool) == (
        "error",
        "unresolved-target",
        "broken",
        "to_ghost",
    )
    assert "'Ghost'" in str(f) and "NameError" in str(f) and "handoff=" in f.message


def test_undeclared_handoff_observed_at_run_time() -> None:
    s = (
        FakeSession()
        .start(Desk())
        .handoff("finish", Done())
        .handoff("recap", Verify(), declared=False)
    )
    fs = check_graph(build_graph(s))
    (f,) = fs
    assert (f.level, f.code, f.agent, f.tool) == ("error", "undeclared-handoff", "done", "recap")
    assert "'verify'" in f.message and "handoff=Verify" in f.message and "-> Verify" in f.message


def test_agent_reached_only_at_run_time_is_checked_through_its_own_handoffs() -> None:
    class Hidden(FakeState):
        TOOLS = (FakeTool("loop", "Loop.", lambda: (Trap,)),)

    class Trap(FakeState):
        TOOLS = (FakeTool("x", "X."),)

    s = FakeSession().start(Desk()).handoff("finish", Hidden(), declared=False)
    fs = check_graph(build_graph(s))
    assert sorted((f.code, f.agent) for f in fs) == [
        ("dead-end", "trap"),
        ("undeclared-handoff", "desk"),
    ]


def test_programmatic_swap_is_never_a_finding() -> None:
    class Elsewhere(FakeState):
        terminal = True

    s = FakeSession().start(Desk()).swap(Elsewhere())
    g = build_graph(s)
    assert any(e.tool is None for e in g.edges)
    assert check_graph(g) == []


def test_duplicate_id_from_two_classes() -> None:
    class Twin(FakeState):
        ID = "done"
        terminal = True

    class Start(FakeState):
        TOOLS = (FakeTool("a", "A.", lambda: (Done,)), FakeTool("b", "B.", lambda: (Twin,)))

    (f,) = check_graph(build_graph(Start))
    assert (f.level, f.code, f.agent) == ("error", "duplicate-id", "done")
    assert "Twin" in f.message and "Done" in f.message


def test_errors_come_first() -> None:
    class Mixed(FakeState):
        TOOLS = (
            FakeTool("mumble", None),
            FakeTool("to_ghost", "Ghost.", lambda: (Unresolved("Ghost", "NameError"),)),
        )

    fs = check_graph(build_graph(Mixed))
    assert [f.level for f in fs] == ["error", "warning"]
    assert codes(fs) == ["unresolved-target", "no-description"]


def test_a_swap_out_of_a_dead_end_does_not_hide_it() -> None:
    class Trap(FakeState):
        TOOLS = (FakeTool("chat", "Small talk."),)

    class Start(FakeState):
        TOOLS = (FakeTool("go", "Go.", lambda: (Trap,)),)

    static = check_graph(build_graph(Start))
    run = FakeSession().start(Start()).handoff("go", Trap()).swap(Start())
    after = check_graph(build_graph(run))
    assert codes(static) == codes(after) == ["dead-end"]


def test_inferred_handoffs_count_as_ways_out_and_are_never_findings() -> None:
    class Legacy(FakeState):
        terminal = True

    class Old(FakeState):
        TOOLS = (FakeTool("route", "Route.", inferred=lambda: (Legacy,)),)

    graph = build_graph(Old)
    (edge,) = graph.edges
    assert (edge.origin, edge.declared) == ("inferred", True)
    run = FakeSession().start(Old()).handoff("route", Legacy())
    assert check_graph(graph) == check_graph(build_graph(run)) == []
