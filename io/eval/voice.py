"""Voice mode for scenarios: the simulated caller speaks through the real voice loop.

The caller's lines are synthesized with Piper (``en-joe``), go through VAD, endpointing and
Whisper tiny.en like a microphone's audio, and the agents answer with their own voices into
a call timeline; no pacing (the audio is processed as fast as the machine allows).  Per-turn
voice latencies (end of speech → STT final, LLM first token, TTS first audio) land in the
scenario's latencies, and what recognition heard is in the transcript.  Needs
``voxfsm[voice,whisper,piper]`` and espeak-ng.
"""

from __future__ import annotations

import asyncio
from typing import Any

from voxfsm.io.cli.app import App

__all__ = ["play_voice"]

_engines: tuple[Any, Any] | None = None


def _voice_engines() -> tuple[Any, Any]:
    # loading Whisper and Piper takes seconds: once per worker process
    global _engines
    if _engines is None:
        from voxfsm.io.sim.demo_call import voice_engines

        _engines = voice_engines()
    return _engines


async def play_voice(
    app: App, session: Any, lines: list[str], latencies: dict[str, list[float]], limit: float
) -> list[str]:
    """Play ``lines`` by voice on a fresh ``session``; returns what recognition heard."""
    from voxfsm.io.loop import VoiceLoop
    from voxfsm.io.sim.caller import SimulatedCaller
    from voxfsm.io.tts import Pyttsx3TTS

    stt, caller_voice = _voice_engines()
    caller = SimulatedCaller(session, lines, tts=caller_voice, realtime=False)

    def metrics(ev: Any) -> None:
        for key, ms in ev.values.items():
            latencies.setdefault(f"voice_{key.removesuffix('_ms')}", []).append(ms / 1000)

    session.on("metrics_collected", metrics)
    await stt.prepare()
    await caller.prepare()
    loop = VoiceLoop(
        session,
        source=caller,
        sink=caller.sink(),
        stt=stt,
        tts=None if session.tts is not None else Pyttsx3TTS(),
        end_silence_ms=500,
    )
    try:
        await asyncio.wait_for(loop.run(app.new_entry()), limit)
    except asyncio.TimeoutError:
        raise TimeoutError(
            f"the voice call took longer than {limit:g} s (raise --turn-timeout)"
        ) from None
    finally:
        await caller.aclose()
        await loop.sink.aclose()
    return [t.heard for t in caller.turns]
