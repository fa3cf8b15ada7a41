"""Module paths and names LiveKit's public examples import, and what they mean offline."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from voxfsm.agents import (
    AudioConfig,
    BackgroundAudioPlayer,
    BuiltinAudioClip,
    inference,
    room_io,
)
from voxfsm.agents.llm import ScriptedLLM
from voxfsm.agents.llm.tool_context import ToolError, ToolFlag, function_tool
from voxfsm.agents.voice.agent import Agent, AgentTask
from voxfsm.agents.voice.report import SessionReport
from voxfsm.agents.voice.run_result import mock_tools


def test_the_paths_lead_to_the_same_objects() -> None:
    import voxfsm.agents as agents

    assert (Agent, AgentTask, ToolError, ToolFlag) == (
        agents.Agent,
        agents.AgentTask,
        agents.ToolError,
        agents.ToolFlag,
    )
    assert function_tool is agents.function_tool and mock_tools is agents.mock_tools
    assert room_io.RoomOptions(delete_room_on_close=False) is not None
    assert SessionReport.__module__ == "voxfsm.agents.voice.report"


@pytest.fixture
def clean_inference() -> Any:
    inference.reset()
    yield
    inference.reset()


def test_inference_gives_the_configured_model_and_warns_once_per_cloud_name(
    clean_inference: None, caplog: pytest.LogCaptureFixture
) -> None:
    llm = ScriptedLLM({})
    inference.configure(llm=llm)
    caplog.set_level(logging.WARNING, "voxfsm.agents")
    assert inference.LLM("openai/gpt-4.1-mini", extra_kwargs={"temperature": 0.2}) is llm
    assert inference.LLM(model="openai/gpt-4.1-mini") is llm
    warned = [r.getMessage() for r in caplog.records]
    assert len(warned) == 1
    assert "openai/gpt-4.1-mini" in warned[0] and "ScriptedLLM" in warned[0]


def test_inference_reads_a_plugin_string_from_the_environment(
    clean_inference: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from voxfsm.agents.llm import OpenAILLM

    monkeypatch.setenv("VOXFSM_INFERENCE_LLM", "llamacpp/qwen2.5-0.5b-instruct")
    assert isinstance(inference.LLM("google/gemma-4-31b-it"), OpenAILLM)


def test_a_factory_gets_the_cloud_model_name(clean_inference: None) -> None:
    asked: list[str] = []
    inference.configure(tts=lambda model: asked.append(model))
    assert inference.TTS("cartesia/sonic-3", voice="x") is None
    assert asked == ["cartesia/sonic-3"]


async def test_background_audio_is_accepted_and_plays_nothing() -> None:
    player = BackgroundAudioPlayer(
        ambient_sound=AudioConfig(BuiltinAudioClip.OFFICE_AMBIENCE, volume=0.8),
        thinking_sound=[AudioConfig(BuiltinAudioClip.KEYBOARD_TYPING, probability=0.5)],
    )
    await player.start(room=None, agent_session=None)
    handle = player.play(AudioConfig(BuiltinAudioClip.HOLD_MUSIC), loop=True)
    assert handle.done()
    await handle  # never waits
    await player.aclose()
