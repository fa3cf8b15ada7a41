"""The checker finds planted workflow faults and shrinks each to a short conversation."""

from __future__ import annotations

import pytest
from _tester_workflows import (
    Clearer,
    EarlyCheckout,
    Order,
    Porch,
    Sneaky,
    Wiper,
    caller_data,
    new_order,
    paid_means_items,
)

from voxfsm.agents.testing import (
    CallTool,
    Say,
    UpdateAgent,
    WorkflowReport,
    check_workflow,
    replay,
)

pytestmark = pytest.mark.slow


def found(report: WorkflowReport, check: str, max_steps: int = 3) -> None:
    assert report.failure is not None, f"the planted fault was not found:\n{report}"
    assert report.failure.check == check, str(report.failure)
    assert len(report.failure.steps) <= max_steps, str(report.failure)


def test_guard_that_lets_the_handoff_through_early() -> None:
    report = check_workflow(
        EarlyCheckout,
        userdata_factory=new_order,
        invariants=[paid_means_items],
        examples=60,
        steps=12,
        seed=1,
    )
    found(report, "invariant:paid_means_items", max_steps=1)
    assert report.failure is not None
    assert report.failure.steps == (CallTool("pay", {}),)
    assert "paid with an empty cart" in report.failure.message


def test_tool_that_replaces_userdata() -> None:
    report = check_workflow(Wiper, userdata_factory=new_order, examples=60, steps=12, seed=2)
    found(report, "userdata", max_steps=1)
    assert report.failure is not None
    assert report.failure.steps[-1].tool == "start_over"
    assert "replaced" in report.failure.message


def test_tool_that_clears_userdata() -> None:
    report = check_workflow(Clearer, userdata_factory=caller_data, examples=60, steps=12, seed=3)
    found(report, "userdata", max_steps=1)
    assert report.failure is not None
    assert "['caller', 'items']" in report.failure.message


def test_handoff_to_an_undeclared_agent() -> None:
    report = check_workflow(Sneaky, examples=60, steps=12, seed=4)
    found(report, "undeclared-handoff", max_steps=1)
    assert report.failure is not None
    assert report.failure.steps[0].tool == "escalate"
    assert "handoff=Receipt" in report.failure.message


def test_on_enter_that_hands_off_again() -> None:
    report = check_workflow(Porch, examples=60, steps=12, seed=5, max_activations=6)
    found(report, "handoff-loop", max_steps=1)
    assert report.failure is not None
    # shrunk to one step into the loop: the LLM calling go_inside, or the program swapping
    # to a Lobby (which seed finds which depends on the generated choices)
    assert report.failure.steps in ((CallTool("go_inside", {}),), (UpdateAgent("lobby"),))


def test_a_failure_prints_a_conversation_and_a_regression_test_that_fails() -> None:
    report = check_workflow(Wiper, userdata_factory=new_order, examples=60, steps=12, seed=2)
    assert report.failure is not None
    text = report.failure.conversation
    assert "start_over" in text and "== handoff None -> wiper" in text
    code = report.failure.regression_test
    assert "from voxfsm.agents.testing import" in code and "replay(" in code
    assert "userdata_factory=new_order" in code
    namespace: dict[str, object] = {}
    exec(compile(code, "<regression>", "exec"), namespace)
    with pytest.raises(AssertionError, match=r"\[userdata\]"):
        namespace["test_workflow_regression"]()  # type: ignore[operator]


def test_replay_passes_once_the_fault_is_not_triggered() -> None:
    session = replay(
        Wiper, [CallTool("add_item", {"item": "tea"}), Say("thanks")], userdata_factory=new_order
    )
    assert isinstance(session.userdata, Order) and session.userdata.items == ["tea"]
