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


def test_inference_vad_keeps_silero_and_defaults_to_the_configured_one(
    clean_inference: None,
) -> None:
    marker = object()
    inference.configure(vad=marker)
    assert inference.VAD(model="silero") is marker  # configured: it wins
    assert inference.VAD() is marker


async def test_audio_frames_from_a_wav_file_and_say_accepts_prerecorded_audio(
    tmp_path: Any,
) -> None:
    import wave

    from voxfsm.agents import Agent, AgentSession
    from voxfsm.agents.utils.audio import audio_frames_from_file

    path = tmp_path / "sorry.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        out.writeframes(b"\x00\x00" * 8000)  # half a second
    frames = [f async for f in audio_frames_from_file(path)]
    assert len(frames) == 25 and frames[0].samples_per_channel == 320

    async with AgentSession(llm=ScriptedLLM({})) as sess:
        await sess.start(Agent(instructions="x"))
        # the text is what is said (and recorded); the prerecorded frames are not played
        await sess.say("Sorry, one moment.", audio=audio_frames_from_file(path))
        said = [m.text_content for m in sess.history.messages() if m.role == "assistant"]
        assert said == ["Sorry, one moment."]


async def test_a_file_that_is_not_16_bit_wav_is_refused_by_name(tmp_path: Any) -> None:
    from voxfsm.agents.utils.audio import audio_frames_from_file

    path = tmp_path / "music.ogg"
    path.write_bytes(b"OggS not really")
    with pytest.raises(ValueError, match=r"music\.ogg: not a 16-bit PCM WAV"):
        [f async for f in audio_frames_from_file(path)]


def test_livekit_plugin_modules_have_offline_stand_ins(clean_inference: None) -> None:
    # `s/livekit.plugins/voxfsm.agents.plugins/` in the imports is the whole edit
    import voxfsm.agents.plugins.deepgram as deepgram_module
    from voxfsm.agents import AgentSession
    from voxfsm.agents.plugins import cartesia, deepgram, noise_cancellation, openai, silero
    from voxfsm.agents.plugins.turn_detector.multilingual import MultilingualModel

    llm = ScriptedLLM({})
    inference.configure(llm=llm, stt=lambda model: None, tts=lambda model: None, vad="webrtc")
    assert deepgram_module is deepgram
    assert openai.LLM(model="gpt-4.1-mini") is llm
    assert openai.realtime.RealtimeModel(voice="echo") is llm
    assert deepgram.STT(model="nova-3") is None and cartesia.TTS() is None
    assert noise_cancellation.BVC() is None
    session = AgentSession(
        llm=openai.LLM(model="gpt-4o-mini"),
        vad=silero.VAD.load(),
        turn_detection=MultilingualModel(),
    )
    assert session.llm is llm
    with pytest.raises(AttributeError, match="no offline stand-in"):
        openai.Embeddings  # noqa: B018
    with pytest.raises(ImportError):
        __import__("voxfsm.agents.plugins.no_such_vendor")
