"""Departments that pass the caller around: agents kept in userdata, and swaps in tools.

Shaped like python-agents-examples' medical office triage and agent-transfer examples (our
own code): each department is built once and kept in ``userdata``; a tool says a line with
``session.say`` and returns the next department looked up by name; each department's
``on_enter`` publishes its name on the room and carries over the last messages of the one
before.  Another app swaps agents with ``session.update_agent`` inside a tool.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field

from voxfsm.agents import Agent, AgentSession, JobContext, RunContext, WorkerOptions, cli
from voxfsm.agents.llm import ScriptedLLM, call, function_tool, reply
from voxfsm.fsm import build_graph, check_graph


@dataclass
class Office:
    desks: dict[str, Agent] = field(default_factory=dict)
    previous: Agent | None = None
    job: JobContext | None = None


class Department(Agent):
    async def on_enter(self) -> None:
        office: Office = self.session.userdata
        if office.job is not None:
            await office.job.room.local_participant.set_attributes({"desk": type(self).__name__})
        ctx = self.chat_ctx.copy()
        if office.previous is not None:
            carried = [
                i
                for i in office.previous.chat_ctx.items
                if i.type == "message" and i.role in ("user", "assistant")
            ][-4:]
            ctx.items.extend(carried)
        ctx.add_message(role="system", content=f"You are now the {type(self).__name__}.")
        await self.update_chat_ctx(ctx)
        self.session.generate_reply()

    async def _send(self, desk: str, context: RunContext[Office]) -> Agent:
        context.userdata.previous = context.session.current_agent
        return context.userdata.desks[desk]


class Reception(Department):
    def __init__(self) -> None:
        super().__init__(instructions="Route callers to billing or records.")

    @function_tool
    async def to_billing(self, context: RunContext[Office]) -> Agent:
        """Billing and insurance questions."""
        await self.session.say("Connecting you to billing.")
        return await self._send("billing", context)

    @function_tool
    async def to_records(self, context: RunContext[Office]) -> Agent:
        """Medical records requests."""
        await self.session.say("Connecting you to records.")
        return await self._send("records", context)


class Billing(Department):
    def __init__(self) -> None:
        super().__init__(instructions="You answer billing questions.")

    @function_tool
    async def to_reception(self, context: RunContext[Office]) -> Agent:
        """Anything that is not about billing."""
        return await self._send("reception", context)


class Records(Department):
    def __init__(self) -> None:
        super().__init__(instructions="You handle medical records.")

    @function_tool
    async def to_reception(self, context: RunContext[Office]) -> Agent:
        """Anything that is not about records."""
        return await self._send("reception", context)


LLM = ScriptedLLM(
    [
        ("a question about my invoice", call("to_billing")),
        ("and my x-ray records?", call("to_reception")),
        ("records please", call("to_records")),
        (re.compile("^You are now the "), reply("Hello.")),
    ]
)
ROOMS: list[dict[str, str]] = []


async def office_entry(ctx: JobContext) -> None:
    office = Office(job=ctx)
    office.desks = {"reception": Reception(), "billing": Billing(), "records": Records()}
    session = AgentSession[Office](llm=LLM, userdata=office)
    session.on("close", lambda ev: ROOMS.append(dict(ctx.room.local_participant.attributes)))
    await session.start(agent=office.desks["reception"], room=ctx.room)


def test_departments_hand_the_caller_around_by_name() -> None:
    ROOMS.clear()
    out = io.StringIO()
    lines = "a question about my invoice\nand my x-ray records?\nrecords please\n"
    code = cli.run_app(
        WorkerOptions(entrypoint_fnc=office_entry),
        argv=["console"],
        stdin=io.StringIO(lines),
        stdout=out,
    )
    assert code == 0
    said = [line.split("]")[0][1:] for line in out.getvalue().splitlines()]
    assert said == [
        "reception",
        "you",
        "reception",  # its say() inside the tool, before the handoff
        "billing",
        "you",
        "reception",
        "you",
        "reception",
        "records",
    ]
    assert ROOMS == [{"desk": "Records"}]


def test_the_graph_reads_the_desk_names_passed_to_the_helper() -> None:
    graph = build_graph(Reception)
    edges = {(e.source, e.tool, e.target) for e in graph.edges}
    assert edges == {
        ("reception", "to_billing", "billing"),
        ("reception", "to_records", "records"),
        ("billing", "to_reception", "reception"),
        ("records", "to_reception", "reception"),
    }
    assert check_graph(graph) == []


class Brief(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="Answer in five words or fewer.")

    async def on_enter(self) -> None:
        self.session.say("Brief mode.")

    @function_tool
    async def switch_style(self) -> None:
        """Switch to long answers."""
        self.session.update_agent(Verbose())


class Verbose(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="Answer at length.")

    async def on_enter(self) -> None:
        self.session.say("Verbose mode, at your service.")

    @function_tool
    async def switch_style(self) -> None:
        """Switch to short answers."""
        self.session.update_agent(Brief())


async def test_a_tool_that_swaps_agents_with_update_agent() -> None:
    llm = ScriptedLLM({"longer please": call("switch_style"), "shorter": call("switch_style")})
    async with AgentSession(llm=llm) as sess:
        await sess.start(Brief())
        await sess.run(user_input="longer please")
        assert isinstance(sess.current_agent, Verbose)
        await sess.run(user_input="shorter")
        assert isinstance(sess.current_agent, Brief)
    graph = build_graph(Brief)
    assert {(e.source, e.target) for e in graph.edges} == {
        ("brief", "verbose"),
        ("verbose", "brief"),
    }
    assert check_graph(graph) == []
