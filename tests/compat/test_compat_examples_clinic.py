"""A clinic desk: profile check in a helper, card payment, and a warm transfer to a human.

Shaped like LiveKit's healthcare example (our own code): a tool first runs a helper that
collects the caller's name and date of birth in a ``TaskGroup`` whose ``on_task_completed``
stops the group early when the caller is already on file; payment goes through
``GetCreditCardTask``; a free-function tool hands the caller to a human with
``WarmTransferTask``.  Nothing declares a handoff target: the graph is read from the code.
"""

from __future__ import annotations

import datetime
import logging
import re
from dataclasses import dataclass, field
from typing import Any

import pytest

from voxfsm.agents import Agent, AgentSession, RunContext
from voxfsm.agents.beta import EndCallTool
from voxfsm.agents.beta.workflows import (
    GetCreditCardTask,
    GetDOBTask,
    GetNameTask,
    TaskCompletedEvent,
    TaskGroup,
    TransferRequest,
    WarmTransferTask,
    set_human_agent,
)
from voxfsm.agents.llm import ScriptedLLM, call, function_tool, reply
from voxfsm.fsm import build_graph, check_graph

PATIENTS = {("Mary Jane", datetime.date(2001, 6, 10)): 120.0}


@dataclass
class Visit:
    patient: str = ""
    balance: float = 0.0
    paid: list[str] = field(default_factory=list)


class OnFile(Exception):
    """The caller is already a patient: stop collecting."""


@function_tool()
async def transfer_to_human(context: RunContext) -> str:
    """The caller asks for a person."""
    done = await WarmTransferTask(
        target_phone_number="+15550100", sip_trunk_id="ST_1", chat_ctx=context.session.history
    )
    return f"transferred to {done.human_agent_identity}"


class Desk(Agent):
    def __init__(self) -> None:
        super().__init__(
            instructions="You are the clinic's front desk.",
            tools=[EndCallTool(end_instructions="say goodbye"), transfer_to_human],
        )
        self._name = ""

    async def _noted(self, event: TaskCompletedEvent) -> None:
        if event.task_id == "name":
            self._name = f"{event.result.first_name} {event.result.last_name}"
        if event.task_id == "dob" and (self._name, event.result.date_of_birth) in PATIENTS:
            raise OnFile()

    async def _identify(self, visit: Visit) -> None:
        group = TaskGroup(chat_ctx=self.chat_ctx, on_task_completed=self._noted)
        group.add(lambda: GetNameTask(last_name=True), id="name", description="their name")
        group.add(lambda: GetDOBTask(), id="dob", description="their date of birth")
        try:
            await group
        except OnFile:
            visit.patient = self._name
            visit.balance = PATIENTS[(self._name, datetime.date(2001, 6, 10))]

    @function_tool()
    async def pay_bill(self, context: RunContext[Visit]) -> str:
        """The caller wants to pay what they owe."""
        await self._identify(context.userdata)
        card = await GetCreditCardTask()
        visit = context.userdata
        visit.paid.append(card.card_number[-4:])
        return f"{visit.patient} paid {visit.balance} with card {card.card_number[-4:]}"


LLM = ScriptedLLM(
    [
        ("I want to pay my bill", call("pay_bill")),
        ("Mary Jane", call("update_name", first_name="Mary", last_name="Jane")),
        ("10 June 2001", call("update_dob", year=2001, month=6, day=10)),
        ("5555 5555 5555 4444", call("update_card_number", card_number="5555555555554444")),
        ("11/31", call("update_expiration_date", expiration_month=11, expiration_year=31)),
        ("321", call("update_security_code", security_code="321")),
        ("Mary Jane on the card", call("update_name", first_name="Mary", last_name="Jane")),
        ("get me a person", call("transfer_to_human")),
        (re.compile("^Brief the human agent"), reply("Mary Jane paid her bill. Take her?")),
        ("bye", call("end_call")),
    ],
    default=reply("Okay."),
)


@pytest.fixture(autouse=True)
def no_human_handler() -> Any:
    yield
    set_human_agent(None)


async def test_known_patient_pays_by_card_then_reaches_a_human(
    caplog: pytest.LogCaptureFixture,
) -> None:
    offered: list[TransferRequest] = []

    async def supervisor(request: TransferRequest) -> str:
        offered.append(request)
        return "dr-jekyll"

    set_human_agent(supervisor)
    caplog.set_level(logging.WARNING, "voxfsm.agents")
    async with AgentSession[Visit](llm=LLM, userdata=Visit()) as sess:
        await sess.start(Desk())
        for line in ("I want to pay my bill", "Mary Jane"):
            await sess.run(user_input=line)
        # the date of birth finds the patient: the group stops, payment starts
        await sess.run(user_input="10 June 2001")
        assert type(sess.current_agent).__name__ == "GetCardNumberTask"
        for line in ("5555 5555 5555 4444", "11/31", "321"):
            await sess.run(user_input=line)
        paid = await sess.run(user_input="Mary Jane on the card")
        paid.expect.contains_function_call_output(output="Mary Jane paid 120.0 with card 4444")
        moved = await sess.run(user_input="get me a person")
        moved.expect.contains_function_call_output(output="transferred to dr-jekyll")
    assert "Caller: Mary Jane on the card" in offered[0].summary
    assert offered[0].sip_call_to == "+15550100"
    assert not [r for r in caplog.records if "does not declare" in r.getMessage()]


def test_the_graph_follows_the_helper_and_the_free_function_tool() -> None:
    graph = build_graph(Desk)
    tasks = {(e.tool, e.target) for e in graph.edges if e.kind == "task"}
    assert {
        ("pay_bill", "task_group"),
        ("pay_bill", "get_name_task"),
        ("pay_bill", "get_dob_task"),
        ("pay_bill", "get_credit_card_task"),
        ("transfer_to_human", "warm_transfer_task"),
    } <= tasks
    assert check_graph(graph) == []
