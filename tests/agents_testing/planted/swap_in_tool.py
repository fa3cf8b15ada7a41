"""Planted bug: a handing-off tool also calls ``update_agent`` (two changes of agent at once).

``escalate`` swaps to ``Audit`` from code *and* returns ``Billing``: which agent is active
afterwards is not what either line says alone.
"""

from voxfsm.agents import Agent, AgentSession, RunContext, function_tool


class Audit(Agent):
    """Audit."""

    terminal = True

    def __init__(self) -> None:
        super().__init__(instructions="audit")


class Billing(Agent):
    """Billing."""

    terminal = True

    def __init__(self) -> None:
        super().__init__(instructions="billing")


class Desk(Agent):
    """Front desk."""

    def __init__(self) -> None:
        super().__init__(instructions="desk")

    @function_tool
    async def escalate(self, ctx: RunContext) -> Billing:
        """Escalate the call to billing."""
        ctx.session.update_agent(Audit())  # bug: the tool's own result hands off as well
        return Billing()


entry = Desk


def make_session() -> AgentSession:
    return AgentSession()
