"""Fixtures for the speech engine tests: speech synthesized at test time, real engines."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from voxfsm.io.format import SAMPLE_RATE
from voxfsm.io.tts import Pyttsx3TTS


async def speech16k(text: str, voice: str = "en-us", rate: int | None = 160) -> bytes:
    """``text`` spoken by espeak-ng (through Pyttsx3TTS) as 16 kHz mono int16 PCM."""
    clip = await Pyttsx3TTS(voice, rate=rate).synthesize(text)
    return clip.resample(SAMPLE_RATE).to_bytes()


def make_silence(seconds: float) -> bytes:
    return b"\x00\x00" * int(SAMPLE_RATE * seconds)


@pytest.fixture
def speak() -> Callable[..., Awaitable[bytes]]:
    """``await speak(text, voice="en-us", rate=160)`` -> 16 kHz PCM of that speech."""
    return speech16k


@pytest.fixture
def silence() -> Callable[[float], bytes]:
    """``silence(seconds)`` -> that much digital silence as 16 kHz PCM."""
    return make_silence


@pytest.fixture(scope="session")
def korean_speech() -> tuple[bytes, bytes]:
    """Two Korean utterances; espeak's Korean is poor, so tests assert plumbing, not words."""

    async def both() -> tuple[bytes, bytes]:
        first = await speech16k("요금에 대해 질문이 있습니다", voice="ko", rate=None)
        second = await speech16k("기술 지원으로 연결해 주세요", voice="ko", rate=None)
        return first, second

    return asyncio.run(both())


@pytest.fixture
def model_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty model cache, and no VOXFSM_VOSK_MODEL from the environment."""
    folder = tmp_path / "models"
    monkeypatch.setenv("VOXFSM_MODEL_DIR", str(folder))
    monkeypatch.delenv("VOXFSM_VOSK_MODEL", raising=False)
    monkeypatch.delenv("VOXFSM_MODEL_MIRROR", raising=False)
    return folder
