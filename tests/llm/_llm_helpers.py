"""Shared pieces of the LLM client tests: a small workflow and a history check."""

from __future__ import annotations

from voxfsm.agents import Agent, AgentSession, FunctionCall, FunctionCallOutput, function_tool
from voxfsm.agents.chat import ChatMessage


class Desk(Agent):
    """An order desk whose tool counts how often it really ran."""

    def __init__(self) -> None:
        super().__init__(instructions="You are an order desk. Use lookup for order questions.")
        self.lookups: list[int] = []

    @function_tool
    async def lookup(self, order_id: int) -> str:
        """Look up an order by its number."""
        self.lookups.append(order_id)
        return f"order {order_id} shipped"


def assert_history_consistent(session: AgentSession, user_inputs: list[str]) -> None:
    """No item twice, every call answered exactly once, each user input stored once, in order."""
    items = session.history.items
    ids = [it.id for it in items]
    assert len(ids) == len(set(ids)), f"duplicated items in history: {items}"
    calls = [it.call_id for it in items if isinstance(it, FunctionCall)]
    outputs = [it.call_id for it in items if isinstance(it, FunctionCallOutput)]
    assert len(calls) == len(set(calls)), f"a call recorded twice: {items}"
    assert sorted(calls) == sorted(outputs), f"calls and outputs do not pair up: {items}"
    users = [it.text_content for it in items if isinstance(it, ChatMessage) and it.role == "user"]
    assert users == user_inputs
