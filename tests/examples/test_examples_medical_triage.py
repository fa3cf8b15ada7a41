"""Medical triage: every agent reaches the others, carrying the last turns of the one before."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from _examples_helpers import Starter

from voxfsm.agents import Agent, ChatMessage, mock_tools
from voxfsm.agents.llm import call, reply
from voxfsm.examples.medical_triage import (
    GREET_BILLING,
    GREET_SUPPORT,
    GREET_TRIAGE_BACK,
    Billing,
    PatientData,
    Support,
    Triage,
)


def _texts(agent: Agent) -> list[str]:
    return [i.text_content for i in agent.chat_ctx.items if isinstance(i, ChatMessage)]


async def test_triage_announces_the_transfer_and_support_knows_why(start: Starter) -> None:
    script = [
        ("I need a refill", call("note_reason", reason="prescription refill")),
        ("Noted: prescription refill.", call("transfer_to_support")),
        (GREET_SUPPORT, reply("Support here, which medication?")),
    ]
    data = PatientData()
    triage = Triage()
    session = await start(triage, script, data)
    result = await session.run(user_input="I need a refill")
    result.expect.next_event().is_function_call(name="note_reason")
    result.expect.next_event().is_function_call_output(output="Noted: prescription refill.")
    result.expect.next_event().is_function_call(name="transfer_to_support")
    said = result.expect.next_event().is_message(role="assistant").event().item
    assert said.text_content == "I'll transfer you to patient support now."  # type: ignore[union-attr]
    result.expect.next_event().is_function_call_output(output="", is_error=False)
    result.expect.next_event().is_agent_handoff(new_agent_type=Support)
    result.expect.next_event().is_message(role="assistant")
    result.expect.no_more_events()

    support = session.current_agent
    texts = _texts(support)
    assert "I need a refill" in texts
    assert "I'll transfer you to patient support now." in texts
    briefing = [t for t in texts if t.startswith("You are patient support")]
    assert len(briefing) == 1 and "prescription refill" in briefing[0]
    # the greeting was generated with that context, the greeting instruction last
    request = session.llm.requests[-1]
    assert request.last_text == GREET_SUPPORT and request.tools == ()
    assert any(getattr(i, "text_content", "") == "I need a refill" for i in request.chat_ctx.items)


async def test_context_travels_round_the_triangle_and_triage_is_reused(start: Starter) -> None:
    script = [
        ("refill please", call("transfer_to_support")),
        ("lisinopril", call("request_refill", medication="lisinopril 10 mg")),
        ("what's my copay", call("transfer_to_billing")),
        (GREET_BILLING, reply("Billing here.")),
        ("not sure who I need", call("transfer_to_triage")),
        (GREET_TRIAGE_BACK, reply("Triage again.")),
    ]
    data = PatientData()
    triage = Triage()
    session = await start(triage, script, data)
    await session.run(user_input="refill please")
    await session.run(user_input="lisinopril")
    result = await session.run(user_input="what's my copay")
    result.expect.contains_agent_handoff(new_agent_type=Billing)
    billing = session.current_agent
    # billing knows about the refill from support's recent turns, and about the copay question
    assert {"lisinopril", "what's my copay"} <= set(_texts(billing))
    assert "lisinopril 10 mg" in next(t for t in _texts(billing) if t.startswith("You are billing"))

    result = await session.run(user_input="not sure who I need")
    result.expect.contains_agent_handoff(new_agent_type=Triage)
    assert session.current_agent is triage  # the same triage, with its own earlier turns
    texts = _texts(triage)
    assert texts.index("refill please") < texts.index("not sure who I need")
    assert "Triage again." in texts
    # a re-entry refreshes the briefing instead of adding another one
    assert len([t for t in texts if t.startswith("You are triage")]) == 1
    assert all(s.declared for s in session.__fsm_trace__().steps)


async def test_only_the_last_few_items_are_carried_over(start: Starter) -> None:
    script = [("to billing", call("transfer_to_billing"))]
    session = await start(Support(), script, PatientData())
    for n in range(8):
        await session.run(user_input=f"turn {n}")
    await session.run(user_input="to billing")
    carried = [t for t in _texts(session.current_agent) if not t.startswith("You are billing")]
    # six messages: four earlier turns, the request, and the announcement
    assert carried[1:] == [
        "turn 4",
        "turn 5",
        "turn 6",
        "turn 7",
        "to billing",
        "I'll transfer you to billing now.",
    ]


TRANSFERS = [
    (Triage, "transfer_to_support", Support),
    (Triage, "transfer_to_billing", Billing),
    (Support, "transfer_to_triage", Triage),
    (Support, "transfer_to_billing", Billing),
    (Billing, "transfer_to_triage", Triage),
    (Billing, "transfer_to_support", Support),
]


@pytest.mark.parametrize(("source", "tool", "target"), TRANSFERS)
async def test_every_agent_reaches_the_other_two(
    start: Starter, source: Callable[[], Agent], tool: str, target: type[Agent]
) -> None:
    session = await start(source(), [("go", call(tool))], PatientData())
    result = await session.run(user_input="go")
    result.expect.next_event().is_function_call(name=tool)
    result.expect.next_event().is_message(role="assistant")
    result.expect.next_event().is_function_call_output(output="")
    result.expect.next_event().is_agent_handoff(new_agent_type=target)
    (step,) = session.__fsm_trace__().steps
    assert step.declared and step.trigger == tool


async def test_a_refill_without_a_medication_is_refused(start: Starter) -> None:
    data = PatientData()
    session = await start(Support(), [("refill", call("request_refill", medication=" "))], data)
    result = await session.run(user_input="refill")
    result.expect.next_event().is_function_call(name="request_refill")
    result.expect.next_event().is_function_call_output(
        output="Which medication? Ask the caller for its name and strength.", is_error=True
    )
    assert data.refills == [] and isinstance(session.current_agent, Support)


async def test_a_failing_pharmacy_is_an_internal_error(start: Starter) -> None:
    script = [
        ("refill", call("request_refill", medication="metformin")),
        ("An internal error occurred", reply("Sorry, the pharmacy system is down.")),
    ]
    data = PatientData()
    session = await start(Support(), script, data)
    with mock_tools(Support, {"request_refill": lambda: RuntimeError("pharmacy offline")}):
        result = await session.run(user_input="refill")
    result.expect.next_event().is_function_call(name="request_refill")
    result.expect.next_event().is_function_call_output(
        output="An internal error occurred", is_error=True
    )
    result.expect.next_event().is_message(role="assistant")
    result.expect.no_more_events()
    assert data.refills == []
    await session.run(user_input="refill")
    assert data.refills == ["metformin"]
