"""Fixtures for the example workflow tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from _examples_helpers import Starter

from voxfsm.agents import Agent, AgentSession
from voxfsm.agents.llm import ScriptedLLM


@pytest.fixture
async def start() -> AsyncIterator[Starter]:
    """``await start(agent, script, userdata)``: a started session with the test's own script.

    The session's LLM is ``ScriptedLLM(script)`` (``session.llm``); every session is closed
    after the test.
    """
    sessions: list[AgentSession[Any]] = []

    async def _start(agent: Agent, script: Any, userdata: Any, **kwargs: Any) -> AgentSession[Any]:
        session: AgentSession[Any] = AgentSession(
            llm=ScriptedLLM(script), userdata=userdata, **kwargs
        )
        sessions.append(session)
        await session.start(agent)
        return session

    yield _start
    for session in sessions:
        await session.aclose()
