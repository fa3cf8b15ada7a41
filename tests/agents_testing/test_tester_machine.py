"""The generated state machine on a correct workflow: invariants hold, rules behave, coverage."""

from __future__ import annotations

import subprocess
import sys

import pytest
from _tester_workflows import Billing, Desk, Support, helpdesk_data
from hypothesis import settings

from voxfsm.agents import AgentHandoff, FunctionCallOutput
from voxfsm.agents.testing import (
    CallChain,
    CallParallel,
    CallTool,
    Coverage,
    Say,
    SayDuring,
    TaskRoundTrip,
    ToolRaises,
    UpdateAgent,
    check_workflow,
    declared_edges,
    replay,
    workflow_state_machine,
)
from voxfsm.fsm.graph import build_graph

Helpdesk = workflow_state_machine(Desk, userdata_factory=helpdesk_data, max_examples=15, steps=12)
TestHelpdesk = Helpdesk.TestCase
TestHelpdesk.settings = settings(TestHelpdesk.settings, max_examples=15, stateful_step_count=12)


def outputs(session: object) -> list[FunctionCallOutput]:
    return [i for i in session.history.items if isinstance(i, FunctionCallOutput)]  # type: ignore[attr-defined]


def handoffs(session: object) -> list[tuple[str | None, str]]:
    return [
        (i.old_agent_id, i.new_agent_id)
        for i in session.history.items  # type: ignore[attr-defined]
        if isinstance(i, AgentHandoff)
    ]


def test_machine_class_is_a_rule_based_state_machine_with_workflow_rules() -> None:
    names = {n for n in dir(Helpdesk) if hasattr(getattr(Helpdesk, n), "hypothesis_stateful_rule")}
    from voxfsm.agents.testing import RULES

    assert names == set(RULES)
    assert Helpdesk.config.classes == {"desk": Desk, "billing": Billing, "support": Support}


def test_refused_calls_give_errors_and_change_nothing() -> None:
    session = replay(
        Desk,
        [
            CallTool("no_such_tool", {}),
            CallTool("balance", {}),  # billing's tool, called on the desk
            CallTool("to_billing", {"account": {"nested": 1}}),  # wrong type
            CallTool("to_billing", "{not json"),
            CallTool("hours", {"voxfsm_unexpected": 1}),
        ],
        userdata_factory=helpdesk_data,
    )
    outs = outputs(session)
    assert [o.is_error for o in outs] == [True] * 5
    assert "available tools" in outs[0].output and "`hours`" in outs[0].output
    assert handoffs(session) == [(None, "desk")]


def test_every_kind_of_step_runs_through_the_real_session() -> None:
    session = replay(
        Desk,
        [
            Say("hello"),
            ToolRaises("hours", {}, "ToolError"),
            ToolRaises("hours", {}, "StopResponse"),
            ToolRaises("hours", {}, "RuntimeError"),
            CallParallel((CallTool("to_billing", {"account": "a"}), CallTool("to_support", {}))),
            TaskRoundTrip("hours", {}),
            TaskRoundTrip("hours", {}, fail=True),
            CallTool("to_billing", {"account": "a1"}),
            CallTool("back", {}),
            UpdateAgent("billing"),
            UpdateAgent("desk", reuse=True),
            CallTool("to_support", {"urgent": True}),
            CallTool("ticket", {"summary": "printer", "priority": 1}),
        ],
        userdata_factory=helpdesk_data,
    )
    outs = [(o.name, o.output, o.is_error) for o in outputs(session)]
    assert outs[:3] == [
        ("hours", "injected tool error", True),
        ("hours", "", False),
        ("hours", "An internal error occurred", True),
    ]
    assert outs[3][2] and outs[4][2]  # both handoffs in one step are refused
    assert ("hours", "probe done", False) in outs and ("hours", "probe failed", True) in outs
    assert handoffs(session) == [
        (None, "desk"),
        ("desk", "voxfsm_probe_task"),
        ("voxfsm_probe_task", "desk"),
        ("desk", "voxfsm_probe_task"),
        ("voxfsm_probe_task", "desk"),
        ("desk", "billing"),
        ("billing", "desk"),
        ("desk", "billing"),
        ("billing", "desk"),
        ("desk", "support"),
    ]
    assert session.userdata["tickets"] == ["printer"]


def test_user_invariants_run_after_every_step() -> None:
    seen: list[int] = []

    def counts(session: object) -> bool:
        seen.append(len(session.history.items))  # type: ignore[attr-defined]
        return True

    replay(Desk, [Say("a"), Say("b")], userdata_factory=helpdesk_data, invariants=[counts])
    assert len(seen) == 3 and seen == sorted(seen)

    def never(session: object) -> bool:
        return False

    with pytest.raises(AssertionError, match=r"\[invariant:never\]"):
        replay(Desk, [], userdata_factory=helpdesk_data, invariants=[never])


@pytest.mark.slow
def test_a_correct_workflow_passes_with_full_transition_coverage() -> None:
    report = check_workflow(
        Desk, userdata_factory=helpdesk_data, examples=60, steps=15, seed=7, progress=True
    )
    report.raise_on_failure()
    assert report.examples >= 60 and report.steps > 300
    report.coverage.require(0.8)  # generated, so not every run takes every edge
    cov = report.coverage
    assert cov.declared == declared_edges(build_graph(Desk))
    assert ("desk", "to_billing", "billing") in cov.covered
    assert ("desk", "to_support", "support") in cov.covered
    assert cov.guard_outcomes("desk", "to_billing") >= {"handoff", "error"}
    assert cov.extra == []


def test_coverage_threshold_names_the_untaken_edges() -> None:
    cov = Coverage(declared=frozenset({("a", "go", "b"), ("a", "stay", None)}))
    cov.record_call("a", "stay", "stay")
    assert cov.ratio == 0.5
    cov.require(0.5)
    with pytest.raises(AssertionError, match="a --go--> b"):
        cov.require(0.9)


def test_coverage_draws_on_the_graph_as_taken_edges() -> None:
    report = check_workflow(Desk, userdata_factory=helpdesk_data, examples=10, steps=8, seed=3)
    graph = build_graph(report.coverage)
    taken = {(e.source, e.tool, e.target): e.taken for e in graph.edges}
    assert any(n > 0 for n in taken.values())
    assert "voxfsm_probe_task" not in {s.id for s in graph.states}
    assert "penwidth" in graph.to_dot() or "×" in graph.to_dot()


def test_importing_the_testing_module_loads_no_hypothesis() -> None:
    code = (
        "import sys, voxfsm.agents.testing; "
        "assert not [m for m in sys.modules if m.startswith('hypothesis')], sys.modules.keys()"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_instrumentation_is_removed_afterwards() -> None:
    from voxfsm.agents import Agent

    init = Agent.__init__
    hours = Desk.hours.fn
    session = replay(Desk, [CallTool("hours", {})], userdata_factory=helpdesk_data)
    assert Agent.__init__ is init and Desk.hours.fn is hours
    agent = session.current_agent
    assert "on_enter" not in vars(agent) and "on_exit" not in vars(agent)


def test_excluded_rules_are_not_generated() -> None:
    from voxfsm.agents.testing import RULES

    machine = workflow_state_machine(Desk, exclude=("two_calls", "update_agent"))
    names = {n for n in dir(machine) if hasattr(getattr(machine, n), "hypothesis_stateful_rule")}
    assert names == set(RULES) - {"two_calls", "update_agent"}
    with pytest.raises(ValueError, match="call_tool"):
        workflow_state_machine(Desk, exclude=("teleport",))


def test_a_task_round_trip_then_a_handoff_on_the_drivers_own_loop() -> None:
    session = replay(
        Desk,
        [TaskRoundTrip("hours", {}), CallTool("to_billing", {"account": "x"})],
        userdata_factory=helpdesk_data,
    )
    assert handoffs(session)[-1] == ("desk", "billing")


def test_users_can_subclass_the_machine_with_their_own_rules() -> None:
    from hypothesis.stateful import rule, run_state_machine_as_test

    asked: list[str] = []

    class HelpdeskPlus(Helpdesk):  # type: ignore[misc, valid-type]
        @rule()
        def ask_for_hours(self) -> None:
            self.perform(CallTool("hours", {}))
            asked.append(self.driver.current.id)

    run_state_machine_as_test(
        HelpdeskPlus, settings=settings(max_examples=20, stateful_step_count=6, deadline=None)
    )
    assert asked  # the extra rule ran, through the same checked session


def test_tool_rounds_stop_at_max_tool_steps() -> None:
    session = replay(
        Desk,
        [CallChain(tuple(CallTool("hours", {}) for _ in range(5)))],
        userdata_factory=helpdesk_data,
    )
    ran = [o for o in outputs(session) if o.name == "hours"]
    assert len(ran) == session.max_tool_steps == 3


def test_a_line_said_during_a_handoff_goes_to_the_new_agent() -> None:
    session = replay(
        Desk,
        [SayDuring(CallTool("to_billing", {"account": "a"}), "still there?")],
        userdata_factory=helpdesk_data,
    )
    billing = session.current_agent
    assert billing.id == "billing"
    assert any(getattr(i, "text_content", "") == "#1 still there?" for i in billing.chat_ctx.items)
