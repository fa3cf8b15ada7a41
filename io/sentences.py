"""Cutting streamed reply text into pieces to speak: sentences, and a quick first clause."""

from __future__ import annotations

import re

__all__ = ["split_first_clause", "split_sentences", "spoken_part"]

# a sentence ends at . ! ? ; or : followed by whitespace, or at a line break
_SENTENCE_END = re.compile(r"(?<=[.!?;:…])\s+|\n+")


def split_sentences(buffer: str) -> tuple[list[str], str]:
    """Complete sentences in ``buffer`` and the unfinished rest."""
    parts = _SENTENCE_END.split(buffer)
    done = [p.strip() for p in parts[:-1] if p.strip()]
    return done, parts[-1]


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
