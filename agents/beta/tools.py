"""``beta.tools``: ready-made tools (LiveKit's ``EndCallTool``)."""

from __future__ import annotations

from typing import Any

from voxfsm.agents.context import RunContext
from voxfsm.agents.tools import FunctionTool


class EndCallTool(FunctionTool):
    """The ``end_call`` tool: says goodbye (with ``end_instructions``), then closes the
    session.  ``delete_room`` is accepted; offline there is no room to delete."""

    ends_call = True  # the graph treats an agent with this tool as an end state

    def __init__(
        self,
        *,
        end_instructions: str = "Say goodbye to the user.",
        delete_room: bool = True,
        **_: Any,
    ) -> None:
        async def end_call(ctx: RunContext) -> None:
            await ctx.session.generate_reply(instructions=end_instructions)
            ctx.session.shutdown()

        super().__init__(
            end_call,
            name="end_call",
            description="End the call: the user is done, or will not cooperate.",
        )
        self.delete_room = delete_room
