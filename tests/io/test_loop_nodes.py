"""Pipeline nodes in voice mode: the active agent's ``stt_node``, ``tts_node`` and
``transcription_node`` decide what is recognised, heard and recorded.

Same doubles as the fault tests: noise bursts read in real time, an energy VAD, a scripted
recognizer and a fake voice whose clips encode the sentence they say.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from test_loop_faults import (
    EnergyVAD,
    FakeTTS,
    RecordingSink,
    assert_consistent,
    bursts_wav,
    errors_of,
    make_loop,
    turns,
)

from voxfsm.agents import Agent, AgentSession, ModelSettings, UserInputTranscribedEvent
from voxfsm.agents.llm import ScriptedLLM, call, reply
from voxfsm.agents.nodes import SpeechData, SpeechEvent, SpeechEventType
from voxfsm.io import ScriptedSTT, VoiceLoop, WavSource
from voxfsm.io.format import SAMPLE_RATE
from voxfsm.io.tts.base import AudioClip

pytestmark = pytest.mark.voice


class Spelling(Agent):
    """Fixes what the recognizer hears, on top of the default recognition."""

    def __init__(self) -> None:
        super().__init__(instructions="spelling")
        self.audio_bytes = 0

    async def stt_node(
        self, audio: AsyncIterable[bytes], model_settings: ModelSettings
    ) -> AsyncIterator[SpeechEvent]:
        async def counted() -> AsyncIterator[bytes]:
            async for pcm in audio:
                self.audio_bytes += len(pcm)
                yield pcm

        async for event in Agent.default.stt_node(self, counted(), model_settings):
            if event.type == SpeechEventType.FINAL_TRANSCRIPT:
                event.alternatives[0].text = event.alternatives[0].text.replace("acount", "account")
            yield event


class Loud(Agent):
    """Speaks every reply in capitals (the default voice, other text)."""

    def __init__(self) -> None:
        super().__init__(instructions="loud")

    async def tts_node(
        self, text: AsyncIterable[str], model_settings: ModelSettings
    ) -> AsyncIterator[AudioClip]:
        async def upper() -> AsyncIterator[str]:
            async for piece in text:
                yield piece.upper()

        async for clip in Agent.default.tts_node(self, upper(), model_settings):
            yield clip


async def test_an_stt_node_override_changes_what_is_recognised(tmp_path: Path) -> None:
    stt = ScriptedSTT(["check my acount", "thanks"], partials=True)
    llm = ScriptedLLM({"check my account": reply("Done."), "thanks": reply("Bye.")})
    session = AgentSession(llm=llm, stt=stt, tts=FakeTTS())
    heard: list[UserInputTranscribedEvent] = []
    session.on("user_input_transcribed", heard.append)
    agent = Spelling()

    source = WavSource(bursts_wav(tmp_path / "in.wav", 2), realtime=True)
    await make_loop(session, source, RecordingSink(tmp_path / "out.wav")).run(agent)
    await session.aclose()

    stt.assert_complete()
    assert turns(session) == [
        ("user", "check my account", False),
        ("assistant", "Done.", False),
        ("user", "thanks", False),
        ("assistant", "Bye.", False),
    ]
    # the node saw all the audio the recognizer got, and its interim results were shown
    assert agent.audio_bytes == sum(len(u) for u in stt.utterances) > 0
    assert any(not ev.is_final and ev.transcript == "check" for ev in heard)
    assert [ev.transcript for ev in heard if ev.is_final] == ["check my account", "thanks"]


async def test_a_tts_node_override_changes_what_is_heard_but_not_what_is_recorded(
    tmp_path: Path,
) -> None:
    tts = FakeTTS()
    session = AgentSession(
        llm=ScriptedLLM({"hello": reply("Hi there. How are you?")}),
        stt=ScriptedSTT(["hello"]),
        tts=tts,
    )
    sink = RecordingSink(tmp_path / "out.wav")

    source = WavSource(bursts_wav(tmp_path / "in.wav", 1), realtime=True)
    await make_loop(session, source, sink).run(Loud())
    await session.aclose()

    assert tts.sentences == ["HI THERE.", "HOW ARE YOU?"]  # sentence by sentence, as changed
    assert turns(session)[-1] == ("assistant", "Hi there. How are you?", False)
    assert sink.played_chars() == len("HI THERE.") + len("HOW ARE YOU?")


class Beeper(Agent):
    """Makes its own audio (one beep per reply), never asking the TTS."""

    def __init__(self) -> None:
        super().__init__(instructions="beeper")

    async def on_enter(self) -> None:
        await self.session.generate_reply(instructions="Beep.")

    async def tts_node(
        self, text: AsyncIterable[str], model_settings: ModelSettings
    ) -> AsyncIterator[AudioClip]:
        words = "".join([piece async for piece in text]).split()
        yield AudioClip(np.full(len(words) * 800, 2000, np.int16), SAMPLE_RATE)


async def test_nodes_are_those_of_the_agent_active_now(tmp_path: Path) -> None:
    from voxfsm.agents import function_tool

    class Front(Agent):
        def __init__(self) -> None:
            super().__init__(instructions="front")

        @function_tool
        async def to_beeper(self) -> tuple[Beeper, str]:
            """Go to the beeper."""
            return Beeper(), "Transferring."

    tts = FakeTTS()
    llm = ScriptedLLM(
        {
            "first": reply("Front desk here."),
            "second": call("to_beeper"),
            "Transferring.": reply("Putting you through."),
            "Beep.": reply("One two three four."),
        }
    )
    session = AgentSession(llm=llm, stt=ScriptedSTT(["first", "second"]), tts=tts)
    sink = RecordingSink(tmp_path / "out.wav")

    source = WavSource(bursts_wav(tmp_path / "in.wav", 2, tail_s=1.5), realtime=True)
    await make_loop(session, source, sink).run(Front())
    await session.aclose()

    assert session.current_agent.id == "beeper"
    # the front desk spoke through the TTS, the beeper (active after the handoff) never
    assert tts.sentences == ["Front desk here.", "Putting you through."]
    assert sink.results[-1][0] == 4 * 800  # its own clip: one beep as long as four words
    assert turns(session)[-1] == ("assistant", "One two three four.", False)


class Censor(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="censor")

    async def transcription_node(
        self, text: AsyncIterable[str], model_settings: ModelSettings
    ) -> AsyncIterator[str]:
        async for piece in text:
            yield piece.replace("darn", "****")


async def test_a_transcription_node_changes_what_is_recorded_in_voice_mode(
    tmp_path: Path,
) -> None:
    tts = FakeTTS()
    session = AgentSession(
        llm=ScriptedLLM({"hello": reply("Oh darn.")}), stt=ScriptedSTT(["hello"]), tts=tts
    )
    source = WavSource(bursts_wav(tmp_path / "in.wav", 1), realtime=True)
    await make_loop(session, source, RecordingSink(tmp_path / "out.wav")).run(Censor())
    await session.aclose()

    assert tts.sentences == ["Oh darn."]  # spoken as the LLM wrote it
    assert turns(session)[-1] == ("assistant", "Oh ****.", False)  # recorded as transcribed


class Broken(Agent):
    """Each node fails on the first use only."""

    def __init__(self, node: str) -> None:
        super().__init__(instructions="broken")
        self.node, self.failed = node, False

    def _fail_once(self) -> None:
        if not self.failed:
            self.failed = True
            raise ValueError(f"{self.node} exploded")

    async def stt_node(
        self, audio: AsyncIterable[bytes], model_settings: ModelSettings
    ) -> AsyncIterator[Any]:
        async for event in Agent.default.stt_node(self, audio, model_settings):
            if self.node == "stt_node":
                self._fail_once()
            yield event

    async def tts_node(
        self, text: AsyncIterable[str], model_settings: ModelSettings
    ) -> AsyncIterator[AudioClip]:
        if self.node == "tts_node":
            self._fail_once()
        async for clip in Agent.default.tts_node(self, text, model_settings):
            yield clip

    async def transcription_node(
        self, text: AsyncIterable[str], model_settings: ModelSettings
    ) -> AsyncIterator[str]:
        if self.node == "transcription_node":
            self._fail_once()
        async for piece in text:
            yield piece


@pytest.mark.parametrize("node", ["stt_node", "tts_node", "transcription_node"])
async def test_a_node_that_raises_gives_one_error_and_the_session_goes_on(
    tmp_path: Path, node: str
) -> None:
    stt = ScriptedSTT(["one", "two"])
    tts = FakeTTS()
    session = AgentSession(
        llm=ScriptedLLM({"one": reply("First."), "two": reply("Second.")}), stt=stt, tts=tts
    )
    errors = errors_of(session)

    source = WavSource(bursts_wav(tmp_path / "in.wav", 2), realtime=True)
    await make_loop(session, source, RecordingSink(tmp_path / "out.wav")).run(Broken(node))
    await session.aclose()

    (error,) = errors
    assert error.source == {"stt_node": "stt", "tts_node": "tts"}.get(node, node)
    assert f"the {node} of agent 'broken' raised ValueError: {node} exploded" in str(error.error)
    assert_consistent(session)
    expected = {
        # the utterance is dropped; the next one is recognised
        "stt_node": [("user", "two", False), ("assistant", "Second.", False)],
        # nothing of the first reply could be played: its text is kept, as interrupted
        "tts_node": [
            ("user", "one", False),
            ("assistant", "First.", True),
            ("user", "two", False),
            ("assistant", "Second.", False),
        ],
        # recorded as the LLM wrote it
        "transcription_node": [
            ("user", "one", False),
            ("assistant", "First.", False),
            ("user", "two", False),
            ("assistant", "Second.", False),
        ],
    }[node]
    assert turns(session) == expected
    assert tts.sentences[-1] == "Second."


async def test_a_hanging_stt_node_is_bounded(tmp_path: Path) -> None:
    class Stuck(Agent):
        def __init__(self) -> None:
            super().__init__(instructions="stuck")

        async def stt_node(
            self, audio: AsyncIterable[bytes], model_settings: ModelSettings
        ) -> AsyncIterator[str]:
            import asyncio

            await asyncio.Event().wait()  # never answers
            yield ""

    session = AgentSession(llm=ScriptedLLM({}), stt=ScriptedSTT([]), tts=FakeTTS())
    errors = errors_of(session)
    loop = VoiceLoop(
        session,
        source=WavSource(bursts_wav(tmp_path / "in.wav", 1), realtime=True),
        sink=RecordingSink(tmp_path / "out.wav"),
        vad=EnergyVAD(),
        end_silence_ms=300,
        node_timeout_s=0.2,
    )
    await loop.run(Stuck())
    await session.aclose()

    (error,) = errors
    assert "within 0.2 s" in str(error.error) and "node_timeout_s" in str(error.error)
    assert turns(session) == []


async def test_the_default_nodes_can_be_called_directly() -> None:
    stt = ScriptedSTT(["hello there"])
    tts = FakeTTS()
    session = AgentSession(llm=ScriptedLLM({}), stt=stt, tts=tts)
    agent = Agent(instructions="plain")
    await session.start(agent)

    async def audio() -> AsyncIterator[bytes]:
        yield b"\0\0" * 320
        yield b"\0\0" * 320

    events = [ev async for ev in Agent.default.stt_node(agent, audio(), ModelSettings())]
    assert events == [SpeechEvent(SpeechEventType.FINAL_TRANSCRIPT, [SpeechData("hello there")])]
    assert stt.utterances == [b"\0\0" * 640]

    async def text() -> AsyncIterator[str]:
        for piece in ["Sure, I can ", "do that. Anything ", "else?"]:
            yield piece

    clips = [c async for c in Agent.default.tts_node(agent, text(), ModelSettings())]
    assert tts.sentences == ["Sure, I can do that.", "Anything else?"]
    assert [len(c.samples) for c in clips] == [len(s) * 40 for s in tts.sentences]
    await session.aclose()
