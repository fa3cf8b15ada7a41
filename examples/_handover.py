"""Agents that take over a caller from a colleague and know what was just said.

Shared by the workflows whose agents pass a caller around (restaurant, medical triage): the
agent handing over calls ``Target.take_over_from(self)``; when the target enters, it merges
the last few turns of its predecessor into its own context, adds a briefing note, and greets.
Agents are reused within a session, so an agent the caller returns to remembers its own turns.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, TypeVar, cast

from voxfsm.agents import Agent, AgentSession

A = TypeVar("A", bound="HandoverAgent")


class HandoverAgent(Agent):
    """An agent that reads its predecessor's recent turns when it takes over.

    Subclasses say how to greet on entry (:meth:`greeting`, ephemeral instructions) and may add
    a briefing (:meth:`briefing`, e.g. what userdata holds so far).
    """

    carry_messages: ClassVar[int] = 6
    """How many of the predecessor's last user/assistant messages to carry over."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._predecessor: Agent | None = None

    def take_over_from(self: A, predecessor: Agent) -> A:
        """Remember who hands over; their turns are read on entry, when they are final."""
        self._predecessor = predecessor
        return self

    def greeting(self) -> str:
        """Instructions for the reply this agent gives on entry."""
        return "Greet the caller and say how you can help."

    def briefing(self) -> str:
        """A system note added on entry after a handoff (empty: none)."""
        return ""

    async def on_enter(self) -> None:
        predecessor, self._predecessor = self._predecessor, None
        if predecessor is not None:
            # Read the predecessor now rather than in the transfer tool: by now its tool output
            # and its transition message are in its context too.
            # Messages only: the predecessor's tool calls are not ours to show the LLM (the
            # context would drop them anyway) and would use up the window.
            recent = predecessor.chat_ctx.copy(
                exclude_function_call=True, exclude_instructions=True, exclude_handoff=True
            )
            recent.truncate(max_items=self.carry_messages)
            ctx = self.chat_ctx.copy()
            ctx.merge(recent)
            note = self.briefing()
            if note:
                # one briefing per agent, refreshed on every entry rather than piling up
                note_id = f"briefing.{self.id}"
                if ctx.get_by_id(note_id) is not None:
                    ctx.remove(note_id)
                ctx.add_message(role="system", content=note, id=note_id)
            await self.update_chat_ctx(ctx)
        # tool_choice="none": an agent that just took over speaks first and cannot chain
        # straight into another transfer before the caller has said anything.
        await self.session.generate_reply(instructions=self.greeting(), tool_choice="none")


def reuse(session: AgentSession[Any], cls: Callable[[], A]) -> A:
    """The agent of class ``cls`` this session already used, or a new one.

    Reusing the instance keeps the context of its earlier turns, as a colleague would.
    """
    for agent in session.visited_agents.values():
        if type(agent) is cls:
            return cast(A, agent)
    return cls()
