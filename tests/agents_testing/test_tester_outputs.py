"""The ``call-output`` check reads history incrementally, step after step, and still catches
a lost, doubled or orphaned output (the engine never does this on purpose, so the history
here is written by hand)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from voxfsm.agents import FunctionCall, FunctionCallOutput
from voxfsm.agents.testing import WorkflowFailure
from voxfsm.agents.testing._checks import OutputLedger, calls_have_one_output
from voxfsm.fsm.spec import Step


class Conversation:
    """Just what the check reads of a driver: the history, the trace, its ledger."""

    def __init__(self) -> None:
        self.items: list[Any] = []
        self.trace: list[Step] = []
        self.session = SimpleNamespace(history=SimpleNamespace(items=self.items))
        self.output_ledger = OutputLedger()

    def steps(self) -> tuple[Step, ...]:
        return tuple(self.trace)

    def check(self) -> None:
        calls_have_one_output(self)  # type: ignore[arg-type]


def call(call_id: str, name: str = "lookup") -> FunctionCall:
    return FunctionCall(call_id=call_id, name=name)


def output(call_id: str, name: str = "lookup") -> FunctionCallOutput:
    return FunctionCallOutput(call_id=call_id, name=name, output="ok")


def test_a_call_whose_output_never_comes_is_found_at_the_next_check() -> None:
    d = Conversation()
    d.items += [call("a"), output("a")]
    d.check()
    d.items.append(call("b", "book"))
    with pytest.raises(WorkflowFailure, match=r"\['book'\] have no output") as failure:
        d.check()
    assert failure.value.check == "call-output"


def test_a_call_awaiting_a_running_task_may_wait_then_gets_its_output() -> None:
    d = Conversation()
    d.items.append(call("a", "verify"))
    d.trace.append(Step("desk", "verify", "verify_task", object(), kind="task"))
    d.check()  # its output comes once the task returns
    d.trace.append(Step("verify_task", None, "desk", object(), kind="return"))
    with pytest.raises(WorkflowFailure, match="have no output"):
        d.check()  # the task returned, the output did not come
    d.items.append(output("a", "verify"))
    d.check()


def test_a_second_output_for_one_call_is_found() -> None:
    d = Conversation()
    d.items += [call("a"), output("a")]
    d.check()
    d.items.append(output("a"))
    with pytest.raises(WorkflowFailure, match=r"\['lookup'\] got more than one output"):
        d.check()


def test_an_output_before_its_call_is_found() -> None:
    d = Conversation()
    d.items.append(output("x", "pay"))
    with pytest.raises(WorkflowFailure, match="output for 'pay' comes before or without"):
        d.check()


def test_history_rewritten_under_the_ledger_is_read_again() -> None:
    d = Conversation()
    d.items += [call("a"), output("a")]
    d.check()
    d.items[1] = call("b")  # the output replaced: the ledger must not trust what it read
    with pytest.raises(WorkflowFailure, match="have no output"):
        d.check()
