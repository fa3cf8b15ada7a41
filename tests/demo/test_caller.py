"""SimulatedCaller: turn-taking (it never talks over an agent), repeats, the shared timeline."""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
import pytest

from voxfsm.agents import Agent, AgentSession
from voxfsm.agents.llm import ScriptedLLM, reply

pytestmark = pytest.mark.voice

LINES = ["Hello, I have a question.", "I would like a pizza.", "Thank you, goodbye."]


class _Tone:
    """Agent voice for these tests: 0.5 s of tone per sentence, after ``delay`` seconds."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay

    async def synthesize(self, text: str) -> Any:
        from voxfsm.io.tts import AudioClip

        await asyncio.sleep(self.delay)
        t = np.arange(8000) / 16000
        return AudioClip((3000 * np.sin(2 * np.pi * 220 * t)).astype(np.int16), 16000)


class _Greeter(Agent):
    async def on_enter(self) -> None:
        self.session.generate_reply()


def _session(tts_delay: float) -> AgentSession[Any]:
    # three sentences per answer: 1.5 s of agent audio a caller that does not wait would hit
    llm = ScriptedLLM({}, default=reply("Sure. Let me see. Here you go."), chunk_words=2)
    return AgentSession(llm=llm, tts=_Tone(tts_delay))


def _overlaps(a: Any, b: Any) -> bool:
    return a.start < b.end and b.start < a.end


async def _call(
    realtime: bool, transcripts: list[str], tts_delay: float = 0.0, **caller_options: Any
) -> Any:
    from voxfsm.io import Pyttsx3TTS, ScriptedSTT, VoiceLoop
    from voxfsm.io.sim.caller import SimulatedCaller

    session = _session(tts_delay)
    caller = SimulatedCaller(
        session,
        LINES,
        tts=Pyttsx3TTS(),
        realtime=realtime,
        tail_silence_ms=500,
        **caller_options,
    )
    stt = ScriptedSTT(transcripts)
    loop = VoiceLoop(session, source=caller, sink=caller.sink(), stt=stt, end_silence_ms=300)
    async with session:
        await loop.run(_Greeter(instructions="greet"))
    stt.assert_complete()
    return caller, session


def _check_turn_taking(caller: Any) -> None:
    segments = caller.timeline.segments
    said = [s for s in segments if s.who == "caller"]
    agent = [s for s in segments if s.who != "caller"]
    assert [s.text for s in said] == LINES
    assert len(agent) >= 3 * (len(LINES) + 1), segments  # greeting + one answer per line
    for line in said:
        assert not any(_overlaps(line, a) for a in agent), (line, segments)
    # before every line the agent finished speaking (greeting, or its answer to the last line)
    previous_end = 0.0
    for line in said:
        answers = [a for a in agent if previous_end <= a.start < line.start]
        assert answers, f"the caller said {line.text!r} before the agent answered: {segments}"
        assert line.start >= max(a.end for a in answers)
        previous_end = line.end
    assert any(a.start > said[-1].end for a in agent)  # the last line got its answer too


async def test_real_time_caller_waits_for_the_agent_to_finish() -> None:
    caller, session = await _call(True, LINES)
    assert [t.heard for t in caller.turns] == LINES
    assert all(t.similarity == 1.0 for t in caller.turns)
    assert session.jobs_done >= len(LINES) + 1
    _check_turn_taking(caller)


async def test_fast_caller_waits_too_and_the_timeline_has_both_sides() -> None:
    # a slow voice (0.3 s per sentence): an answer takes longer than the caller's 0.4 s pause
    caller, _ = await _call(False, LINES, tts_delay=0.3)
    _check_turn_taking(caller)
    mix = caller.timeline.mix()
    for seg in caller.timeline.segments:
        part = mix[int(seg.start * 16000) : int(seg.end * 16000)]
        assert np.sqrt(np.mean(part.astype(np.float64) ** 2)) > 300, seg  # sound, not silence
    assert mix.size / 16000 == pytest.approx(caller.timeline.duration, abs=0.01)


async def test_a_line_nobody_heard_is_said_again() -> None:
    # the recognizer hears nothing the first time: no turn runs, so the caller repeats
    caller, _ = await _call(False, ["", *LINES], patience_s=1.0)
    assert caller.turns[0].repeats == 1
    assert [t.heard for t in caller.turns] == LINES
    said = [s.text for s in caller.timeline.segments if s.who == "caller"]
    assert said == [LINES[0], *LINES]


def test_similarity_ignores_case_spacing_and_punctuation() -> None:
    from voxfsm.io.sim.caller import similarity

    assert similarity("I'd like takeaway, please.", "i'd like take away please") == 1.0
    assert similarity("expiry 12/28", "expiry 12-28") == 1.0
    assert similarity("two pizzas", "") == 0.0
    assert 0.5 < similarity("two pizzas and a coffee", "two pizza and a cofee") < 1.0
