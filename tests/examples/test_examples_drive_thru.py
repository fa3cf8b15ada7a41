"""Drive-thru: the order lives in userdata; unknown, sold-out and unsized items are refused."""

from __future__ import annotations

import re

import pytest
from _examples_helpers import Starter

from voxfsm.agents import mock_tools
from voxfsm.agents.llm import call, reply
from voxfsm.examples.drive_thru import DriveThru, DriveThruData, OrderedItem


async def test_order_list_remove_and_complete(start: Starter) -> None:
    script = [
        ("a cheeseburger", call("order_item", item_id="cheeseburger")),
        (re.compile(r"^Added "), reply("Anything else?")),
        ("two large cokes", call("order_item", item_id="coke", size="L", quantity=2)),
        ("what do I have", call("list_order")),
        ("no burger", call("remove_item", order_id="O1")),
        ("done", call("complete_order")),
    ]
    data = DriveThruData()
    session = await start(DriveThru(), script, data)

    result = await session.run(user_input="a cheeseburger")
    result.expect.next_event().is_function_call(name="order_item")
    result.expect.next_event().is_function_call_output(
        output="Added 1 x Cheeseburger (order id O1). Order total: $3.49.", is_error=False
    )
    result.expect.next_event().is_message(role="assistant")
    result.expect.no_more_events()

    await session.run(user_input="two large cokes")
    assert data.items["O2"] == OrderedItem("O2", "coke", "L", 2, 3.78)

    result = await session.run(user_input="what do I have")
    result.expect.next_event().is_function_call(name="list_order")
    result.expect.next_event().is_function_call_output(
        output="O1: 1 x Cheeseburger $3.49\nO2: 2 x large Coke $3.78\nTotal: $7.27"
    )

    result = await session.run(user_input="no burger")
    result.expect.next_event().is_function_call(name="remove_item", arguments={"order_id": "O1"})
    result.expect.next_event().is_function_call_output(
        output="Removed 1 x Cheeseburger. Order total: $3.78."
    )
    assert list(data.items) == ["O2"]

    result = await session.run(user_input="done")
    result.expect.next_event().is_function_call(name="complete_order")
    result.expect.next_event().is_function_call_output(is_error=False)
    assert data.completed
    assert session.__fsm_trace__().steps == ()  # a single agent: no handoffs at all


async def test_a_size_on_a_one_size_item_is_ignored(start: Starter) -> None:
    data = DriveThruData()
    script = [("pie", call("order_item", item_id="apple pie", size="L"))]
    session = await start(DriveThru(), script, data)
    await session.run(user_input="pie")
    assert data.items["O1"].size is None and data.items["O1"].item_id == "apple_pie"


GUARDS = [
    pytest.param(
        call("order_item", item_id="big mac"),
        "'big mac' is not on the menu. Never offer items not on the menu.",
        id="unknown item",
    ),
    pytest.param(
        call("order_item", item_id="cheesburger"),
        "'cheesburger' is not on the menu. Did the customer mean cheeseburger or double_burger? "
        "Never offer items not on the menu.",
        id="misheard item",
    ),
    pytest.param(
        call("order_item", item_id="vanilla_shake", size="M"),
        "Vanilla Shake is sold out today; tell the customer and offer something else.",
        id="sold out",
    ),
    pytest.param(
        call("order_item", item_id="fries"),
        "Fries needs a size (S, M, L); ask the customer which size they want.",
        id="size missing",
    ),
    pytest.param(
        call("order_item", item_id="orange_juice", size="S"),
        "Orange Juice does not come in small; it comes in medium, large. Ask the customer.",
        id="size not offered",
    ),
    pytest.param(
        call("order_item", item_id="fries", size="M", quantity=0),
        "A quantity must be at least 1, not 0.",
        id="quantity",
    ),
    pytest.param(
        call("remove_item", order_id="O9"),
        "There is no order id 'O9'; the ids are: O1.",
        id="unknown order id",
    ),
]


@pytest.mark.parametrize(("refused", "error"), GUARDS)
async def test_guards_refuse_and_leave_the_order_unchanged(
    start: Starter, refused: object, error: str
) -> None:
    script = [
        ("try it", refused),
        (error, reply("Sorry about that.")),
        ("a coke", call("order_item", item_id="coke", size="S")),
    ]
    data = DriveThruData()
    data.items["O1"] = OrderedItem("O1", "cheeseburger", None, 1, 3.49)
    data.next_id = 2
    before = repr(data)
    session = await start(DriveThru(), script, data)
    result = await session.run(user_input="try it")
    result.expect.next_event().is_function_call()
    result.expect.next_event().is_function_call_output(output=error, is_error=True)
    result.expect.next_event().is_message(role="assistant")
    result.expect.no_more_events()
    assert repr(data) == before
    # and the order goes on
    await session.run(user_input="a coke")
    assert list(data.items) == ["O1", "O2"]


async def test_empty_and_completed_orders(start: Starter) -> None:
    script = [
        ("done", call("complete_order")),
        ("a pie", call("order_item", item_id="apple_pie")),
    ]
    data = DriveThruData()
    session = await start(DriveThru(), script, data)
    result = await session.run(user_input="done")
    result.expect.contains_function_call_output(
        output="The order is empty; ask the customer what they would like.", is_error=True
    )
    assert not data.completed
    await session.run(user_input="a pie")
    await session.run(user_input="done")
    assert data.completed
    result = await session.run(user_input="a pie")
    result.expect.contains_function_call_output(
        output="The order is already complete; it cannot be changed.", is_error=True
    )
    assert len(data.items) == 1


async def test_a_failing_tool_is_an_internal_error(start: Starter) -> None:
    script = [
        ("a large coke", call("order_item", item_id="coke", size="L")),
        ("An internal error occurred", reply("Sorry, our system hiccupped.")),
    ]
    data = DriveThruData()
    session = await start(DriveThru(), script, data)
    with mock_tools(DriveThru, {"order_item": lambda: RuntimeError("pos offline")}):
        result = await session.run(user_input="a large coke")
    result.expect.next_event().is_function_call(
        name="order_item", arguments={"item_id": "coke", "size": "L"}
    )
    result.expect.next_event().is_function_call_output(
        output="An internal error occurred", is_error=True
    )
    result.expect.next_event().is_message(role="assistant")
    result.expect.no_more_events()
    assert data.items == {}
    await session.run(user_input="a large coke")
    assert len(data.items) == 1
