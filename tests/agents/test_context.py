"""What an agent's LLM sees: fresh or carried context, instructions, read-only views, userdata."""

from __future__ import annotations

from typing import Any

import attrs
import pytest

from voxfsm.agents import (
    Agent,
    AgentSession,
    ChatContext,
    ChatMessage,
    FunctionCall,
    FunctionCallOutput,
    RunContext,
    function_tool,
)
from voxfsm.agents.llm import ScriptedLLM, call, reply

INSTRUCTIONS_ID = "voxfsm.instructions"


@attrs.define
class Visit:
    name: str = ""
    trail: list[str] = attrs.field(factory=list)


class Pharmacy(Agent):
    def __init__(self, chat_ctx: ChatContext | None = None) -> None:
        super().__init__(instructions="you are the pharmacy", chat_ctx=chat_ctx)

    @function_tool
    async def refill(self, ctx: RunContext[Visit]) -> str:
        """Refill a prescription."""
        ctx.userdata.trail.append("pharmacy")
        return f"refilled for {ctx.userdata.name}"

    @function_tool
    async def lookup(self) -> str:
        """A tool name the reception also has."""
        return "pharmacy lookup"


class Reception(Agent):
    def __init__(self, *, carry: bool = False) -> None:
        super().__init__(instructions="you are the reception")
        self.carry = carry

    @function_tool
    async def register(self, ctx: RunContext[Visit], name: str) -> str:
        """Register the patient."""
        ctx.userdata.name = name
        ctx.userdata.trail.append("reception")
        return "registered"

    @function_tool
    async def lookup(self) -> str:
        """Look something up."""
        return "reception lookup"

    @function_tool
    async def to_pharmacy(self) -> Pharmacy:
        """Send the patient to the pharmacy."""
        return Pharmacy(chat_ctx=self.chat_ctx if self.carry else None)


def clinic_llm() -> ScriptedLLM:
    return ScriptedLLM(
        {
            "I am Ada": call("register", name="Ada"),
            "find it": call("lookup"),
            "pharmacy please": call("to_pharmacy"),
            "refill": call("refill"),
        },
        default=reply("noted"),
    )


def roles_and_texts(ctx: ChatContext) -> list[tuple[str, str]]:
    out = []
    for item in ctx.items:
        if isinstance(item, ChatMessage):
            out.append((item.role, item.text_content))
        elif isinstance(item, FunctionCall):
            out.append(("call", item.name))
        elif isinstance(item, FunctionCallOutput):
            out.append(("output", item.name))
    return out


# --------------------------------------------------------------------------- instructions


def test_a_new_agent_starts_with_only_its_instructions() -> None:
    agent = Reception()
    items = agent.chat_ctx.items
    assert len(items) == 1
    assert items[0].id == INSTRUCTIONS_ID
    assert isinstance(items[0], ChatMessage)
    assert items[0].role == "system"
    assert items[0].text_content == "you are the reception"


async def test_a_new_agent_without_chat_ctx_knows_nothing_of_the_conversation() -> None:
    async with AgentSession(llm=clinic_llm(), userdata=Visit()) as session:
        await session.start(Reception(carry=False))
        await session.run(user_input="I am Ada")
        await session.run(user_input="pharmacy please")

        assert roles_and_texts(session.current_agent.chat_ctx) == [
            ("system", "you are the pharmacy")
        ]


async def test_carried_context_swaps_instructions_and_drops_foreign_tool_calls() -> None:
    async with AgentSession(llm=clinic_llm(), userdata=Visit()) as session:
        reception = Reception(carry=True)
        await session.start(reception)
        await session.run(user_input="I am Ada")
        await session.run(user_input="find it")
        await session.run(user_input="pharmacy please")
        pharmacy = session.current_agent

        items = pharmacy.chat_ctx.items
        assert items[0].id == INSTRUCTIONS_ID
        assert items[0].text_content == "you are the pharmacy"
        assert sum(1 for i in items if i.id == INSTRUCTIONS_ID) == 1
        assert "you are the reception" not in [t for _, t in roles_and_texts(pharmacy.chat_ctx)]
        # the conversation came along ...
        assert ("user", "I am Ada") in roles_and_texts(pharmacy.chat_ctx)
        # ... minus calls of tools the pharmacy does not own; `lookup` is shared, so it stays
        assert ("call", "register") not in roles_and_texts(pharmacy.chat_ctx)
        assert ("output", "register") not in roles_and_texts(pharmacy.chat_ctx)
        assert ("call", "lookup") in roles_and_texts(pharmacy.chat_ctx)
        assert ("output", "lookup") in roles_and_texts(pharmacy.chat_ctx)
        # the reception's own context is untouched
        assert ("call", "register") in roles_and_texts(reception.chat_ctx)


def test_other_system_messages_survive_a_carried_context() -> None:
    source = ChatContext()
    source.add_message(role="system", content="be brief")
    source.add_message(role="user", content="hello")
    agent = Pharmacy(chat_ctx=source)
    assert roles_and_texts(agent.chat_ctx) == [
        ("system", "you are the pharmacy"),
        ("system", "be brief"),
        ("user", "hello"),
    ]
    assert len(source.items) == 2  # the source is not changed


async def test_update_instructions_rewrites_the_first_item_and_the_llm_sees_it() -> None:
    llm = ScriptedLLM({}, default=reply("ok"))
    async with AgentSession(llm=llm) as session:
        agent = Reception()
        await session.start(agent)
        await session.run(user_input="hi")
        await agent.update_instructions("you are the night reception")
        await session.run(user_input="hi again")

        assert agent.instructions == "you are the night reception"
        items = agent.chat_ctx.items
        assert items[0].id == INSTRUCTIONS_ID
        assert items[0].text_content == "you are the night reception"
        assert sum(1 for i in items if i.id == INSTRUCTIONS_ID) == 1
        assert llm.requests[-1].chat_ctx.items[0].text_content == "you are the night reception"
        assert llm.requests[0].chat_ctx.items[0].text_content == "you are the reception"


async def test_update_chat_ctx_keeps_the_agents_own_instructions_first() -> None:
    agent = Reception()
    seeded = ChatContext()
    seeded.add_message(role="user", content="I need a refill")
    seeded.add_message(role="assistant", content="Sure")
    await agent.update_chat_ctx(seeded)
    assert roles_and_texts(agent.chat_ctx) == [
        ("system", "you are the reception"),
        ("user", "I need a refill"),
        ("assistant", "Sure"),
    ]

    # a context carrying someone else's instructions item: ours replaces it
    foreign = Pharmacy().chat_ctx.copy()
    foreign.add_message(role="user", content="later")
    await agent.update_chat_ctx(foreign)
    assert roles_and_texts(agent.chat_ctx) == [
        ("system", "you are the reception"),
        ("user", "later"),
    ]


async def test_seeded_history_is_what_the_llm_receives() -> None:
    llm = ScriptedLLM({}, default=reply("ok"))
    agent = Reception()
    seeded = ChatContext()
    seeded.add_message(role="user", content="earlier question")
    seeded.add_message(role="assistant", content="earlier answer")
    await agent.update_chat_ctx(seeded)
    async with AgentSession(llm=llm) as session:
        await session.start(agent)
        await session.run(user_input="now")
        assert roles_and_texts(llm.requests[0].chat_ctx) == [
            ("system", "you are the reception"),
            ("user", "earlier question"),
            ("assistant", "earlier answer"),
            ("user", "now"),
        ]


# --------------------------------------------------------------------------- read-only views


@pytest.mark.parametrize(
    "mutate",
    [
        lambda ctx: ctx.add_message(role="user", content="sneaky"),
        lambda ctx: ctx.insert(ChatMessage(role="user", content=["sneaky"])),
        lambda ctx: ctx.truncate(max_items=1),
        lambda ctx: ctx.merge(ChatContext()),
        lambda ctx: setattr(ctx, "items", []),
    ],
    ids=["add_message", "insert", "truncate", "merge", "items="],
)
def test_an_agents_chat_ctx_refuses_mutation(mutate: Any) -> None:
    agent = Reception()
    with pytest.raises(RuntimeError):
        mutate(agent.chat_ctx)
    assert len(agent.chat_ctx.items) == 1


def test_appending_to_the_items_of_a_read_only_view_raises() -> None:
    agent = Reception()
    with pytest.raises(RuntimeError):
        agent.chat_ctx.items.append(ChatMessage(role="user", content=["sneaky"]))
    assert len(agent.chat_ctx.items) == 1


async def test_copy_of_a_read_only_view_is_mutable_and_detached() -> None:
    agent = Reception()
    copy = agent.chat_ctx.copy()
    copy.add_message(role="user", content="draft")
    assert len(copy.items) == 2
    assert len(agent.chat_ctx.items) == 1
    assert copy.items[0] is agent.chat_ctx.items[0]  # items are shared, not cloned
    await agent.update_chat_ctx(copy)
    assert roles_and_texts(agent.chat_ctx)[-1] == ("user", "draft")


async def test_session_chat_ctx_is_a_read_only_view_of_the_current_agent() -> None:
    async with AgentSession(llm=clinic_llm(), userdata=Visit()) as session:
        await session.start(Reception())
        await session.run(user_input="find it")
        assert [i.id for i in session.chat_ctx.items] == [
            i.id for i in session.current_agent.chat_ctx.items
        ]
        with pytest.raises(RuntimeError):
            session.chat_ctx.add_message(role="user", content="sneaky")
        await session.run(user_input="pharmacy please")
        assert session.chat_ctx.items[0].text_content == "you are the pharmacy"


# --------------------------------------------------------------------------- userdata


async def test_userdata_is_the_same_object_across_handoffs() -> None:
    visit = Visit()
    async with AgentSession(llm=clinic_llm(), userdata=visit) as session:
        await session.start(Reception())
        await session.run(user_input="I am Ada")
        await session.run(user_input="pharmacy please")
        result = await session.run(user_input="refill")

        result.expect.next_event().is_function_call(name="refill")
        result.expect.next_event().is_function_call_output(output="refilled for Ada")
        assert session.userdata is visit
        assert visit.trail == ["reception", "pharmacy"]


async def test_userdata_unset_raises_value_error_in_the_session_and_in_tools() -> None:
    session: AgentSession[Visit] = AgentSession(llm=clinic_llm())
    with pytest.raises(ValueError):
        _ = session.userdata
    async with session:
        await session.start(Reception())
        result = await session.run(user_input="I am Ada")
        # the tool's ValueError is an unexpected exception: hidden from the LLM
        result.expect.next_event().is_function_call(name="register")
        result.expect.next_event().is_function_call_output(
            output="An internal error occurred", is_error=True
        )


# --------------------------------------------------------------------------- agent.session


async def test_agent_session_is_only_available_while_the_agent_is_active() -> None:
    reception = Reception()
    with pytest.raises(RuntimeError):
        _ = reception.session
    async with AgentSession(llm=clinic_llm(), userdata=Visit()) as session:
        await session.start(reception)
        assert reception.session is session
        await session.run(user_input="pharmacy please")
        with pytest.raises(RuntimeError):
            _ = reception.session
        pharmacy = session.current_agent
        assert pharmacy.session is session
    with pytest.raises(RuntimeError):
        _ = pharmacy.session


# --------------------------------------------------------------------------- agent basics


class BillingAgent(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="billing")


def test_ids_default_to_the_class_name_in_snake_case() -> None:
    assert BillingAgent().id == "billing_agent"
    assert Agent(instructions="plain").id == "default_agent"
    assert Agent(instructions="plain", id="front_door").id == "front_door"
    assert Reception().id == "reception"


def test_agents_and_tasks_can_be_built_without_an_event_loop() -> None:
    from voxfsm.agents import AgentTask

    class Survey(AgentTask[int]):
        def __init__(self) -> None:
            super().__init__(instructions="ask one question")

    assert Survey().id == "survey"
    assert [t.name for t in Reception().tools] == ["register", "lookup", "to_pharmacy"]


def make_desk_class(label: str) -> type[Agent]:
    """Two different classes that share the name ``Desk`` (and so the id ``desk``)."""

    class Desk(Agent):
        def __init__(self) -> None:
            super().__init__(instructions=f"desk {label}")

        @function_tool
        async def other_desk(self) -> Agent:
            """Go to the other desk of the same name."""
            return make_desk_class("east" if label == "west" else "west")()

    return Desk


async def test_classes_sharing_a_name_work_side_by_side() -> None:
    llm = ScriptedLLM({"switch": call("other_desk")}, default=reply("ok"))
    async with AgentSession(llm=llm) as session:
        await session.start(make_desk_class("west")())
        await session.run(user_input="switch")
        assert session.current_agent.instructions == "desk east"
        await session.run(user_input="switch")
        assert session.current_agent.instructions == "desk west"
        assert session.machine.state == "desk"
        handoffs = [i for i in session.history.items if i.type == "agent_handoff"]
        assert [(h.old_agent_id, h.new_agent_id) for h in handoffs] == [
            (None, "desk"),
            ("desk", "desk"),
            ("desk", "desk"),
        ]
