"""Customer service: routing with transition messages, carried context, and transfers back."""

from __future__ import annotations

import pytest
from _examples_helpers import Starter

from voxfsm.agents import ChatMessage, FunctionCall, mock_tools
from voxfsm.agents.llm import call, reply
from voxfsm.examples.customer_service import (
    GREET_BILLING,
    Billing,
    CustomerData,
    CustomerService,
    TechSupport,
)


def _texts(agent: object) -> list[str]:
    return [i.text_content for i in agent.chat_ctx.items if isinstance(i, ChatMessage)]  # type: ignore[attr-defined]


async def test_name_then_billing_with_the_conversation_carried(start: Starter) -> None:
    script = [
        ("I'm Alex Morgan", call("record_name", name="Alex Morgan")),
        ("Recorded the caller's name: Alex Morgan.", reply("Thanks Alex, how can I help?")),
        ("question about my bill", call("transfer_to_billing")),
        ("Transferring Alex to billing.", reply("Putting you through to billing.")),
        (GREET_BILLING, reply("Billing here, Alex.")),
        ("how much do I owe", call("check_balance")),
        ("Balance due: $42.50 by 1 December.", reply("You owe $42.50.")),
    ]
    data = CustomerData()
    session = await start(CustomerService(), script, data)

    result = await session.run(user_input="I'm Alex Morgan")
    result.expect.next_event().is_function_call(
        name="record_name", arguments={"name": "Alex Morgan"}
    )
    result.expect.next_event().is_function_call_output(
        output="Recorded the caller's name: Alex Morgan.", is_error=False
    )
    result.expect.next_event().is_message(role="assistant")
    result.expect.no_more_events()
    assert data.name == "Alex Morgan"

    result = await session.run(user_input="question about my bill")
    result.expect.next_event().is_function_call(name="transfer_to_billing")
    result.expect.next_event().is_function_call_output(output="Transferring Alex to billing.")
    transition = result.expect.next_event().is_message(role="assistant").event().item
    assert transition.text_content == "Putting you through to billing."  # type: ignore[union-attr]
    result.expect.next_event().is_agent_handoff(new_agent_type=Billing)
    result.expect.next_event().is_message(role="assistant")
    result.expect.no_more_events()

    billing = session.current_agent
    # chat_ctx=self.chat_ctx: billing knows what was said before it, nobody repeats themselves
    assert {"I'm Alex Morgan", "question about my bill"} <= set(_texts(billing))
    # ...with the calls of tools it has too (record_name), not those of tools it lacks
    calls = [i.name for i in billing.chat_ctx.items if isinstance(i, FunctionCall)]
    assert calls == ["record_name"]

    result = await session.run(user_input="how much do I owe")
    result.expect.next_event().is_function_call(name="check_balance")
    result.expect.next_event().is_function_call_output(output="Balance due: $42.50 by 1 December.")
    result.expect.next_event().is_message(role="assistant")
    result.expect.no_more_events()
    assert all(s.declared for s in session.__fsm_trace__().steps)


async def test_customer_service_routes_to_tech_support(start: Starter) -> None:
    script = [("my router is broken", call("transfer_to_tech_support"))]
    session = await start(CustomerService(), script, CustomerData(name="Alex Morgan"))
    result = await session.run(user_input="my router is broken")
    result.expect.next_event().is_function_call(name="transfer_to_tech_support")
    result.expect.next_event().is_function_call_output(
        output="Transferring Alex to technical support."
    )
    result.expect.next_event().is_agent_handoff(new_agent_type=TechSupport)
    result.expect.no_more_events()  # the default script reply is empty: no messages
    assert "my router is broken" in _texts(session.current_agent)


@pytest.mark.parametrize("cls", [Billing, TechSupport])
async def test_each_specialist_transfers_back_with_the_conversation(
    start: Starter, cls: type
) -> None:
    script = [
        ("anything else?", reply("Nothing else from me.")),
        ("back please", call("transfer_back")),
        ("Transferring back to customer service.", reply("Back to the front desk.")),
    ]
    session = await start(cls(), script, CustomerData())
    await session.run(user_input="anything else?")
    result = await session.run(user_input="back please")
    result.expect.next_event().is_function_call(name="transfer_back")
    result.expect.next_event().is_function_call_output(
        output="Transferring back to customer service."
    )
    result.expect.next_event().is_message(role="assistant")
    result.expect.next_event().is_agent_handoff(new_agent_type=CustomerService)
    result.expect.no_more_events()
    texts = _texts(session.current_agent)
    assert {"anything else?", "Nothing else from me.", "back please"} <= set(texts)
    # the context was copied when the tool ran, before the transition line was said
    assert "Back to the front desk." not in texts


async def test_empty_name_is_refused(start: Starter) -> None:
    data = CustomerData()
    session = await start(CustomerService(), [("hm", call("record_name", name="  "))], data)
    result = await session.run(user_input="hm")
    result.expect.next_event().is_function_call(name="record_name")
    result.expect.next_event().is_function_call_output(
        output="The name is empty; ask the caller for their name.", is_error=True
    )
    assert data.name is None


async def test_a_failing_ticket_system_is_an_internal_error(start: Starter) -> None:
    script = [
        ("open a ticket", call("open_ticket", summary="router broken")),
        ("An internal error occurred", reply("Sorry, our ticket system is down.")),
    ]
    data = CustomerData()
    session = await start(TechSupport(), script, data)
    with mock_tools(TechSupport, {"open_ticket": lambda: RuntimeError("ticket db down")}):
        result = await session.run(user_input="open a ticket")
    result.expect.next_event().is_function_call(name="open_ticket")
    result.expect.next_event().is_function_call_output(
        output="An internal error occurred", is_error=True
    )
    result.expect.next_event().is_message(role="assistant")
    result.expect.no_more_events()
    assert data.tickets == []
    await session.run(user_input="open a ticket")
    assert data.tickets == ["TS-1001"]


async def test_a_caller_who_gave_no_name_is_transferred_too(start: Starter) -> None:
    session = await start(
        CustomerService(), [("bill", call("transfer_to_billing"))], CustomerData()
    )
    result = await session.run(user_input="bill")
    result.expect.contains_function_call_output(output="Transferring the caller to billing.")
    result.expect.contains_agent_handoff(new_agent_type=Billing)
