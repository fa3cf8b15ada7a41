"""A workflow with a bug for the check tests: ``go`` hands off without declaring it."""

from __future__ import annotations

from typing import Any

from voxfsm.agents import Agent, function_tool


class Back(Agent):
    terminal = True

    def __init__(self) -> None:
        super().__init__(instructions="The back office.")

    @function_tool
    async def note(self, text: str) -> str:
        """Write a note."""
        return f"noted {text}"


class Front(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="The front desk.")

    @function_tool
    async def go(self) -> Any:
        """Go to the back office (declared nowhere, nor readable from this code: the bug)."""
        return [Back][0]()

    @function_tool(handoff=Back)
    async def to_back(self) -> Back:
        """Go to the back office, declared."""
        return Back()


entry = Front
