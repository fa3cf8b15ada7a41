"""The multi-agent API: agents are states, tools are guarded transitions.

Names and behaviour mirror LiveKit Agents' multi-agent API, so code written for it ports by
changing imports.  Nothing here touches audio or the network.
"""

from __future__ import annotations

# LiveKit code reaches these as attributes: `from livekit.agents import llm, cli, metrics`
from voxfsm.agents import beta, cli, cloud_plugins, inference, llm, metrics, utils
from voxfsm.agents._exceptions import (
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
)
from voxfsm.agents.agent import Agent, AgentTask
from voxfsm.agents.chat import (
    AgentHandoff,
    ChatContext,
    ChatItem,
    ChatMessage,
    FunctionCall,
    FunctionCallOutput,
)
from voxfsm.agents.context import RunContext
from voxfsm.agents.events import (
    AgentStateChangedEvent,
    CloseEvent,
    ConversationItemAddedEvent,
    ErrorEvent,
    FunctionToolsExecutedEvent,
    MetricsEvent,
    UserInputTranscribedEvent,
    UserStateChangedEvent,
)
from voxfsm.agents.job import (
    AgentServer,
    AutoSubscribe,
    JobContext,
    JobProcess,
    WorkerOptions,
    get_job_context,
)
from voxfsm.agents.mock import mock_tools
from voxfsm.agents.nodes import ModelSettings
from voxfsm.agents.plugins import NOT_GIVEN, NotGivenOr
from voxfsm.agents.run_result import (
    AgentHandoffEvent,
    ChatMessageEvent,
    FunctionCallEvent,
    FunctionCallOutputEvent,
    RunEvent,
    RunResult,
)
from voxfsm.agents.session import AgentSession
from voxfsm.agents.simulation import SimulationContext
from voxfsm.agents.speech import PlayoutResult, ReplyBrokenOff, SpeechHandle
from voxfsm.agents.tools import FunctionTool, StopResponse, ToolError, ToolFlag, function_tool
from voxfsm.agents.voice import room_io
from voxfsm.agents.voice.background_audio import (
    AudioConfig,
    BackgroundAudioPlayer,
    BuiltinAudioClip,
    PlayHandle,
)
from voxfsm.agents.voice.room_io import RoomInputOptions, RoomOutputOptions

__all__ = [
    "NOT_GIVEN",
    "APIConnectionError",
    "APIError",
    "APIStatusError",
    "APITimeoutError",
    "Agent",
    "AgentHandoff",
    "AgentHandoffEvent",
    "AgentServer",
    "AgentSession",
    "AgentStateChangedEvent",
    "AgentTask",
    "AudioConfig",
    "AutoSubscribe",
    "BackgroundAudioPlayer",
    "BuiltinAudioClip",
    "ChatContext",
    "ChatItem",
    "ChatMessage",
    "ChatMessageEvent",
    "CloseEvent",
    "ConversationItemAddedEvent",
    "ErrorEvent",
    "FunctionCall",
    "FunctionCallEvent",
    "FunctionCallOutput",
    "FunctionCallOutputEvent",
    "FunctionTool",
    "FunctionToolsExecutedEvent",
    "JobContext",
    "JobProcess",
    "MetricsEvent",
    "ModelSettings",
    "NotGivenOr",
    "PlayHandle",
    "PlayoutResult",
    "ReplyBrokenOff",
    "RoomInputOptions",
    "RoomOutputOptions",
    "RunContext",
    "RunEvent",
    "RunResult",
    "SimulationContext",
    "SpeechHandle",
    "StopResponse",
    "ToolError",
    "ToolFlag",
    "UserInputTranscribedEvent",
    "UserStateChangedEvent",
    "WorkerOptions",
    "beta",
    "cli",
    "function_tool",
    "get_job_context",
    "inference",
    "llm",
    "metrics",
    "mock_tools",
    "room_io",
    "utils",
]

# `import voxfsm.agents.plugins.openai` (LiveKit's plugin modules, offline) needs a finder
cloud_plugins.install_finder()
