"""LiveKit import lines work with only the package name changed."""

from __future__ import annotations

import importlib

import pytest


@pytest.mark.parametrize(
    ("module", "names"),
    [
        (
            "voxfsm.agents",
            "Agent AgentSession AgentTask RunContext JobContext JobProcess WorkerOptions "
            "AgentServer ModelSettings ToolError StopResponse function_tool get_job_context "
            "ChatContext ChatMessage FunctionCall FunctionCallOutput mock_tools cli llm metrics "
            "utils NOT_GIVEN NotGivenOr AutoSubscribe RoomInputOptions RoomOutputOptions beta",
        ),
        (
            "voxfsm.agents.llm",
            "function_tool ChatContext ChatMessage ChatRole ChatItem FunctionCall "
            "FunctionCallOutput ToolError StopResponse ToolFlag FunctionTool FunctionToolCall "
            "ChatChunk ChoiceDelta CompletionUsage LLM LLMStream AgentHandoff "
            "find_function_tools is_function_tool",
        ),
        (
            "voxfsm.agents.voice",
            "Agent AgentSession AgentTask RunContext MetricsCollectedEvent ModelSettings "
            "ConversationItemAddedEvent AgentStateChangedEvent UserInputTranscribedEvent "
            "FunctionToolsExecutedEvent SpeechHandle CloseEvent ErrorEvent",
        ),
        ("voxfsm.agents.voice.run_result", "RunResult"),
        ("voxfsm.agents.voice.room_io", "RoomOptions AudioInputOptions RoomInputOptions"),
        ("voxfsm.agents.beta", "Instructions EndCallTool workflows tools"),
        (
            "voxfsm.agents.beta.workflows",
            "GetEmailTask GetEmailResult GetAddressTask GetAddressResult GetDtmfTask "
            "GetDtmfResult TaskGroup TaskGroupResult GetNameTask GetPhoneNumberTask GetDOBTask",
        ),
        (
            "voxfsm.agents.metrics",
            "LLMMetrics STTMetrics TTSMetrics EOUMetrics UsageCollector UsageSummary log_metrics",
        ),
        ("voxfsm.agents.job", "JobContext JobProcess get_job_context"),
        ("voxfsm.agents.cli", "run_app"),
    ],
)
def test_the_livekit_names_are_importable(module: str, names: str) -> None:
    mod = importlib.import_module(module)
    missing = [n for n in names.split() if not hasattr(mod, n)]
    assert missing == []


def test_llm_module_attributes_are_the_same_objects_as_the_top_level_ones() -> None:
    from voxfsm.agents import ChatContext, function_tool, llm

    assert llm.ChatContext is ChatContext
    assert llm.function_tool is function_tool
    ctx = llm.ChatContext()
    ctx.add_message(role="user", content="hi")
    assert ctx.items[0].text_content == "hi"


def test_find_function_tools_lists_an_agents_tools() -> None:
    from voxfsm.agents import Agent
    from voxfsm.agents.llm import find_function_tools, function_tool, is_function_tool

    class Desk(Agent):
        def __init__(self) -> None:
            super().__init__(instructions="desk")

        @function_tool
        async def hours(self) -> str:
            """Opening hours."""
            return "9-5"

    tools = find_function_tools(Desk())
    assert [t.name for t in tools] == ["hours"]
    assert is_function_tool(tools[0])
