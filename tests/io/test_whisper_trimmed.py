"""Whisper with its encoder window cut to the utterance (``WhisperSTT(trim_context=True)``):
the key words as with the full 30 s window, and no decoder loops."""

from __future__ import annotations

from pathlib import Path

import pytest
from _io_helpers import espeak

from voxfsm.io import WhisperSTT
from voxfsm.io.audio import read_audio
from voxfsm.io.stt._trimmed import drop_repeats


def test_sentences_that_only_repeat_what_was_just_said_are_dropped() -> None:
    assert drop_repeats("Yes go ahead. Go ahead. Go ahead.") == "Yes go ahead."
    assert drop_repeats("Yes, go ahead. Yes, go ahead.") == "Yes, go ahead."
    # a repeat cut off mid-word
    assert (
        drop_repeats("That's everything I'm ready to pay. That's everything I")
        == "That's everything I'm ready to pay."
    )
    # new words are kept, even when they start like an earlier sentence
    assert drop_repeats("Thank you. Thank you so much.") == "Thank you. Thank you so much."
    assert drop_repeats("No. I said no.") == "No. I said no."


def words(text: str) -> set[str]:
    return {w.strip(".,!?").lower() for w in text.split()}


@pytest.mark.slow
async def test_the_trimmed_window_hears_nearly_the_words_of_the_full_one(
    tmp_path: Path,
) -> None:
    """Not always the same words (the trade for ~7x less work): most of them."""
    trimmed, full = WhisperSTT(trim_context=True), WhisperSTT()
    assert not full.trim_context
    for line in [
        "I would like to check the balance of my account.",
        "Please update my payment method.",
        "Can you transfer me to technical support?",
    ]:
        # espeak-ng itself, not the shared pyttsx3 engine (whose state other tests rely on)
        samples, _ = read_audio(espeak(line, tmp_path / "line.wav"))
        pcm = samples.tobytes()
        fast, exact = words(await trimmed.transcribe(pcm)), words(await full.transcribe(pcm))
        assert len(fast & exact) / len(fast | exact) >= 0.6, (fast, exact)
