"""Fixtures for the LLM client tests: the loopback server (the public fixture) and a variant."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from voxfsm.agents.llm.testing import ChatCompletionsServer, openai_server  # noqa: F401


@pytest.fixture
def interleaving_server() -> Iterator[ChatCompletionsServer]:
    """A server that interleaves the argument fragments of parallel tool calls."""
    with ChatCompletionsServer(interleave=True, fragment=3) as server:
        yield server
