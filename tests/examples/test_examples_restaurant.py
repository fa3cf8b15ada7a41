"""Restaurant: routing, the takeaway → checkout path, every guard, and a failing tool."""

from __future__ import annotations

import re

import pytest
from _examples_helpers import Starter

from voxfsm.agents import ChatMessage, mock_tools
from voxfsm.agents.llm import call, reply
from voxfsm.examples import _voices
from voxfsm.examples.restaurant import (
    GREET_CHECKOUT,
    GREET_PAID,
    GREET_TAKEAWAY,
    Card,
    Checkout,
    Greeter,
    Reservation,
    RestaurantData,
    Takeaway,
)

CARD = {"number": "4111 1111 1111 1111", "expiry": "12/28", "cvv": "123"}


async def test_takeaway_order_through_checkout_back_to_greeter(start: Starter) -> None:
    script = [
        ("takeaway please", call("to_takeaway")),
        ("Transferring to takeaway.", reply("One moment, takeaway will help you.")),
        (GREET_TAKEAWAY, reply("What would you like?")),
        ("a pizza", call("add_to_order", item="pizza")),
        (re.compile(r"^Added 1 pizza"), reply("One pizza. Anything else?")),
        ("that's all", call("to_checkout")),
        (re.compile(r"^Order: 1 pizza, total \$10\.00"), reply("Off to checkout.")),
        (GREET_CHECKOUT, reply("That's $10. Your card, please.")),
        ("my card", call("update_credit_card", **CARD)),
        ("Saved the card ending 1111.", reply("Got it. Shall I charge it?")),
        ("yes", call("confirm_checkout")),
        (re.compile(r"^Paid \$10\.00"), reply("Paid, thank you.")),
        (GREET_PAID, reply("Anything else today?")),
    ]
    data = RestaurantData()
    greeter = Greeter()
    session = await start(greeter, script, data)

    result = await session.run(user_input="takeaway please")
    result.expect.next_event().is_function_call(name="to_takeaway")
    result.expect.next_event().is_function_call_output(
        output="Transferring to takeaway.", is_error=False
    )
    result.expect.next_event().is_message(role="assistant")  # the greeter's transition line
    result.expect.next_event().is_agent_handoff(new_agent_type=Takeaway)
    result.expect.next_event().is_message(role="assistant")  # takeaway greets
    result.expect.no_more_events()

    result = await session.run(user_input="a pizza")
    result.expect.next_event().is_function_call(name="add_to_order", arguments={"item": "pizza"})
    result.expect.next_event().is_function_call_output(is_error=False)
    result.expect.next_event().is_message(role="assistant")
    result.expect.no_more_events()
    assert data.order == {"pizza": 1}

    result = await session.run(user_input="that's all")
    result.expect.next_event().is_function_call(name="to_checkout")
    result.expect.next_event().is_function_call_output(is_error=False)
    result.expect.next_event().is_message(role="assistant")
    result.expect.next_event().is_agent_handoff(new_agent_type=Checkout)
    result.expect.next_event().is_message(role="assistant")
    result.expect.no_more_events()

    result = await session.run(user_input="my card")
    result.expect.next_event().is_function_call(
        name="update_credit_card", arguments={"expiry": "12/28"}
    )
    result.expect.next_event().is_function_call_output(output="Saved the card ending 1111.")
    result.expect.next_event().is_message(role="assistant")
    result.expect.no_more_events()
    assert data.card == Card("4111111111111111", "12/28", "123")

    result = await session.run(user_input="yes")
    result.expect.next_event().is_function_call(name="confirm_checkout")
    result.expect.next_event().is_function_call_output(is_error=False)
    result.expect.next_event().is_message(role="assistant")
    result.expect.next_event().is_agent_handoff(new_agent_type=Greeter)
    msg = result.expect.next_event().is_message(role="assistant").event().item
    assert isinstance(msg, ChatMessage) and msg.text_content == "Anything else today?"
    result.expect.no_more_events()

    assert data.checked_out and data.card is None and data.paid_with == "card ending 1111"
    # the greeter the caller comes back to is the one they first spoke to
    assert session.current_agent is greeter
    assert all(step.declared for step in session.__fsm_trace__().steps)


async def test_agent_taking_over_knows_the_recent_turns_and_userdata(start: Starter) -> None:
    script = [("takeaway please", call("to_takeaway"))]
    data = RestaurantData(customer_name="Ada")
    session = await start(Greeter(), script, data)
    await session.run(user_input="takeaway please")
    takeaway = session.current_agent
    assert isinstance(takeaway, Takeaway)
    texts = [item.text_content for item in takeaway.chat_ctx.items if isinstance(item, ChatMessage)]
    assert "takeaway please" in texts  # the caller's words were carried over
    briefing = [t for t in texts if t.startswith("You are the takeaway agent")]
    assert len(briefing) == 1 and "Caller name: Ada" in briefing[0]
    # the LLM saw that context when it greeted (its last request was the greeting)
    seen = session.llm.requests[-1]
    assert seen.last_text == GREET_TAKEAWAY
    assert any(
        isinstance(item, ChatMessage) and item.text_content == "takeaway please"
        for item in seen.chat_ctx.items
    )


async def test_greeter_routes_to_reservation_and_a_reservation_is_confirmed(
    start: Starter,
) -> None:
    script = [
        ("book a table", call("to_reservation")),
        (
            "Friday 7pm, Ada, 555 0100",
            [
                call("update_reservation_time", time="Friday 7pm"),
                call("update_name", name="Ada"),
                call("update_phone", phone="555 0100"),
            ],
        ),
        ("confirm", call("confirm_reservation")),
    ]
    data = RestaurantData()
    session = await start(Greeter(), script, data)
    result = await session.run(user_input="book a table")
    result.expect.contains_agent_handoff(new_agent_type=Reservation)

    result = await session.run(user_input="Friday 7pm, Ada, 555 0100")
    for _ in range(3):
        result.expect.next_event().is_function_call()
    for _ in range(3):
        result.expect.next_event().is_function_call_output(is_error=False)
    assert (data.reservation_time, data.customer_name, data.customer_phone) == (
        "Friday 7pm",
        "Ada",
        "555 0100",
    )

    result = await session.run(user_input="confirm")
    result.expect.next_event().is_function_call(name="confirm_reservation")
    result.expect.next_event().is_function_call_output(
        output="Table booked for Ada at Friday 7pm. Transferring to the greeter.", is_error=False
    )
    result.expect.skip_next_event_if(type="message")
    result.expect.next_event().is_agent_handoff(new_agent_type=Greeter)
    assert data.reservation_confirmed


# ---------------------------------------------------------------- guards


@pytest.mark.parametrize(
    ("known", "missing"),
    [
        ({}, "name and phone number and reservation time are missing"),
        ({"customer_name": "Ada", "reservation_time": "8pm"}, "phone number is missing"),
        ({"customer_name": "Ada", "customer_phone": "5550100"}, "reservation time is missing"),
    ],
)
async def test_reservation_is_not_confirmed_without_name_phone_and_time(
    start: Starter, known: dict[str, str], missing: str
) -> None:
    script = [("confirm it", call("confirm_reservation")), ("back", call("to_greeter"))]
    data = RestaurantData(**known)  # type: ignore[arg-type]
    before = repr(data)
    session = await start(Reservation(), script, data)
    result = await session.run(user_input="confirm it")
    result.expect.next_event().is_function_call(name="confirm_reservation")
    output = result.expect.next_event().is_function_call_output(is_error=True).event().item
    assert output.output.startswith("Cannot confirm yet") and missing in output.output  # type: ignore[union-attr]
    result.expect.no_more_events()  # the default script reply is empty: no message
    assert isinstance(session.current_agent, Reservation)
    assert repr(data) == before
    # the session goes on
    result = await session.run(user_input="back")
    result.expect.contains_agent_handoff(new_agent_type=Greeter)


async def test_no_checkout_without_an_order(start: Starter) -> None:
    script = [
        ("pay now", call("to_checkout")),
        (re.compile("^Cannot go to checkout"), reply("You haven't ordered anything yet.")),
        ("a salad", call("add_to_order", item="salad")),
    ]
    data = RestaurantData()
    session = await start(Takeaway(), script, data)
    result = await session.run(user_input="pay now")
    result.expect.next_event().is_function_call(name="to_checkout")
    result.expect.next_event().is_function_call_output(
        output=(
            "Cannot go to checkout: the order is empty. Ask the caller what they would like "
            "and add it with add_to_order first."
        ),
        is_error=True,
    )
    result.expect.next_event().is_message(role="assistant")
    result.expect.no_more_events()
    assert isinstance(session.current_agent, Takeaway)
    assert data.order == {}
    result = await session.run(user_input="a salad")
    assert data.order == {"salad": 1}


async def test_no_payment_without_card_details(start: Starter) -> None:
    script = [("charge me", call("confirm_checkout"))]
    data = RestaurantData(order={"pizza": 1})
    session = await start(Checkout(), script, data)
    result = await session.run(user_input="charge me")
    result.expect.next_event().is_function_call(name="confirm_checkout")
    out = result.expect.next_event().is_function_call_output(is_error=True).event().item
    assert "no card details" in out.output  # type: ignore[union-attr]
    result.expect.no_more_events()
    assert isinstance(session.current_agent, Checkout)
    assert not data.checked_out and data.paid_with is None


async def test_bad_card_details_are_refused_and_not_saved(start: Starter) -> None:
    script = [
        ("my card", call("update_credit_card", number="4111", expiry="13/28", cvv="12")),
        ("charge me", call("confirm_checkout")),
    ]
    data = RestaurantData(order={"pizza": 1})
    session = await start(Checkout(), script, data)
    result = await session.run(user_input="my card")
    out = result.expect.contains_function_call_output(is_error=True).event().item
    for problem in ("12 to 19 digits", "MM/YY", "3 or 4 digits"):
        assert problem in out.output  # type: ignore[union-attr]
    assert data.card is None
    result = await session.run(user_input="charge me")
    result.expect.contains_function_call_output(is_error=True)
    assert not data.checked_out


async def test_bad_phone_number_is_refused(start: Starter) -> None:
    script = [("my number", call("update_phone", phone="12"))]
    data = RestaurantData()
    session = await start(Reservation(), script, data)
    result = await session.run(user_input="my number")
    result.expect.contains_function_call_output(is_error=True)
    assert data.customer_phone is None


async def test_unknown_menu_item_fails_the_schema_and_changes_nothing(start: Starter) -> None:
    script = [("a burger", call("add_to_order", item="burger"))]
    data = RestaurantData()
    session = await start(Takeaway(), script, data)
    result = await session.run(user_input="a burger")
    out = result.expect.contains_function_call_output(is_error=True).event().item
    assert "item" in out.output  # type: ignore[union-attr]
    assert data.order == {}


async def test_a_failing_tool_is_an_internal_error_and_the_call_goes_on(start: Starter) -> None:
    script = [
        ("a pizza", call("add_to_order", item="pizza")),
        ("An internal error occurred", reply("Sorry, something went wrong. Try again?")),
    ]
    data = RestaurantData()
    session = await start(Takeaway(), script, data)
    with mock_tools(Takeaway, {"add_to_order": lambda: RuntimeError("kitchen printer down")}):
        result = await session.run(user_input="a pizza")
    result.expect.next_event().is_function_call(name="add_to_order")
    result.expect.next_event().is_function_call_output(
        output="An internal error occurred", is_error=True
    )
    result.expect.next_event().is_message(role="assistant")
    result.expect.no_more_events()
    assert data.order == {}
    result = await session.run(user_input="a pizza")  # the real tool again
    assert data.order == {"pizza": 1}


# ---------------------------------------------------------------- routing


@pytest.mark.parametrize("cls", [Reservation, Takeaway, Checkout])
async def test_every_agent_can_go_back_to_the_greeter(start: Starter, cls: type) -> None:
    session = await start(cls(), [("back", call("to_greeter"))], RestaurantData())
    result = await session.run(user_input="back")
    result.expect.next_event().is_function_call(name="to_greeter")
    result.expect.next_event().is_function_call_output(output="Transferring to the greeter.")
    result.expect.next_event().is_agent_handoff(new_agent_type=Greeter)
    result.expect.no_more_events()


async def test_checkout_can_send_the_caller_back_to_change_the_order(start: Starter) -> None:
    script = [
        ("add an ice cream", call("to_takeaway")),
        ("an ice cream", call("add_to_order", item="ice cream")),
        ("done", call("to_checkout")),
    ]
    data = RestaurantData(order={"pizza": 1})
    checkout = Checkout()
    session = await start(checkout, script, data)
    await session.run(user_input="add an ice cream")
    assert isinstance(session.current_agent, Takeaway)
    await session.run(user_input="an ice cream")
    result = await session.run(user_input="done")
    result.expect.contains_agent_handoff(new_agent_type=Checkout)
    assert session.current_agent is checkout  # reused, with its earlier turns
    assert data.order == {"pizza": 1, "ice cream": 1} and data.total() == 13.0


# ---------------------------------------------------------------- voices


def test_each_restaurant_agent_has_its_own_voice() -> None:
    voices = [v for k, v in _voices.VOICES.items() if k.startswith("restaurant.")]
    assert len(voices) == 4 and len(set(voices)) == 4
    assert all(v.startswith("pyttsx3:") for v in voices)


def test_voices_resolve_to_a_tts_per_agent() -> None:
    greeter, takeaway = Greeter(), Takeaway()
    assert greeter.tts is not None and takeaway.tts is not None
    assert greeter.tts.voice == "en-us+f3" and takeaway.tts.voice == "en-gb+f4"


async def test_a_paid_order_cannot_be_changed_or_paid_again(start: Starter) -> None:
    script = [
        ("another pizza", call("add_to_order", item="pizza")),
        ("no coffee", call("remove_from_order", item="coffee")),
        ("checkout", call("to_checkout")),
    ]
    data = RestaurantData(order={"coffee": 1}, checked_out=True, paid_with="card ending 1111")
    before = repr(data)
    session = await start(Takeaway(), script, data)
    for turn in ("another pizza", "no coffee", "checkout"):
        result = await session.run(user_input=turn)
        out = result.expect.contains_function_call_output(is_error=True).event().item
        assert out.output.startswith("The order is already paid (card ending 1111)")  # type: ignore[union-attr]
        assert isinstance(session.current_agent, Takeaway)
    assert repr(data) == before

    data.card = Card("4111111111111111", "12/28", "123")
    checkout = await start(Checkout(), [("pay", call("confirm_checkout"))], data)
    result = await checkout.run(user_input="pay")
    result.expect.contains_function_call_output(is_error=True)
    assert isinstance(checkout.current_agent, Checkout)
