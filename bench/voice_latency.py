"""Voice-loop latency and VAD cost on this machine; prints numbers, asserts nothing.

    python bench/voice_latency.py                      # scripted STT, 5 turns, WAV files
    python bench/voice_latency.py --stt whisper        # real STT (faster-whisper tiny.en)
    python bench/voice_latency.py --devices            # over sounddevice 'pulse' devices

Each turn is an espeak-ng utterance followed by silence, fed in real time through a
``VoiceLoop`` (ScriptedLLM, pyttsx3 TTS). Latencies are milliseconds after the end of the
user's speech (endpoint time minus the trailing silence). ``--devices`` needs a PulseAudio
server with the ``vmic_in``/``vspk`` null sinks of ``tests/io/conftest.py`` and
``PULSE_SERVER`` pointing at it; the utterances are played into ``vmic_in`` with paplay.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

from voxfsm.agents import Agent, AgentSession
from voxfsm.agents.llm import ScriptedLLM, reply
from voxfsm.io import Endpointer, ScriptedSTT, SileroVAD, VoiceLoop, WebRtcVAD
from voxfsm.io.audio import Microphone, Speaker, WavSink, WavSource, read_wav, write_wav
from voxfsm.io.format import FRAME_SAMPLES, SAMPLE_RATE
from voxfsm.io.tts import Pyttsx3TTS

UTTERANCES = [
    "I would like to check the balance of my account.",
    "Can you transfer me to technical support?",
    "I was charged twice this month.",
    "Please update my payment method.",
    "Thank you, that is all for today.",
]
ANSWER = "Sure. I can help you with that. One moment please."
console = Console(highlight=False)


def espeak(text: str, path: Path) -> np.ndarray:
    subprocess.run(["espeak-ng", "-w", str(path), text], check=True)
    return read_wav(path)[0]


def vad_costs(speech: np.ndarray) -> None:
    rng = np.random.default_rng(0)
    signal = np.concatenate([np.zeros(SAMPLE_RATE, np.int16), speech] * 3)
    signal = (signal + rng.normal(0, 150, signal.size)).clip(-32768, 32767).astype(np.int16)
    frames = list(signal[: signal.size // FRAME_SAMPLES * FRAME_SAMPLES].reshape(-1, FRAME_SAMPLES))
    table = Table(title=f"VAD cost per 20 ms frame ({len(frames)} frames, speech + hiss)")
    for col in ("detector", "µs/frame", "speech frames"):
        table.add_column(col)
    for name, make in [
        ("WebRtcVAD(2)", lambda: WebRtcVAD(2)),
        ("WebRtcVAD(2, min_snr_db=0)", lambda: WebRtcVAD(2, min_snr_db=0)),
        ("SileroVAD()", SileroVAD),
        ("Endpointer(WebRtcVAD)", lambda: Endpointer(WebRtcVAD())),
    ]:
        det: Any = make()
        step = det.push if isinstance(det, Endpointer) else det.is_speech
        start = time.perf_counter()
        flags = [step(f) for f in frames]
        cost = (time.perf_counter() - start) / len(frames) * 1e6
        speech_share = "" if isinstance(det, Endpointer) else f"{np.mean(flags):.0%}"
        table.add_row(name, f"{cost:.1f}", speech_share)
    console.print(table)


async def one_turn(
    text: str, tmp: Path, stt_name: str, devices: bool, tts: Any, stt_engine: Any
) -> dict[str, float]:
    speech = espeak(text, tmp / "utt.wav")
    stt = stt_engine if stt_name != "scripted" else ScriptedSTT([text])
    llm = ScriptedLLM({}, default=reply(ANSWER), chunk_words=3)
    session = AgentSession(llm=llm, stt=stt, tts=tts)
    metrics: dict[str, float] = {}
    session.on("metrics_collected", lambda ev: metrics.update(ev.values))
    if devices:
        source: Any = Microphone("pulse")
        sink: Any = Speaker("pulse")
    else:
        pcm = np.concatenate([np.zeros(SAMPLE_RATE // 2, np.int16), speech])
        write_wav(tmp / "in.wav", np.concatenate([pcm, np.zeros(3 * SAMPLE_RATE, np.int16)]))
        source, sink = (
            WavSource(tmp / "in.wav", realtime=True),
            WavSink(tmp / "out.wav", realtime=True),
        )
    loop = VoiceLoop(session, source=source, sink=sink)
    running = asyncio.create_task(loop.run(Agent(instructions="bench")))
    try:
        if devices:
            await asyncio.sleep(0.5)
            player = subprocess.Popen(["paplay", "-d", "vmic_in", str(tmp / "utt.wav")])
            while not metrics and not running.done():
                await asyncio.sleep(0.05)
            player.wait()
        else:
            await running
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
        await source.aclose()
        await sink.aclose()
        await session.aclose()
    return metrics


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--stt", choices=["scripted", "whisper", "vosk"], default="scripted")
    parser.add_argument("--turns", type=int, default=5)
    parser.add_argument("--devices", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        vad_costs(espeak(UTTERANCES[0], tmp / "vad.wav"))
        stt_engine: Any = None
        if args.stt != "scripted":
            from voxfsm.io.stt import VoskSTT, WhisperSTT

            with console.status(f"loading {args.stt}…"):
                stt_engine = WhisperSTT() if args.stt == "whisper" else VoskSTT()
                await stt_engine.prepare()
        tts = Pyttsx3TTS()
        turns = []
        for i in range(args.turns):
            text = UTTERANCES[i % len(UTTERANCES)]
            values = await one_turn(text, tmp, args.stt, args.devices, tts, stt_engine)
            console.log(
                f"turn {i + 1}/{args.turns}: "
                + ", ".join(f"{k} {v:.0f}" for k, v in values.items())
            )
            turns.append(values)
    where = "sounddevice 'pulse' devices" if args.devices else "real-time WAV files"
    table = Table(title=f"voice turn latency, ms after end of speech ({args.stt} STT, {where})")
    for col in ("stage", "mean", "min", "max"):
        table.add_column(col)
    for key in (
        "endpoint_ms",
        "stt_final_ms",
        "llm_first_token_ms",
        "tts_first_audio_ms",
        "turn_done_ms",
    ):
        column = [t[key] for t in turns if key in t]
        if column:
            stats = (statistics.mean(column), min(column), max(column))
            table.add_row(key[:-3], *(f"{x:.0f}" for x in stats))
    console.print(table)


if __name__ == "__main__":
    asyncio.run(main())
