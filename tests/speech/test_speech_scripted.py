"""ScriptedSTT, the test double for speech recognition, and the light import of voxfsm.io."""

from __future__ import annotations

import subprocess
import sys

import pytest

from voxfsm.io import ScriptedSTT, Transcript
from voxfsm.io.stt import STT, STTStream


def test_one_transcript_per_utterance() -> None:
    stt = ScriptedSTT(["hello there", Transcript("yes", False, 0.9)])
    assert isinstance(stt, STT)
    stream = stt.stream()
    assert isinstance(stream, STTStream)
    assert stream.accept(b"\x01\x00" * 10) is None
    assert stream.finish() == Transcript("hello there", True)
    stream.accept(b"\x02\x00")
    assert stream.finish() == Transcript("yes", True, 0.9)  # always a final
    assert stt.utterances == [b"\x01\x00" * 10, b"\x02\x00"]
    stt.assert_complete()
    with pytest.raises(LookupError, match="ran out of transcripts after 2"):
        stream.finish()


async def test_partials_and_transcribe() -> None:
    stt = ScriptedSTT(["I need help", "bye"], partials=True)
    stream = stt.stream()
    partials = [stream.accept(b"\x00\x00") for _ in range(4)]
    assert partials == [
        Transcript("I", False),
        Transcript("I need", False),
        Transcript("I need help", False),
        None,
    ]
    assert stream.finish().text == "I need help"
    with pytest.raises(AssertionError, match=r"1 unused transcript\(s\): \['bye'\]"):
        stt.assert_complete()
    assert await stt.transcribe(b"") == "bye"
    assert stt.remaining == []
    stream.close()
    with pytest.raises(RuntimeError, match="closed"):
        stream.accept(b"")


def test_from_spec() -> None:
    assert ScriptedSTT.from_spec(None, "hello|yes please").remaining == ["hello", "yes please"]


def test_importing_io_stays_light() -> None:
    code = (
        "import sys, voxfsm.io, voxfsm.io.stt, voxfsm.io.tts, voxfsm.io.models, "
        "voxfsm.io.cli.models\n"
        "from voxfsm.io import VoskSTT, WhisperSTT, Pyttsx3TTS, PiperTTS, ScriptedSTT\n"
        "heavy = {'numpy', 'vosk', 'faster_whisper', 'pyttsx3', 'piper', 'ctranslate2'}\n"
        "print(sorted(heavy & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
