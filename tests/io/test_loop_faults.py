"""Fault injection for the voice loop: nothing lost, nothing leaks.

Every fault must give one clear ``error`` event, leave ``session.history`` consistent (each
function call answered exactly once, no duplicate ids) and either keep the loop listening or
end ``run()`` cleanly so ``session.aclose()`` still runs the active agent's ``on_exit``.

No audio devices and no speech engines: a WAV file of noise bursts (one per utterance) is
read in real time, an energy VAD finds the bursts, ``ScriptedSTT`` "hears" them, and a fake
TTS turns each sentence into a clip whose length encodes the sentence.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from voxfsm.agents import (
    Agent,
    AgentHandoff,
    AgentSession,
    ChatMessage,
    ErrorEvent,
    FunctionCall,
    FunctionCallOutput,
    function_tool,
)
from voxfsm.agents.llm import LLMChunk, ScriptedLLM, call, reply
from voxfsm.agents.llm.base import LLMError
from voxfsm.io import ScriptedSTT, VoiceLoop, WavSink, WavSource
from voxfsm.io.audio import AudioDeviceError, Frame, write_wav
from voxfsm.io.format import SAMPLE_RATE
from voxfsm.io.stt import Transcript
from voxfsm.io.stt.scripted import ScriptedStream
from voxfsm.io.tts.base import AudioClip

SAMPLES_PER_CHAR = 40  # a fake clip is this many samples per character of its sentence


# ---------------------------------------------------------------------------------- doubles


class EnergyVAD:
    """Speech = a loud frame (the input is noise bursts in digital silence)."""

    def is_speech(self, frame: Frame) -> bool:
        return float(np.sqrt(np.mean(np.square(frame, dtype=np.float64)))) > 500

    def reset(self) -> None:
        return None


class FakeTTS:
    """Clips whose length encodes the sentence; raises for sentences containing ``fail_on``."""

    def __init__(self, *, fail_on: str | None = None, long: bool = False) -> None:
        self.fail_on = fail_on
        self.long = long
        self.sentences: list[str] = []

    async def synthesize(self, text: str) -> AudioClip:
        if self.fail_on is not None and self.fail_on in text:
            raise RuntimeError(f"the voice cannot say {text!r}")
        self.sentences.append(text)
        size = 60 * SAMPLE_RATE if self.long else len(text) * SAMPLES_PER_CHAR
        return AudioClip(np.full(size, 1000, np.int16), SAMPLE_RATE)


def clip_chars(samples_played: int) -> int:
    return samples_played // SAMPLES_PER_CHAR


class FlakySTT(ScriptedSTT):
    """``ScriptedSTT`` whose stream crashes (in ``accept`` or ``finish``) on one transcript;
    the crash loses that transcript, as a real engine loses the utterance it was decoding."""

    def __init__(self, transcripts: Iterable[str], *, crash_on: str, where: str) -> None:
        super().__init__(transcripts)
        self.crash_on, self.where = crash_on, where
        self.crashes = 0

    def crash_now(self) -> bool:
        upcoming = self.peek()
        if upcoming is None or upcoming.text != self.crash_on:
            return False
        self.next_transcript()  # the engine lost this utterance
        self.crashes += 1
        return True

    def stream(self) -> ScriptedStream:
        return FlakyStream(self)


class FlakyStream(ScriptedStream):
    def __init__(self, stt: FlakySTT) -> None:
        super().__init__(stt)
        self.flaky = stt

    def accept(self, pcm: bytes) -> Transcript | None:
        if self.flaky.where == "accept" and self.flaky.crash_now():
            raise RuntimeError("decoder crashed")
        return super().accept(pcm)

    def finish(self) -> Transcript:
        if self.flaky.where == "finish" and self.flaky.crash_now():
            raise RuntimeError("decoder crashed")
        return super().finish()


class RecordingSink(WavSink):
    """A WavSink that remembers what each ``play`` returned and tells when playing starts."""

    def __init__(self, path: Path, *, realtime: bool = False, fail_on_clip: int = 0) -> None:
        super().__init__(path, realtime=realtime)
        self.fail_on_clip = fail_on_clip  # 1-based; 0 = never
        self.results: list[tuple[int, int]] = []  # (clip samples, samples played)
        self.calls = 0
        self.stops = 0
        self.playing = asyncio.Event()

    async def play(self, clip: AudioClip) -> int:
        self.calls += 1
        if self.calls == self.fail_on_clip:
            raise OSError(-9999, "Unanticipated host error")  # what PortAudio says on unplug
        self.playing.set()
        played = await super().play(clip)
        self.results.append((len(clip.samples), played))
        return played

    def stop(self) -> None:
        self.stops += 1
        super().stop()

    def played_chars(self) -> int:
        return sum(clip_chars(played) for _, played in self.results)


class DyingSource:
    """A WAV source whose device vanishes after ``frames`` frames (PortAudio raises OSError)."""

    def __init__(self, path: Path, *, frames: int) -> None:
        self.wav = WavSource(path, realtime=True)
        self.frames = frames
        self.device_name = "USB Headset"

    def __aiter__(self) -> AsyncIterator[Frame]:
        return self._frames()

    async def _frames(self) -> AsyncIterator[Frame]:
        count = 0
        async for frame in self.wav:
            if count == self.frames:
                raise OSError(-9999, "Unanticipated host error")
            count += 1
            yield frame

    async def aclose(self) -> None:
        return None


class Tracked(Agent):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(instructions="a test agent", **kwargs)
        self.exits = 0

    async def on_exit(self) -> None:
        self.exits += 1


# ---------------------------------------------------------------------------------- helpers

LEAD_S, BURST_S, GAP_S = 0.3, 0.4, 1.0
FRAME_COUNT_PER_S = 50  # 20 ms frames


def bursts_wav(path: Path, count: int, *, tail_s: float = 1.0) -> Path:
    """``count`` utterances (noise bursts) separated by silence long enough for a turn."""
    rng = np.random.default_rng(7)
    parts = [np.zeros(int(LEAD_S * SAMPLE_RATE), np.int16)]
    for i in range(count):
        parts.append(rng.integers(-8000, 8000, int(BURST_S * SAMPLE_RATE)).astype(np.int16))
        gap = GAP_S if i < count - 1 else tail_s
        parts.append(np.zeros(int(gap * SAMPLE_RATE), np.int16))
    write_wav(path, np.concatenate(parts))
    return path


def make_loop(session: AgentSession[Any], source: Any, sink: Any) -> VoiceLoop:
    return VoiceLoop(
        session,
        source=source,
        sink=sink,
        vad=EnergyVAD(),
        end_silence_ms=300,
        min_interruption_ms=10_000,  # the fake agent voice never counts as a barge-in
    )


def errors_of(session: AgentSession[Any]) -> list[ErrorEvent]:
    seen: list[ErrorEvent] = []
    session.on("error", seen.append)
    return seen


def turns(session: AgentSession[Any]) -> list[tuple[str, str, bool]]:
    return [
        (i.role, i.text_content, i.interrupted)
        for i in session.history.items
        if isinstance(i, ChatMessage) and i.role != "system"
    ]


def assert_consistent(session: AgentSession[Any]) -> None:
    items = session.history.items
    ids = [i.id for i in items]
    assert len(ids) == len(set(ids)), f"duplicate item ids in history: {ids}"
    calls = [i.call_id for i in items if isinstance(i, FunctionCall)]
    outputs = [i.call_id for i in items if isinstance(i, FunctionCallOutput)]
    assert sorted(calls) == sorted(outputs), f"calls {calls} vs outputs {outputs}"
    assert len(outputs) == len(set(outputs)), f"a call answered twice: {outputs}"


# ---------------------------------------------------------------------------------- 1. STT


@pytest.mark.parametrize("where", ["accept", "finish"])
async def test_a_failing_recognizer_drops_one_utterance_and_keeps_listening(
    tmp_path: Path, where: str
) -> None:
    stt = FlakySTT(["one", "two", "three"], crash_on="two", where=where)
    session = AgentSession(
        llm=ScriptedLLM({"one": reply("First."), "three": reply("Third.")}),
        stt=stt,
        tts=FakeTTS(),
    )
    errors = errors_of(session)
    sink = RecordingSink(tmp_path / "out.wav")
    agent = Tracked()

    await make_loop(
        session, WavSource(bursts_wav(tmp_path / "in.wav", 3), realtime=True), sink
    ).run(agent)
    await session.aclose()

    assert stt.crashes == 1
    stt.assert_complete()
    # utterance two is dropped; three is heard on its own (not glued to two's audio)
    assert turns(session) == [
        ("user", "one", False),
        ("assistant", "First.", False),
        ("user", "three", False),
        ("assistant", "Third.", False),
    ]
    (error,) = errors  # one event for the whole broken utterance, not one per chunk
    assert error.source == "stt"
    assert "FlakySTT" in str(error.error) and "decoder crashed" in str(error.error)
    assert len(stt.utterances[-1]) < len(b"".join(stt.utterances))  # a fresh stream for three
    assert agent.exits == 1
    assert_consistent(session)


# ---------------------------------------------------------------------------------- 2. TTS


@pytest.mark.parametrize(
    ("answer", "recorded"),
    [
        # the first sentence played, the second could not be said: the spoken part is kept
        ("Hello there. Secret part here. Bye now.", "Hello there."),
        # nothing could be played: the full text is kept, so the turn is not lost
        ("Secret from the start. And more.", "Secret from the start. And more."),
    ],
)
async def test_a_failing_voice_keeps_the_reply_text_and_later_turns_speak(
    tmp_path: Path, answer: str, recorded: str
) -> None:
    tts = FakeTTS(fail_on="Secret")
    session = AgentSession(
        llm=ScriptedLLM({"one": reply(answer), "two": reply("All good now.")}),
        stt=ScriptedSTT(["one", "two"]),
        tts=tts,
    )
    errors = errors_of(session)
    sink = RecordingSink(tmp_path / "out.wav")

    await make_loop(
        session, WavSource(bursts_wav(tmp_path / "in.wav", 2), realtime=True), sink
    ).run(Tracked())
    await session.aclose()

    assert turns(session) == [
        ("user", "one", False),
        ("assistant", recorded, True),  # interrupted: the user did not hear it all
        ("user", "two", False),
        ("assistant", "All good now.", False),
    ]
    (error,) = errors
    assert error.source == "tts"
    assert "FakeTTS" in str(error.error) and "Secret" in str(error.error)
    # the sink got exactly what was said: the sentences before the failure, then turn two
    spoken_before = tts.sentences[:-1]
    assert tts.sentences[-1] == "All good now."
    assert sink.played_chars() == sum(len(s) for s in [*spoken_before, "All good now."])
    assert_consistent(session)


# ---------------------------------------------------------------------------------- 3. LLM


class BreakingLLM:
    """Says one sentence (and maybe half of another), then the server dies; the next works."""

    def __init__(self, fragment: str = "") -> None:
        self.requests = 0
        self.fragment = fragment

    async def chat(self, **_: Any) -> AsyncIterator[LLMChunk]:
        self.requests += 1
        if self.requests == 1:
            yield LLMChunk("I will check that for you. ")
            if self.fragment:
                yield LLMChunk(self.fragment)
            await asyncio.sleep(0)
            raise LLMError("http://127.0.0.1:8080/v1 stopped answering; is the server running?")
        yield LLMChunk("Back again.")


@pytest.mark.parametrize("fragment", ["", "Then I will"], ids=["after-a-sentence", "mid-sentence"])
async def test_an_llm_failing_mid_reply_keeps_the_spoken_words_and_the_loop(
    tmp_path: Path, fragment: str
) -> None:
    # the unfinished sentence of a broken reply is never spoken
    session = AgentSession(
        llm=BreakingLLM(fragment), stt=ScriptedSTT(["one", "two"]), tts=FakeTTS()
    )
    errors = errors_of(session)
    sink = RecordingSink(tmp_path / "out.wav")

    await make_loop(
        session, WavSource(bursts_wav(tmp_path / "in.wav", 2), realtime=True), sink
    ).run(Tracked())
    await session.aclose()

    assert turns(session) == [
        ("user", "one", False),
        ("assistant", "I will check that for you.", True),
        ("user", "two", False),
        ("assistant", "Back again.", False),
    ]
    (error,) = errors
    assert isinstance(error.error, LLMError) and "127.0.0.1:8080" in str(error.error)
    assert sink.played_chars() == len("I will check that for you.") + len("Back again.")
    assert_consistent(session)


# ---------------------------------------------------------------------------------- 4. devices


async def test_a_vanishing_microphone_ends_run_with_a_clear_error(tmp_path: Path) -> None:
    # the device dies in the middle of the second utterance
    dies_at = int((LEAD_S + BURST_S + GAP_S + BURST_S / 2) * FRAME_COUNT_PER_S)
    source = DyingSource(bursts_wav(tmp_path / "in.wav", 3), frames=dies_at)
    session = AgentSession(
        llm=ScriptedLLM({"one": reply("First.")}), stt=ScriptedSTT(["one"]), tts=FakeTTS()
    )
    errors = errors_of(session)
    agent = Tracked()
    loop = make_loop(session, source, RecordingSink(tmp_path / "out.wav"))

    with pytest.raises(AudioDeviceError, match="USB Headset") as raised:
        await loop.run(agent)
    assert "voxfsm console --list-devices" in str(raised.value)
    (error,) = errors
    assert error.source == "audio_input" and error.error is raised.value
    assert isinstance(raised.value.__cause__, OSError)
    assert session.output is None  # the loop let go of the session

    await session.aclose()
    assert agent.exits == 1
    assert turns(session) == [("user", "one", False), ("assistant", "First.", False)]
    assert_consistent(session)


async def test_a_vanishing_speaker_ends_run_with_a_clear_error(tmp_path: Path) -> None:
    session = AgentSession(
        llm=ScriptedLLM({"one": reply("First sentence. Second sentence.")}),
        stt=ScriptedSTT(["one"]),
        tts=FakeTTS(),
    )
    errors = errors_of(session)
    agent = Tracked()
    sink = RecordingSink(tmp_path / "out.wav", fail_on_clip=2)
    # plenty of input left after the failure: run() must not wait for the source to end
    loop = make_loop(
        session, WavSource(bursts_wav(tmp_path / "in.wav", 1, tail_s=30), realtime=True), sink
    )

    with pytest.raises(AudioDeviceError, match="voxfsm console --list-devices") as raised:
        await loop.run(agent)
    (error,) = errors
    assert error.source == "audio_output" and error.error is raised.value
    assert isinstance(raised.value.__cause__, OSError)

    await session.aclose()
    assert agent.exits == 1
    assert turns(session) == [("user", "one", False), ("assistant", "First sentence.", True)]
    assert_consistent(session)


# ---------------------------------------------------------------------------------- 5. cancel


class Front(Tracked):
    @function_tool
    async def transfer(self) -> Back:
        """Hand the caller to the back office."""
        return self.back

    def __init__(self, back: Back) -> None:
        super().__init__()
        self.back = back


class Back(Tracked):
    async def on_enter(self) -> None:
        await self.session.say("Welcome to the back office, this will take a very long time.")


@pytest.mark.parametrize("moment", ["reply", "handoff"])
async def test_cancelling_run_stops_playback_and_closes_cleanly(
    tmp_path: Path, moment: str
) -> None:
    back = Back()
    front = Front(back)
    script = {"one": reply("A very long answer.") if moment == "reply" else call("transfer")}
    session = AgentSession(
        llm=ScriptedLLM(script), stt=ScriptedSTT(["one"]), tts=FakeTTS(long=True)
    )
    sink = RecordingSink(tmp_path / "out.wav", realtime=True)  # a 60 s clip plays for 60 s
    loop = make_loop(
        session, WavSource(bursts_wav(tmp_path / "in.wav", 1, tail_s=60), realtime=True), sink
    )
    speaker = back if moment == "handoff" else front

    task = asyncio.create_task(loop.run(front))
    await sink.playing.wait()
    assert loop.speaking_agent is speaker
    task.cancel()  # what Ctrl-C does in `voxfsm console`
    with pytest.raises(asyncio.CancelledError):
        await task
    await session.aclose()

    assert sink.stops >= 1
    ((clip, played),) = sink.results
    assert played < clip  # the 60 s clip was cut, not played out
    assert session.output is None
    assert front.exits == 1
    assert back.exits == (1 if moment == "handoff" else 0)
    said = turns(session)
    assert said[0] == ("user", "one", False)
    assert said[-1][0] == "assistant" and said[-1][2] is True  # recorded as cut short
    if moment == "handoff":
        handoffs = [i for i in session.history.items if isinstance(i, AgentHandoff)]
        assert [(h.old_agent_id, h.new_agent_id) for h in handoffs] == [
            (None, front.id),
            (front.id, back.id),
        ]
    assert_consistent(session)


# ------------------------------------------------------------------ 5. plugins per agent


class CountingVAD(EnergyVAD):
    def __init__(self) -> None:
        self.frames = 0

    def is_speech(self, frame: Frame) -> bool:
        self.frames += 1
        return super().is_speech(frame)


async def test_the_vad_follows_the_active_agent_without_a_lookup_per_frame(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    desk_vad, session_vad = CountingVAD(), CountingVAD()

    class Desk(Agent):
        def __init__(self) -> None:
            super().__init__(instructions="the desk", vad=desk_vad)

    class Greeter(Agent):
        def __init__(self) -> None:
            super().__init__(instructions="the greeter")

        @function_tool
        async def to_desk(self) -> Desk:
            """Send the caller to the desk."""
            return Desk()

    session = AgentSession(
        llm=ScriptedLLM({"one": call("to_desk"), "two": reply("Desk here.")}),
        stt=ScriptedSTT(["one", "two"]),
        tts=FakeTTS(),
        vad=session_vad,
    )
    lookups = 0
    real = session.effective_plugin

    def counted(kind: str, agent: Agent | None = None) -> Any:
        nonlocal lookups
        lookups += kind == "vad"
        return real(kind, agent)

    monkeypatch.setattr(session, "effective_plugin", counted)
    loop = make_loop(session, WavSource(bursts_wav(tmp_path / "in.wav", 2), realtime=True), None)
    loop.sink = RecordingSink(tmp_path / "out.wav")
    await loop.run(Greeter())
    await session.aclose()

    assert turns(session)[-2:] == [("user", "two", False), ("assistant", "Desk here.", False)]
    # the greeter's frames went through the session's VAD, the desk's through its own
    assert session_vad.frames > 0 and desk_vad.frames > 0
    frames = session_vad.frames + desk_vad.frames
    assert lookups <= 4 < frames  # once at the start and after each commit, not per frame
