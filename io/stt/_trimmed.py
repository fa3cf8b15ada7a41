"""Decoding a short utterance with Whisper's encoder window cut to the utterance.

Whisper pads every input to a 30 s window, so its encoder costs the same for a 2 s turn as
for 30 s of audio; on two shared cores that is most of a turn's latency (measured with
tiny.en under load: ~1 s to encode the full window, ~0.1 s for 3 s). The encoder accepts
shorter inputs: here the window is the utterance plus 1 s of silence, and at least 6 s, where
the words came out nearly as with the full window (whisper.cpp offers the same trade as
``audio_ctx``). The one
failure seen is the decoder repeating itself in the padding ("Yes, go ahead. Yes, go
ahead."), so a sentence whose words were all said just before is dropped. Used by
:class:`~voxfsm.io.stt.whisper.WhisperSTT` when ``trim_context`` is on and the language is
known; everything else takes faster-whisper's own ``transcribe``.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import numpy.typing as npt

from voxfsm.io.format import SAMPLE_RATE

__all__ = ["decode_trimmed", "drop_repeats"]

_PAD_S = 1.0  # silence after the speech: Whisper needs some to close the sentence
# shorter windows lose words: on 12 espeak-ng turns the word error rate was 0.29 with 4 s,
# 0.18 with 6 s or 8 s, 0.125 with the full 30 s (which took 7x as long)
_MIN_WINDOW_S = 6.0
_WINDOW_FRAMES = 3000  # Whisper's own window (30 s of 10 ms feature frames)


def decode_trimmed(
    model: Any,
    audio: npt.NDArray[np.float32],
    *,
    language: str,
    beam_size: int,
    max_new_tokens: int,
) -> tuple[str, float | None]:
    """Text and confidence of ``audio`` (float32 at 16 kHz, under 29 s) through ``model``
    (a faster-whisper ``WhisperModel``), encoding only the utterance plus silence (at least
    a second, and up to ``_MIN_WINDOW_S`` in all). Blocking: run it in a worker thread."""
    from faster_whisper.tokenizer import Tokenizer
    from faster_whisper.transcribe import get_suppressed_tokens

    pad_s = max(_PAD_S, _MIN_WINDOW_S - audio.size / SAMPLE_RATE)
    padded = np.concatenate([audio, np.zeros(int(pad_s * SAMPLE_RATE), np.float32)])
    features = model.feature_extractor(padded)[:, :_WINDOW_FRAMES]
    tokenizer = Tokenizer(
        model.hf_tokenizer, model.model.is_multilingual, task="transcribe", language=language
    )
    prompt = [*tokenizer.sot_sequence, tokenizer.no_timestamps]
    result = model.model.generate(
        model.encode(features),
        [prompt],
        beam_size=beam_size,
        max_length=len(prompt) + max_new_tokens,
        return_scores=True,
        suppress_blank=True,
        suppress_tokens=get_suppressed_tokens(tokenizer, (-1,)),
    )[0]
    tokens = [t for t in result.sequences_ids[0] if t < tokenizer.eot]
    text = drop_repeats(tokenizer.decode(tokens).strip())
    # the score is the length-normalised log-probability of the sequence
    confidence = math.exp(result.scores[0]) if result.scores and tokens else None
    return text, confidence


_SENTENCES = re.compile(r"(?<=[.!?])\s+")
_WORD = re.compile(r"[\w']+")


def drop_repeats(text: str) -> str:
    """``text`` without sentences that only repeat words said just before them."""
    kept: list[str] = []
    said: list[str] = []
    sentences = _SENTENCES.split(text)
    for index, sentence in enumerate(sentences):
        words = [w.lower() for w in _WORD.findall(sentence)]
        # the decoder may stop mid-word in a repeat: an unfinished last fragment's last word
        # only has to begin a word said before
        cut = index == len(sentences) - 1 and not sentence.rstrip().endswith((".", "!", "?"))
        if kept and words and _contains(said, words, cut):
            continue
        kept.append(sentence)
        said.extend(words)
    return " ".join(kept)


def _contains(haystack: list[str], needle: list[str], cut: bool) -> bool:
    size = len(needle)
    for i in range(len(haystack) - size + 1):
        window = haystack[i : i + size]
        if window == needle or (
            cut and window[:-1] == needle[:-1] and window[-1].startswith(needle[-1])
        ):
            return True
    return False
