"""Planted bug: a plain ``def`` tool blocks far longer than any turn may take.

``time.sleep`` stands for a slow HTTP call without a timeout; the session's own tool timeout
(60 s by default) is far away, so the turn is stuck.
"""

import time

from voxfsm.agents import Agent, AgentSession, function_tool


class Desk(Agent):
    """Front desk."""

    terminal = True

    def __init__(self) -> None:
        super().__init__(instructions="desk")

    @function_tool
    def slow_lookup(self) -> str:
        """Look something up in the slow back office."""
        time.sleep(30)
        return "found"


entry = Desk


def make_session() -> AgentSession:
    return AgentSession()
