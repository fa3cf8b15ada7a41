"""Planted bug: two agents whose ``on_enter`` hand straight back to each other.

Each greeting ends by swapping to the other agent from code (meant to be conditional, the
condition was forgotten), so every activation starts the next one: a handoff loop.
"""

from voxfsm.agents import Agent, AgentSession


class Ping(Agent):
    """Ping."""

    def __init__(self) -> None:
        super().__init__(instructions="ping")

    async def on_enter(self) -> None:
        await self.session.say("ping here")
        self.session.update_agent(Pong())  # bug: only when the caller asked for pong


class Pong(Agent):
    """Pong."""

    def __init__(self) -> None:
        super().__init__(instructions="pong")

    async def on_enter(self) -> None:
        await self.session.say("pong here")
        self.session.update_agent(Ping())  # bug: the same, the other way round


entry = Ping


def make_session() -> AgentSession:
    return AgentSession()
