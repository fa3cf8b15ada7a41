"""Intake: typed userdata, and no handoff until both the name and the age are known."""

from __future__ import annotations

import re

import pytest
from _examples_helpers import Starter

from voxfsm.agents import mock_tools
from voxfsm.agents.llm import call, reply
from voxfsm.examples.intake import GREET_SERVICE, Intake, IntakeData, Service


async def test_name_and_age_then_service(start: Starter) -> None:
    script = [
        ("I'm Sam", call("record_name", name="Sam")),
        (re.compile(r"^Recorded the name Sam\. Still needed: age\.$"), reply("And your age?")),
        ("forty-two", call("record_age", age="42")),  # a numeric string may fill an int
        (re.compile(r"are known\.$"), call("finish_intake")),
        ("Intake complete. Transferring to the service desk.", reply("Passing you on.")),
        (GREET_SERVICE, reply("Hi Sam!")),
        ("what can I do", call("suggest_classes")),
    ]
    data = IntakeData()
    session = await start(Intake(), script, data)

    result = await session.run(user_input="I'm Sam")
    result.expect.next_event().is_function_call(name="record_name")
    result.expect.next_event().is_function_call_output(is_error=False)
    result.expect.next_event().is_message(role="assistant")
    result.expect.no_more_events()

    result = await session.run(user_input="forty-two")
    result.expect.next_event().is_function_call(name="record_age")
    result.expect.next_event().is_function_call_output(
        output="Recorded the age 42. Name and age are known.", is_error=False
    )
    result.expect.next_event().is_function_call(name="finish_intake")
    result.expect.next_event().is_function_call_output(
        output="Intake complete. Transferring to the service desk."
    )
    result.expect.next_event().is_message(role="assistant")
    result.expect.next_event().is_agent_handoff(new_agent_type=Service)
    result.expect.next_event().is_message(role="assistant")
    result.expect.no_more_events()
    assert data == IntakeData(name="Sam", age=42)
    assert isinstance(data.age, int)

    result = await session.run(user_input="what can I do")
    result.expect.next_event().is_function_call(name="suggest_classes")
    result.expect.next_event().is_function_call_output(output="Classes for age 42: adult yoga.")


@pytest.mark.parametrize(
    ("known", "missing"),
    [
        (IntakeData(), "name and age are not recorded yet"),
        (IntakeData(name="Sam"), "age is not recorded yet"),
        (IntakeData(age=30), "name is not recorded yet"),
    ],
)
async def test_no_handoff_until_name_and_age_are_known(
    start: Starter, known: IntakeData, missing: str
) -> None:
    script = [
        ("done", call("finish_intake")),
        (
            "I'm Jo, 30",
            [
                call("record_name", name="Jo"),
                call("record_age", age=30),
            ],
        ),
    ]
    session = await start(Intake(), script, known)
    before = repr(known)
    result = await session.run(user_input="done")
    result.expect.next_event().is_function_call(name="finish_intake")
    out = result.expect.next_event().is_function_call_output(is_error=True).event().item
    assert missing in out.output  # type: ignore[union-attr]
    result.expect.no_more_events()
    assert isinstance(session.current_agent, Intake) and repr(known) == before
    # the intake goes on and finishes once both are given
    await session.run(user_input="I'm Jo, 30")
    result = await session.run(user_input="done")
    result.expect.contains_agent_handoff(new_agent_type=Service)


@pytest.mark.parametrize(
    ("age", "error"),
    [
        (0, "0 is not a plausible age; ask the caller again."),
        (150, "150 is not a plausible age; ask the caller again."),
    ],
)
async def test_implausible_age_is_refused(start: Starter, age: int, error: str) -> None:
    data = IntakeData()
    session = await start(Intake(), [("age", call("record_age", age=age))], data)
    result = await session.run(user_input="age")
    result.expect.next_event().is_function_call(name="record_age")
    result.expect.next_event().is_function_call_output(output=error, is_error=True)
    assert data.age is None


async def test_an_age_in_words_fails_the_int_schema(start: Starter) -> None:
    data = IntakeData()
    session = await start(Intake(), [("age", call("record_age", age="forty"))], data)
    result = await session.run(user_input="age")
    result.expect.next_event().is_function_call(name="record_age")
    out = result.expect.next_event().is_function_call_output(is_error=True).event().item
    assert "age" in out.output  # type: ignore[union-attr]
    assert data.age is None


async def test_a_failing_tool_is_an_internal_error(start: Starter) -> None:
    data = IntakeData()
    session = await start(Intake(), [("Sam", call("record_name", name="Sam"))], data)
    with mock_tools(Intake, {"record_name": lambda: RuntimeError("registry offline")}):
        result = await session.run(user_input="Sam")
    result.expect.next_event().is_function_call(name="record_name")
    result.expect.next_event().is_function_call_output(
        output="An internal error occurred", is_error=True
    )
    assert data.name is None
    await session.run(user_input="Sam")
    assert data.name == "Sam"
