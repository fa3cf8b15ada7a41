"""Engine behaviour the property checker found wrong, kept as regression tests."""

from __future__ import annotations

from _tester_workflows import Verifier, new_order

from voxfsm.agents import AgentHandoff
from voxfsm.agents.testing import CallParallel, CallTool, replay


def test_two_parallel_calls_that_each_await_an_agent_task() -> None:
    """Two tools of one step both start an AgentTask.

    Found by ``check_workflow`` (shrunk to this one step), and by ``voxfsm check
    voxfsm.examples.front_desk`` (two ``schedule_appointment`` calls).  The engine pauses
    the caller for the first task, then starts the second task from the already paused
    caller: two tasks are active at once and history records two handoffs from the caller
    (``verifier -> verify`` twice, so the chain breaks).  Like two tools returning agents in
    one step, it should refuse: the second ``await Task()`` raises (its tool gets an error
    output) and only one task runs.
    """
    session = replay(
        Verifier,
        [CallParallel((CallTool("verify", {}), CallTool("verify", {})))],
        userdata_factory=new_order,
    )
    records = [
        (i.old_agent_id, i.new_agent_id)
        for i in session.history.items
        if isinstance(i, AgentHandoff)
    ]
    assert records.count(("verifier", "verify")) == 1
