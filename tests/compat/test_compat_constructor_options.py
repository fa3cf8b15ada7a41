"""Options real LiveKit code passes to AgentSession(), Agent() and start() are accepted."""

from __future__ import annotations

import logging

import pytest

from voxfsm.agents import Agent, AgentSession, AgentTask
from voxfsm.agents.llm import ScriptedLLM, reply
from voxfsm.agents.options import SESSION_OPTIONS


def test_turn_options_are_kept_in_the_units_the_voice_loop_uses() -> None:
    session = AgentSession(
        llm=ScriptedLLM({}),
        turn_detection="vad",
        min_endpointing_delay=0.4,
        max_endpointing_delay=3.0,
        allow_interruptions=False,
        min_interruption_duration=0.6,
        preemptive_generation=True,
        user_away_timeout=20.0,
    )
    opts = session.options
    assert (opts.end_silence_ms, opts.max_end_silence_ms, opts.min_interruption_ms) == (
        400,
        3000,
        600,
    )
    assert opts.allow_interruptions is False and opts.preemptive_generation is True
    assert opts.turn_detection == "vad" and opts.user_away_timeout == 20.0


def test_turn_handling_fields_read_like_the_flat_options() -> None:
    session = AgentSession(
        turn_handling={"endpointing": {"min_delay": 0.3}, "interruption": {"enabled": False}}
    )
    assert session.options.end_silence_ms == 300
    assert session.options.allow_interruptions is False


def test_options_without_offline_meaning_warn_once(caplog: pytest.LogCaptureFixture) -> None:
    from voxfsm.agents import options

    options._warned.discard("ivr_detection")
    with caplog.at_level(logging.WARNING):
        AgentSession(ivr_detection=True)
        AgentSession(ivr_detection=True)
    warnings = [r for r in caplog.records if "ivr_detection" in r.getMessage()]
    assert len(warnings) == 1


def test_a_typo_is_still_a_type_error_naming_the_close_option() -> None:
    with pytest.raises(TypeError, match="min_endpointing_delay"):
        AgentSession(min_endpointing_delya=0.5)


def test_every_listed_session_option_is_accepted() -> None:
    AgentSession(**{name: None for name in SESSION_OPTIONS})


def test_agents_and_tasks_accept_their_livekit_options() -> None:
    agent = Agent(
        instructions="hi", turn_detection="stt", min_endpointing_delay=0.5, mcp_servers=None
    )
    assert agent.options.end_silence_ms == 500
    task: AgentTask[None] = AgentTask(
        instructions="t", preserve_function_call_history=True, turn_detection="vad"
    )
    assert task.preserve_function_call_history


async def test_start_accepts_room_arguments() -> None:
    async with AgentSession(llm=ScriptedLLM({}, default=reply("hi"))) as session:
        await session.start(agent=Agent(instructions="x"), room=object(), room_options={})
        assert session.current_agent.id == "default_agent"
