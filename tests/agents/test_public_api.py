"""The names API.md promises are importable from where it says."""

from __future__ import annotations

import importlib

import pytest

AGENTS = [
    "Agent",
    "AgentTask",
    "AgentSession",
    "RunContext",
    "function_tool",
    "ToolError",
    "StopResponse",
    "ChatContext",
    "ChatMessage",
    "FunctionCall",
    "FunctionCallOutput",
    "AgentHandoff",
    "RunResult",
    "mock_tools",
    "NOT_GIVEN",
]
LLM = ["ScriptedLLM", "reply", "call", "OpenAILLM"]


@pytest.mark.parametrize(("module", "name"), [("voxfsm.agents", n) for n in AGENTS])
def test_agents_exports(module: str, name: str) -> None:
    assert getattr(importlib.import_module(module), name) is not None


@pytest.mark.parametrize(("module", "name"), [("voxfsm.agents.llm", n) for n in LLM])
def test_llm_exports(module: str, name: str) -> None:
    assert callable(getattr(importlib.import_module(module), name))


def test_errors_are_exceptions() -> None:
    from voxfsm.agents import StopResponse, ToolError

    assert issubclass(ToolError, Exception)
    assert issubclass(StopResponse, Exception)
    assert ToolError("shown to the model").message == "shown to the model"
