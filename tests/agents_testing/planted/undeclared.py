"""Planted bug: a tool hands off to an agent it does not declare (the graph cannot show it)."""

from voxfsm.agents import Agent, AgentSession, function_tool


class Billing(Agent):
    """Billing."""

    terminal = True

    def __init__(self) -> None:
        super().__init__(instructions="billing")


class Desk(Agent):
    """Front desk."""

    terminal = True

    def __init__(self) -> None:
        super().__init__(instructions="desk")

    @function_tool
    async def escalate(self):  # no return annotation, no handoff=
        """Escalate."""
        return DESKS["billing"]()  # looked up at run time: no reader of the code can see it


DESKS = {"billing": Billing}


entry = Desk


def make_session() -> AgentSession:
    return AgentSession()
