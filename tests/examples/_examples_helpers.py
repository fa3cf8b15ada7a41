"""Shared by the example workflow tests (imported by name: pytest puts this folder on the path)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from voxfsm.agents import AgentSession

Starter = Callable[..., Awaitable[AgentSession[Any]]]
"""The ``start`` fixture: ``await start(agent, script, userdata, **session_kwargs)``."""
