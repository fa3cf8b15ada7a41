"""Front desk: booking through an AgentTask that captures the email, and the booking guards."""

from __future__ import annotations

from typing import Any, get_args

from _examples_helpers import Starter

from voxfsm.agents import AgentSession, ChatMessage, FunctionCall, mock_tools
from voxfsm.agents.llm import call, reply
from voxfsm.examples.front_desk import (
    ASK_EMAIL,
    CALENDAR,
    Booking,
    FrontDesk,
    FrontDeskData,
    GetEmailTask,
    SlotId,
)

TUESDAY = "tue-1000: Tuesday at 10:00\ntue-1400: Tuesday at 14:00"
BOOK = [
    ("tuesday?", call("list_available_slots", day="tuesday")),
    (TUESDAY, reply("10 or 2 on Tuesday?")),
    ("2pm", call("schedule_appointment", slot_id="tue-1400")),
    (ASK_EMAIL, reply("Your email, please?")),
]


async def _at_email_task(
    start: Starter, data: FrontDeskData, script: list[tuple[str, Any]]
) -> AgentSession[Any]:
    """A session whose booking tool is waiting in GetEmailTask for Tuesday 14:00."""
    session = await start(FrontDesk(), [*BOOK, *script], data)
    await session.run(user_input="tuesday?")
    await session.run(user_input="2pm")
    assert isinstance(session.current_agent, GetEmailTask)
    return session


async def test_booking_captures_and_confirms_the_email(start: Starter) -> None:
    script = [
        ("sam at example dot com", call("update_email_address", email="sam at example dot com")),
        (
            "The email address is sam@example.com. Spell it back and ask the caller to confirm.",
            reply("That's sam@example.com?"),
        ),
        ("yes", call("confirm_email_address")),
        (
            "Booked Tuesday at 14:00; the confirmation goes to sam@example.com.",
            reply("You're booked."),
        ),
    ]
    data = FrontDeskData()
    desk = FrontDesk()
    session = await start(desk, [*BOOK, *script], data)

    result = await session.run(user_input="tuesday?")
    result.expect.next_event().is_function_call(
        name="list_available_slots", arguments={"day": "tuesday"}
    )
    result.expect.next_event().is_function_call_output(output=TUESDAY, is_error=False)
    result.expect.next_event().is_message(role="assistant")
    result.expect.no_more_events()
    assert set(data.offered) == {"tue-1000", "tue-1400"}

    # the run whose tool starts the task ends once the task has asked its question
    result = await session.run(user_input="2pm")
    result.expect.next_event().is_function_call(
        name="schedule_appointment", arguments={"slot_id": "tue-1400"}
    )
    result.expect.next_event().is_agent_handoff(new_agent_type=GetEmailTask)
    result.expect.next_event().is_message(role="assistant")
    result.expect.no_more_events()

    result = await session.run(user_input="sam at example dot com")
    result.expect.next_event().is_function_call(name="update_email_address")
    result.expect.next_event().is_function_call_output(is_error=False)
    result.expect.next_event().is_message(role="assistant")
    result.expect.no_more_events()
    assert data.bookings == []  # nothing booked before the caller confirms

    result = await session.run(user_input="yes")
    result.expect.next_event().is_function_call(name="confirm_email_address")
    result.expect.next_event().is_function_call_output(output="", is_error=False)
    result.expect.next_event().is_agent_handoff(new_agent_type=FrontDesk)
    result.expect.next_event().is_function_call_output(
        output="Booked Tuesday at 14:00; the confirmation goes to sam@example.com.",
        is_error=False,
    )
    result.expect.next_event().is_message(role="assistant")
    result.expect.no_more_events()

    assert data.bookings == [Booking("tue-1400", "Tuesday at 14:00", "sam@example.com")]
    assert "tue-1400" not in data.free_slots and "tue-1400" not in data.offered
    assert session.current_agent is desk
    # the task's conversation is merged back, without its function calls
    texts = [i.text_content for i in desk.chat_ctx.items if isinstance(i, ChatMessage)]
    assert "That's sam@example.com?" in texts
    calls = [i.name for i in desk.chat_ctx.items if isinstance(i, FunctionCall)]
    assert calls == ["list_available_slots", "schedule_appointment"]
    steps = session.__fsm_trace__().steps
    assert [(s.kind, s.declared) for s in steps] == [("task", True), ("return", True)]


async def test_a_slot_never_offered_cannot_be_booked(start: Starter) -> None:
    script = [
        ("book ST_bogus", call("schedule_appointment", slot_id="tue-1400")),
        ("tuesday?", call("list_available_slots", day="tuesday")),
    ]
    data = FrontDeskData()
    session = await start(FrontDesk(), script, data)
    result = await session.run(user_input="book ST_bogus")
    result.expect.next_event().is_function_call(name="schedule_appointment")
    result.expect.next_event().is_function_call_output(
        output=(
            "Slot 'tue-1400' was never offered to the caller; call list_available_slots and use "
            "one of the ids it returns."
        ),
        is_error=True,
    )
    result.expect.no_more_events()  # no task started
    assert isinstance(session.current_agent, FrontDesk)
    assert data.bookings == [] and "tue-1400" in data.free_slots
    await session.run(user_input="tuesday?")
    assert "tue-1400" in data.offered


async def test_a_slot_taken_after_listing_is_refused(start: Starter) -> None:
    data = FrontDeskData()
    session = await start(FrontDesk(), BOOK, data)
    await session.run(user_input="tuesday?")
    del data.free_slots["tue-1400"]  # someone else booked it meanwhile
    result = await session.run(user_input="2pm")
    result.expect.next_event().is_function_call(name="schedule_appointment")
    result.expect.next_event().is_function_call_output(
        output="Slot 'tue-1400' is no longer available; list the free slots again and offer "
        "another one.",
        is_error=True,
    )
    result.expect.no_more_events()
    assert data.slot_unavailable_count == 1 and data.bookings == []
    assert "tue-1400" not in data.offered


async def test_a_slot_taken_while_the_email_is_captured_is_refused(start: Starter) -> None:
    script = [
        ("a@b.co", call("update_email_address", email="a@b.co")),
        ("yes", call("confirm_email_address")),
    ]
    data = FrontDeskData()
    session = await _at_email_task(start, data, script)
    await session.run(user_input="a@b.co")
    del data.free_slots["tue-1400"]
    result = await session.run(user_input="yes")
    result.expect.contains_agent_handoff(new_agent_type=FrontDesk)
    result.expect.contains_function_call_output(is_error=True)
    assert data.bookings == [] and data.slot_unavailable_count == 1


async def test_an_invalid_email_is_refused_and_the_task_goes_on(start: Starter) -> None:
    script = [
        ("sam at example", call("update_email_address", email="sam at example")),
        ("yes", call("confirm_email_address")),
        ("sam@example.com", call("update_email_address", email="sam@example.com")),
    ]
    data = FrontDeskData()
    session = await _at_email_task(start, data, script)
    result = await session.run(user_input="sam at example")
    result.expect.next_event().is_function_call(name="update_email_address")
    result.expect.next_event().is_function_call_output(
        output="'sam at example' is not a valid email address; ask the caller to say it again.",
        is_error=True,
    )
    assert isinstance(session.current_agent, GetEmailTask)

    # confirming before any valid address is refused too
    result = await session.run(user_input="yes")
    result.expect.next_event().is_function_call(name="confirm_email_address")
    result.expect.next_event().is_function_call_output(
        output="No email address recorded yet; ask the caller for it first.", is_error=True
    )
    result.expect.no_more_events()
    assert isinstance(session.current_agent, GetEmailTask) and data.bookings == []

    await session.run(user_input="sam@example.com")
    await session.run(user_input="yes")
    assert [b.email for b in data.bookings] == ["sam@example.com"]


async def test_declining_the_email_fails_the_booking_tool(start: Starter) -> None:
    script = [
        ("no email", call("decline_email_capture", reason="the caller has no email")),
        ("Couldn't get the email address: the caller has no email", reply("No problem.")),
    ]
    data = FrontDeskData()
    session = await _at_email_task(start, data, script)
    result = await session.run(user_input="no email")
    result.expect.next_event().is_function_call(name="decline_email_capture")
    result.expect.next_event().is_function_call_output(output="")
    result.expect.next_event().is_agent_handoff(new_agent_type=FrontDesk)
    result.expect.next_event().is_function_call_output(
        output="Couldn't get the email address: the caller has no email", is_error=True
    )
    result.expect.next_event().is_message(role="assistant")
    result.expect.no_more_events()
    assert data.bookings == [] and "tue-1400" in data.free_slots


async def test_a_failing_calendar_is_an_internal_error(start: Starter) -> None:
    script = [
        ("tuesday?", call("list_available_slots", day="tuesday")),
        ("An internal error occurred", reply("Sorry, the calendar is down.")),
    ]
    data = FrontDeskData()
    session = await start(FrontDesk(), script, data)
    with mock_tools(FrontDesk, {"list_available_slots": lambda: RuntimeError("calendar down")}):
        result = await session.run(user_input="tuesday?")
    result.expect.next_event().is_function_call(name="list_available_slots")
    result.expect.next_event().is_function_call_output(
        output="An internal error occurred", is_error=True
    )
    result.expect.next_event().is_message(role="assistant")
    result.expect.no_more_events()
    assert data.offered == {}
    await session.run(user_input="tuesday?")
    assert set(data.offered) == {"tue-1000", "tue-1400"}


async def test_a_booked_slot_is_not_offered_again(start: Starter) -> None:
    script = [
        ("a@b.co", call("update_email_address", email="a@b.co")),
        ("yes", call("confirm_email_address")),
        ("any day?", call("list_available_slots")),
        ("thursday?", call("list_available_slots", day="thursday")),
    ]
    data = FrontDeskData()
    session = await _at_email_task(start, data, script)
    await session.run(user_input="a@b.co")
    await session.run(user_input="yes")
    result = await session.run(user_input="any day?")
    out = result.expect.contains_function_call_output(is_error=False).event().item
    assert "tue-1400" not in out.output and "tue-1000" in out.output  # type: ignore[union-attr]
    result = await session.run(user_input="thursday?")
    result.expect.contains_function_call_output(output="No free slots on Thursday.")


def test_the_slot_enum_matches_the_calendar() -> None:
    assert set(get_args(SlotId)) == set(CALENDAR)


async def test_an_invented_slot_id_fails_the_schema(start: Starter) -> None:
    data = FrontDeskData()
    session = await start(
        FrontDesk(), [("book", call("schedule_appointment", slot_id="ST_1"))], data
    )
    result = await session.run(user_input="book")
    result.expect.next_event().is_function_call(name="schedule_appointment")
    out = result.expect.next_event().is_function_call_output(is_error=True).event().item
    assert "slot_id" in out.output  # type: ignore[union-attr]
    result.expect.no_more_events()
    assert isinstance(session.current_agent, FrontDesk) and data.bookings == []


async def test_confirm_and_decline_in_one_step_the_first_one_decides(start: Starter) -> None:
    script = [
        ("a@b.co", call("update_email_address", email="a@b.co")),
        (
            "yes... no",
            [call("confirm_email_address"), call("decline_email_capture", reason="changed mind")],
        ),
    ]
    data = FrontDeskData()
    session = await _at_email_task(start, data, script)
    await session.run(user_input="a@b.co")
    result = await session.run(user_input="yes... no")
    result.expect.next_event().is_function_call(name="confirm_email_address")
    result.expect.next_event().is_function_call(name="decline_email_capture")
    result.expect.next_event().is_function_call_output(output="", is_error=False)
    result.expect.next_event().is_function_call_output(
        output="The email capture is already finished.", is_error=True
    )
    result.expect.next_event().is_agent_handoff(new_agent_type=FrontDesk)
    result.expect.next_event().is_function_call_output(is_error=False)  # booked
    assert [b.email for b in data.bookings] == ["a@b.co"]


async def test_two_bookings_in_one_step_start_one_email_task_only(start: Starter) -> None:
    script = [
        ("tuesday?", call("list_available_slots", day="tuesday")),
        (
            "book both",
            [
                call("schedule_appointment", slot_id="tue-1000"),
                call("schedule_appointment", slot_id="tue-1400"),
            ],
        ),
        ("a@b.co", call("update_email_address", email="a@b.co")),
        ("yes", call("confirm_email_address")),
    ]
    data = FrontDeskData()
    session = await start(FrontDesk(), script, data)
    await session.run(user_input="tuesday?")
    result = await session.run(user_input="book both")
    result.expect.next_event().is_function_call(name="schedule_appointment")
    result.expect.next_event().is_function_call(name="schedule_appointment")
    result.expect.next_event().is_agent_handoff(new_agent_type=GetEmailTask)
    result.expect.skip_next_event_if(type="message")
    result.expect.no_more_events()
    await session.run(user_input="a@b.co")
    result = await session.run(user_input="yes")
    # both outputs come once the task is done, in call order: the booking, then the refusal
    result.expect.contains_function_call_output(
        output="Slot 'tue-1000' is being booked already; finish that booking before starting "
        "another.",
        is_error=True,
    )
    assert [b.slot_id for b in data.bookings] == ["tue-1000"]
    assert data.booking_in_progress is None
