"""Speed of the offline speech engines on this machine.

    python bench/stt_tts.py [--repeat 5]

Prints, for each engine that is installed:
- STT real-time factor (decode time / audio time; target <= 0.2), for vosk (one streaming
  session, as the voice loop uses it; Korean model from PyPI unless VOXFSM_VOSK_MODEL or the
  cache has another), vosk with a phrase grammar, and whisper tiny.en (batch per utterance);
- TTS time to audio for a short sentence (target <= 50 ms), pyttsx3 and piper.
The test speech is espeak-ng's, made at start-up. Numbers vary with machine load.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Callable

from voxfsm.io.format import SAMPLE_RATE
from voxfsm.io.models import ModelNotFoundError
from voxfsm.io.stt.base import STT
from voxfsm.io.tts import Pyttsx3TTS
from voxfsm.io.tts.base import TTS

ENGLISH = [
    "I have a question about my bill.",
    "Please transfer me to technical support.",
    "I would like to update my payment method.",
    "The router light is blinking red and nothing works.",
    "Do you have any deals on new phones?",
]
KOREAN = ["요금에 대해 질문이 있습니다", "기술 지원으로 연결해 주세요", "새 휴대폰 할인이 있나요"]
SHORT = "Sure, one moment please."
CHUNK = SAMPLE_RATE // 10 * 2  # 100 ms of int16


async def speech(texts: list[str], voice: str) -> list[bytes]:
    tts = Pyttsx3TTS(voice, rate=160 if voice.startswith("en") else None)
    return [(await tts.synthesize(t)).resample(SAMPLE_RATE).to_bytes() for t in texts]


def seconds(pcm: bytes) -> float:
    return len(pcm) / 2 / SAMPLE_RATE


def timed(label: str, load: Callable[[], object]) -> None:
    start = time.perf_counter()
    load()
    print(f"  {label} model load: {time.perf_counter() - start:.2f} s")


def streaming_rtf(stt: STT, utterances: list[bytes], pause: bytes) -> float:
    """One stream for the whole session, 100 ms chunks, finish() after each utterance."""
    stream = stt.stream()
    audio = 0.0
    start = time.perf_counter()
    for pcm in utterances:
        data = pcm + pause
        for i in range(0, len(data), CHUNK):
            stream.accept(data[i : i + CHUNK])
        stream.finish()
        audio += seconds(data)
    elapsed = time.perf_counter() - start
    stream.close()
    return elapsed / audio


def bench_stt(name: str, stt: STT, utterances: list[bytes], repeat: int) -> None:
    pause = b"\x00\x00" * (SAMPLE_RATE // 2)
    rtfs = [streaming_rtf(stt, utterances, pause) for _ in range(repeat)]
    verdict = "ok" if min(rtfs) <= 0.2 else "ABOVE target 0.2"
    print(
        f"  {name}: RTF median {statistics.median(rtfs):.3f} "
        f"(best {min(rtfs):.3f}, {len(utterances)} utterances + 0.5 s pauses) [{verdict}]"
    )


async def bench_tts(name: str, tts: TTS, repeat: int) -> None:
    start = time.perf_counter()
    clip = await tts.synthesize(SHORT)
    cold = (time.perf_counter() - start) * 1000
    times = []
    for _ in range(max(repeat, 5)):
        start = time.perf_counter()
        await tts.synthesize(SHORT)
        times.append((time.perf_counter() - start) * 1000)
    median = statistics.median(times)
    verdict = "ok" if median <= 50 else "ABOVE target 50 ms"
    print(
        f"  {name}: time to audio median {median:.1f} ms (cold {cold:.0f} ms, "
        f"{clip.duration:.2f} s of audio at {clip.sample_rate} Hz) [{verdict}]"
    )


async def main(repeat: int) -> None:
    print("making test speech with espeak-ng ...")
    english, korean = await speech(ENGLISH, "en-us"), await speech(KOREAN, "ko")

    print("STT (real-time factor = decode time / audio time; lower is faster)")
    try:
        from voxfsm.io.stt.vosk import VoskSTT

        vosk = VoskSTT("ko")
        timed("vosk ko", vosk.load)
        bench_stt("vosk ko, free vocabulary", vosk, korean, repeat)
        words = " ".join(await asyncio.gather(*(vosk.transcribe(k) for k in korean))).split()
        grammar = VoskSTT("ko", grammar=sorted(set(words)))
        bench_stt("vosk ko, grammar of its own words", grammar, korean, repeat)
    except (ModelNotFoundError, ImportError) as exc:
        print(f"  vosk skipped: {exc}")
    try:
        from voxfsm.io.stt.whisper import WhisperSTT

        whisper = WhisperSTT()
        timed("whisper tiny.en", whisper.load)
        bench_stt("whisper tiny.en (batch at finish)", whisper, english, repeat)
    except (ModelNotFoundError, ImportError) as exc:
        print(f"  whisper skipped: {exc}")

    print("TTS (time from synthesize() to a complete clip)")
    await bench_tts("pyttsx3 espeak-ng en-us", Pyttsx3TTS("en-us"), repeat)
    try:
        from voxfsm.io.tts.piper import PiperTTS

        piper = PiperTTS()
        timed("piper en-joe", piper.load)
        await bench_tts("piper en-joe", piper, repeat)
    except (ModelNotFoundError, ImportError) as exc:
        print(f"  piper skipped: {exc}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement")
    asyncio.run(main(parser.parse_args().repeat))
