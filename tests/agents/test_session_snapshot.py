"""``session.snapshot()`` and ``AgentSession.restore()``: pause a conversation, resume it later."""

from __future__ import annotations

import json
from typing import Any

import attrs
import pytest

from voxfsm.agents import Agent, AgentHandoff, AgentSession, AgentTask, RunContext, function_tool
from voxfsm.agents.llm import ScriptedLLM, call, reply

ENTRIES: list[str] = []


@attrs.define
class Order:
    items: list[str] = attrs.field(factory=list)
    table: int = 0


class Waiter(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="waiter")

    async def on_enter(self) -> None:
        ENTRIES.append(self.id)

    @function_tool
    async def add_dish(self, ctx: RunContext[Order], dish: str) -> str:
        """Add a dish to the order."""
        ctx.userdata.items.append(dish)
        return f"{dish} added"

    @function_tool
    async def to_sommelier(self) -> Sommelier:
        """Call the sommelier."""
        return Sommelier()

    @function_tool
    async def check_age(self) -> str:
        """Ask for proof of age first."""
        return f"age ok: {await AgeCheck()}"


class Sommelier(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="sommelier")

    async def on_enter(self) -> None:
        ENTRIES.append(self.id)
        self.session.say("Wine?")

    @function_tool
    async def add_wine(self, ctx: RunContext[Order], wine: str) -> str:
        """Add a wine."""
        ctx.userdata.items.append(wine)
        return f"{wine} poured"


class AgeCheck(AgentTask[bool]):
    def __init__(self) -> None:
        super().__init__(instructions="check age")

    @function_tool
    async def adult(self) -> None:
        """Old enough."""
        self.complete(True)


def restaurant_llm() -> ScriptedLLM:
    return ScriptedLLM(
        {
            "soup please": call("add_dish", dish="soup"),
            "wine please": call("to_sommelier"),
            "red": call("add_wine", wine="red"),
            "beer": call("check_age"),
        },
        default=reply("certainly"),
    )


@pytest.fixture(autouse=True)
def _clear() -> None:
    ENTRIES.clear()


async def conversation() -> AgentSession[Order]:
    session: AgentSession[Order] = AgentSession(llm=restaurant_llm(), userdata=Order(table=4))
    await session.start(Waiter())
    await session.run(user_input="soup please")
    await session.run(user_input="wine please")
    return session


async def test_a_snapshot_is_plain_json_safe_data() -> None:
    session = await conversation()
    async with session:
        data = session.snapshot()
        assert json.loads(json.dumps(data)) == data


async def test_restore_resumes_where_the_conversation_stopped_without_on_enter() -> None:
    original = await conversation()
    async with original:
        data = json.loads(json.dumps(original.snapshot()))
        history_ids = [i.id for i in original.history.items]
        sommelier_ids = [i.id for i in original.current_agent.chat_ctx.items]
    ENTRIES.clear()

    llm = restaurant_llm()
    restored = AgentSession.restore(data, llm=llm)
    async with restored:
        assert ENTRIES == []  # on_enter is not re-run
        assert restored.current_agent.id == "sommelier"
        assert isinstance(restored.current_agent, Sommelier)
        assert restored.machine.state == "sommelier"
        assert [i.id for i in restored.history.items] == history_ids
        assert [i.id for i in restored.current_agent.chat_ctx.items] == sommelier_ids
        assert restored.userdata == Order(items=["soup"], table=4)

        result = await restored.run(user_input="red")
        result.expect.next_event().is_function_call(name="add_wine")
        result.expect.next_event().is_function_call_output(output="red poured")
        assert restored.userdata.items == ["soup", "red"]
        assert llm.requests[0].chat_ctx.items[0].text_content == "sommelier"
        handoffs = [i for i in restored.history.items if isinstance(i, AgentHandoff)]
        assert [h.new_agent_id for h in handoffs] == ["waiter", "sommelier"]


async def test_userdata_passed_to_restore_wins() -> None:
    original = await conversation()
    async with original:
        data = original.snapshot()
    fresh = Order(table=9)
    restored = AgentSession.restore(data, llm=restaurant_llm(), userdata=fresh)
    async with restored:
        assert restored.userdata is fresh


async def test_no_snapshot_while_a_task_is_running() -> None:
    async with AgentSession(llm=restaurant_llm(), userdata=Order()) as session:
        await session.start(Waiter())
        await session.run(user_input="beer")
        assert isinstance(session.current_agent, AgeCheck)
        with pytest.raises(ValueError):
            session.snapshot()


async def test_no_snapshot_before_start() -> None:
    with pytest.raises(ValueError):
        AgentSession(llm=restaurant_llm()).snapshot()


async def test_restoring_into_a_changed_workflow_fails_naming_the_change() -> None:
    original = await conversation()
    async with original:
        data: dict[str, Any] = original.snapshot()
    data["fingerprint"]["sommelier"] = ["add_wine", "decant"]
    with pytest.raises(ValueError, match="decant"):
        AgentSession.restore(data, llm=restaurant_llm())


def test_something_that_is_not_a_snapshot_is_rejected() -> None:
    with pytest.raises(ValueError):
        AgentSession.restore({"hello": "world"})
