"""Cutting streamed reply text into pieces to speak: sentences, and a quick first clause.

Sentence boundaries come from pysbd (rule-based, knows "Dr.", "p.m.", "e.g.", "no. 42",
"$4.50"), so abbreviations are not spoken as separate fragments. Streaming-safe: a sentence is
only handed out once text after it has arrived, because whether "Dr." ends a sentence depends
on what follows; the last segment always stays in the buffer. A line break always ends a
sentence. Without pysbd (a minimal install) a plain punctuation rule is used.
"""

from __future__ import annotations

import functools
import re
from typing import Any

__all__ = ["split_first_clause", "split_sentences", "spoken_part"]

# cheap pre-check: no sentence can have ended unless one of these is in the buffer
_MAYBE_END = re.compile(r"[.!?…]\s|\n")
# the fallback rule: . ! ? or … followed by whitespace
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")


@functools.cache
def _segmenter() -> Any:
    try:
        import pysbd
    except ImportError:
        return None
    return pysbd.Segmenter(language="en", clean=False)


def _segments(text: str) -> list[str]:
    segmenter = _segmenter()
    if segmenter is None:
        return _SENTENCE_END.split(text)
    return list(segmenter.segment(text)) or [text]


def split_sentences(buffer: str) -> tuple[list[str], str]:
    """Complete sentences in ``buffer`` and the unfinished rest (to be extended and split
    again as more text streams in)."""
    if not _MAYBE_END.search(buffer):
        return [], buffer
    *lines, last = buffer.split("\n")
    done: list[str] = []
    for line in lines:  # text before a line break is complete
        done.extend(p.strip() for p in _segments(line) if p.strip())
    parts = _segments(last)
    done.extend(p.strip() for p in parts[:-1] if p.strip())
    return done, parts[-1].lstrip() if done else parts[-1]


_CLAUSE_END = re.compile(r"(?<=[,—–])\s+")


def split_first_clause(buffer: str, min_words: int = 4) -> tuple[list[str], str]:
    """The first clause of ``buffer`` (ending at a comma or dash after ``min_words`` words),
    so the first audio of a reply need not wait for a whole sentence."""
    for match in _CLAUSE_END.finditer(buffer):
        head = buffer[: match.start()].strip()
        if len(head.split()) >= min_words:
            return [head], buffer[match.end() :]
    return [], buffer


def spoken_part(sentence: str, fraction: float) -> str:
    """The words of ``sentence`` heard before a cut at ``fraction`` of its audio."""
    words = sentence.split()
    return " ".join(words[: int(len(words) * fraction)])
