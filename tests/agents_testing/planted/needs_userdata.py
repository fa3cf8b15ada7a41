"""A workflow that reads userdata, shipped without make_session(): a usage error, once."""

from voxfsm.agents import Agent, RunContext, function_tool


class Desk(Agent):
    """Front desk."""

    terminal = True

    def __init__(self) -> None:
        super().__init__(instructions="desk")

    @function_tool
    async def name(self, ctx: RunContext[dict]) -> str:
        """The caller's name."""
        return str(ctx.userdata["name"])


entry = Desk
