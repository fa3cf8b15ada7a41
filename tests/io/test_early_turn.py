"""Adaptive endpointing and preemptive generation: which silence ends a turn, and a reply
asked for before the turn is confirmed that is used, or dropped without a trace.

Noise bursts read in real time stand for words (an energy VAD finds them); a recognizer
double reports, as a streaming engine does, the phrases of the bursts it has heard so far.
Endpoint delays are read from the turn's ``endpoint_ms``, which is the silence (counted in
20 ms audio frames) the loop waited after the speech: a count, not a timing.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from test_loop_faults import EnergyVAD, FakeTTS, RecordingSink, assert_consistent, turns

from voxfsm.agents import Agent, AgentSession, MetricsEvent
from voxfsm.agents.chat import ChatMessage
from voxfsm.agents.llm import LLMChunk
from voxfsm.io import VoiceLoop, WavSource
from voxfsm.io.audio import write_wav
from voxfsm.io.format import FRAME_SAMPLES, SAMPLE_RATE
from voxfsm.io.stt import Transcript
from voxfsm.io.turn_end import sounds_complete

pytestmark = pytest.mark.voice


def test_a_finished_sentence_is_told_from_one_that_trails_off() -> None:
    assert sounds_complete("I was charged twice this month.") is True
    assert sounds_complete("Thank you.") is True
    assert sounds_complete("yes please") is True  # an engine without punctuation (vosk)
    assert sounds_complete("I was charged twice and") is False
    assert sounds_complete("Can you transfer me to") is False
    assert sounds_complete("I need help with my,") is False
    assert sounds_complete("Well, um") is False
    assert sounds_complete("Hmm...") is False
    # punctuated, but no full stop: the engine did not hear the sentence end
    assert sounds_complete("Well, I think") is False
    assert sounds_complete("   ") is None


class PhraseSTT:
    """Hears one phrase per noise burst: partials list the phrases of the bursts begun."""

    def __init__(self, utterances: list[list[str]]) -> None:
        self.utterances = utterances
        self.finished: list[str] = []

    def stream(self) -> PhraseStream:
        return PhraseStream(self)

    async def transcribe(self, pcm: bytes) -> str:
        raise AssertionError("not used: the loop streams")


class PhraseStream:
    def __init__(self, stt: PhraseSTT) -> None:
        self.stt = stt
        self.bursts = 0
        self.loud = False
        self.said = ""

    def accept(self, pcm: bytes) -> Transcript | None:
        samples = np.frombuffer(pcm, dtype="<i2")
        for frame in samples[: samples.size // FRAME_SAMPLES * FRAME_SAMPLES].reshape(
            -1, FRAME_SAMPLES
        ):
            loud = float(np.sqrt(np.mean(np.square(frame, dtype=np.float64)))) > 500
            self.bursts += loud and not self.loud
            self.loud = loud
        phrases = self.stt.utterances[len(self.stt.finished)]
        text = " ".join(phrases[: self.bursts])
        if text == self.said:
            return None
        self.said = text
        return Transcript(text, False)

    def finish(self) -> Transcript:
        text = " ".join(self.stt.utterances[len(self.stt.finished)])
        self.stt.finished.append(text)
        self.bursts, self.loud, self.said = 0, False, ""
        return Transcript(text, True)

    def close(self) -> None:
        return None


class PacedLLM:
    """Answers every request in three pieces 150 ms apart; records each request's user text
    and whether its stream was abandoned before the end."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.asked_at: list[float] = []

    async def chat(self, *, chat_ctx: Any, **_: Any) -> AsyncIterator[LLMChunk]:
        last = chat_ctx.items[-1]
        request = {"user": last.text_content, "abandoned": True}
        self.requests.append(request)
        self.asked_at.append(asyncio.get_running_loop().time())
        for piece in ["Sure, ", "I can ", "help."]:
            await asyncio.sleep(0.15)
            yield LLMChunk(piece)
        request["abandoned"] = False


def speech_wav(path: Path, bursts: list[tuple[float, float]], tail_s: float = 1.5) -> Path:
    """Noise bursts (length, then the silence after it, in seconds) after 0.3 s of silence."""
    rng = np.random.default_rng(3)
    parts = [np.zeros(int(0.3 * SAMPLE_RATE), np.int16)]
    for i, (burst_s, gap_s) in enumerate(bursts):
        parts.append(rng.integers(-8000, 8000, int(burst_s * SAMPLE_RATE)).astype(np.int16))
        gap = gap_s if i < len(bursts) - 1 else tail_s
        parts.append(np.zeros(int(gap * SAMPLE_RATE), np.int16))
    write_wav(path, np.concatenate(parts))
    return path


async def run_call(
    tmp_path: Path,
    stt: Any,
    llm: Any,
    bursts: list[tuple[float, float]],
    *,
    preemptive: bool = False,
    confirmed: list[float] | None = None,
) -> tuple[AgentSession[Any], list[dict[str, float]]]:
    """One call through the loop; ``confirmed`` gets the times the turns were confirmed."""
    confirmed = [] if confirmed is None else confirmed
    session = AgentSession(llm=llm, stt=stt, tts=FakeTTS())
    metrics: list[dict[str, float]] = []
    session.on(
        "user_state_changed",
        lambda ev: (
            confirmed.append(asyncio.get_running_loop().time())
            if ev.new_state == "listening"
            else None
        ),
    )
    session.on(
        "metrics_collected",
        lambda ev: metrics.append(dict(ev.values)) if isinstance(ev, MetricsEvent) else None,
    )
    loop = VoiceLoop(
        session,
        source=WavSource(speech_wav(tmp_path / "in.wav", bursts), realtime=True),
        sink=RecordingSink(tmp_path / "out.wav"),
        vad=EnergyVAD(),
        end_silence_ms=600,
        min_end_silence_ms=200,
        max_end_silence_ms=1000,
        preemptive=preemptive,
        min_interruption_ms=10_000,
    )
    await loop.run(Agent(instructions="a desk"))
    await session.aclose()
    return session, metrics


@pytest.mark.parametrize(
    ("phrase", "waited"),
    [
        ("I was charged twice.", "short"),  # finished: the short silence ends the turn
        ("I was charged twice and", "long"),  # trails off: the long one
    ],
)
async def test_the_endpoint_waits_less_after_a_finished_sentence(
    tmp_path: Path, phrase: str, waited: str
) -> None:
    stt = PhraseSTT([[phrase]])
    session, metrics = await run_call(tmp_path, stt, PacedLLM(), [(0.5, 0.0)])

    (turn,) = metrics
    if waited == "short":
        assert 200 <= turn["endpoint_ms"] < 600
    else:
        assert turn["endpoint_ms"] >= 1000
    assert turns(session)[0] == ("user", phrase, False)


async def test_without_a_transcript_the_usual_silence_ends_the_turn(tmp_path: Path) -> None:
    class Mute(PhraseSTT):  # a batch engine: nothing until the utterance is over
        def stream(self) -> PhraseStream:
            stream = PhraseStream(self)
            stream.accept = lambda pcm: None  # type: ignore[method-assign]
            return stream

    _, metrics = await run_call(
        tmp_path, Mute([["I was charged twice."]]), PacedLLM(), [(0.5, 0.0)]
    )
    (turn,) = metrics
    assert 600 <= turn["endpoint_ms"] < 1000


async def test_a_preemptive_reply_is_used_when_the_turn_is_confirmed(tmp_path: Path) -> None:
    llm = PacedLLM()
    stt = PhraseSTT([["I was charged twice."]])
    confirmed: list[float] = []
    session, metrics = await run_call(
        tmp_path, stt, llm, [(0.5, 0.0)], preemptive=True, confirmed=confirmed
    )

    # one request, made before the turn was confirmed, and its reply is what was said
    assert llm.requests == [{"user": "I was charged twice.", "abandoned": False}]
    assert llm.asked_at[0] < confirmed[0]
    assert 200 <= metrics[0]["endpoint_ms"] < 600
    assert turns(session) == [
        ("user", "I was charged twice.", False),
        ("assistant", "Sure, I can help.", False),
    ]
    assert_consistent(session)


async def test_speech_that_resumes_cancels_the_preemptive_reply(tmp_path: Path) -> None:
    """A pause shorter than any endpoint delay: the reply asked on "I need help" is dropped
    when the user goes on, and the turn is answered once, on everything said."""
    llm = PacedLLM()
    stt = PhraseSTT([["I need help", "with my bill."]])
    session, _ = await run_call(tmp_path, stt, llm, [(0.4, 0.16), (0.4, 0.0)], preemptive=True)

    assert llm.requests == [
        {"user": "I need help", "abandoned": True},
        {"user": "I need help with my bill.", "abandoned": False},
    ]
    # no duplicated or lost user turn, and no trace of the dropped reply
    assert turns(session) == [
        ("user", "I need help with my bill.", False),
        ("assistant", "Sure, I can help.", False),
    ]
    users = [i for i in session.history.items if isinstance(i, ChatMessage) and i.role == "user"]
    assert len(users) == 1
    assert_consistent(session)


async def test_a_preemptive_reply_to_other_words_is_not_used(tmp_path: Path) -> None:
    """The final transcript differs from the early one: the early reply is dropped and the
    turn asks again."""

    class Revising(PhraseSTT):
        def stream(self) -> PhraseStream:
            stream = PhraseStream(self)
            finish = stream.finish

            def revised() -> Transcript:
                finish()
                return Transcript("I was charged three times.", True)

            stream.finish = revised  # type: ignore[method-assign]
            return stream

    llm = PacedLLM()
    session, _ = await run_call(
        tmp_path, Revising([["I was charged twice."]]), llm, [(0.5, 0.0)], preemptive=True
    )

    assert [r["user"] for r in llm.requests] == [
        "I was charged twice.",
        "I was charged three times.",
    ]
    assert llm.requests[0]["abandoned"] and not llm.requests[1]["abandoned"]
    assert turns(session) == [
        ("user", "I was charged three times.", False),
        ("assistant", "Sure, I can help.", False),
    ]


def test_livekit_turn_options_on_the_session_set_the_loops_turn_taking(tmp_path: Path) -> None:
    session = AgentSession(
        llm=PacedLLM(),
        min_endpointing_delay=0.4,
        max_endpointing_delay=1.5,
        min_interruption_duration=0.25,
        preemptive_generation=True,
    )
    source = WavSource(speech_wav(tmp_path / "in.wav", [(0.1, 0.0)]))
    loop = VoiceLoop(session, source=source, sink=RecordingSink(tmp_path / "out.wav"))
    assert (loop.end_silence_ms, loop.max_end_silence_ms, loop.min_interruption_ms) == (
        400,
        1500,
        250,
    )
    assert loop.preemptive is True
    # what the loop is given itself wins over the session's options
    explicit = VoiceLoop(
        session, source=source, sink=RecordingSink(tmp_path / "o2.wav"), preemptive=False
    )
    assert explicit.preemptive is False
