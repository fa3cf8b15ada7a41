"""A small workflow for the serving tests: one tool is slow, so a worker can die inside it.

The slow tool appends its worker's pid to the file named by ``VOXFSM_TEST_MARKER`` when it
starts, so a test knows when to kill that worker.
"""

from __future__ import annotations

import asyncio
import os
import re

from voxfsm.agents import Agent, AgentSession, function_tool
from voxfsm.agents.llm import ScriptedLLM, call, reply


class Billing(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="You handle bills.")

    async def on_enter(self) -> None:
        await self.session.generate_reply(instructions="Say you are billing.")


class Desk(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="You look things up.")

    @function_tool
    async def slow_lookup(self) -> str:
        """Look the caller's account up (takes a while)."""
        marker = os.environ.get("VOXFSM_TEST_MARKER")
        if marker:
            with open(marker, "a") as f:
                f.write(f"{os.getpid()}\n")
        await asyncio.sleep(float(os.environ.get("VOXFSM_TEST_SLOW", "2")))
        return "Account found: all paid up."

    @function_tool
    async def to_billing(self) -> tuple[Billing, str]:
        """Send the caller to billing."""
        return Billing(), "Transferring to billing."


entry = Desk


def make_session() -> AgentSession[None]:
    i = re.IGNORECASE
    llm = ScriptedLLM(
        [
            ("Say you are billing.", reply("Billing here.")),
            (re.compile(r"^Account found"), reply("You are all paid up.")),
            (re.compile(r"^Transferring"), reply("Putting you through.")),
            (re.compile(r"look", i), call("slow_lookup")),
            (re.compile(r"billing", i), call("to_billing")),
        ],
        default=reply("Hello, how can I help?"),
    )
    return AgentSession(llm=llm)
