"""Does an early transcript sound finished? The cue for adaptive endpointing.

The voice loop waits a short silence after a transcript that reads like a complete sentence
("I was charged twice this month.") and a long one after a transcript that trails off
("I was charged twice and", "Can you transfer me to"), so people who pause mid-sentence are
not cut off while finished turns are answered quickly. The rules are cheap text rules (no
model): what the last word is, and how the text ends. Engines that do not punctuate (vosk)
count as finished unless the last word is one that needs a continuation.
"""

from __future__ import annotations

import re

__all__ = ["TRAILING_WORDS", "sounds_complete"]

TRAILING_WORDS = frozenset(
    {
        "a",
        "an",
        "the",
        "and",
        "or",
        "but",
        "nor",
        "because",
        "although",
        "though",
        "unless",
        "whereas",
        "than",
        "to",
        "of",
        "for",
        "with",
        "from",
        "into",
        "onto",
        "between",
        "at",
        "by",
        "my",
        "your",
        "our",
        "their",
        "whose",
        "i",
        "we",
        "they",
        "he",
        "she",
        "um",
        "uh",
        "er",
        "erm",
        "hmm",
        "very",
    }
)
"""Words an English turn rarely ends with: articles, conjunctions, prepositions that need an
object, possessives, subject pronouns and fillers ("it", "you", "that", "in" are left out:
"Thank you." and "I'll take it." are finished)."""

_LAST_WORD = re.compile(r"([A-Za-z']+)\W*$")
_TRAILS = ("...", "…", ",", ";", ":", "-", "–", "—")
_ENDS = (".", "!", "?")
_ANY_PUNCTUATION = re.compile(r"[.,!?;:]")


def sounds_complete(text: str) -> bool | None:
    """True when ``text`` reads like a finished turn, False when it trails off, None when
    there is nothing to judge (no words)."""
    stripped = text.strip()
    if not stripped:
        return None
    if stripped.endswith(_TRAILS):
        return False
    match = _LAST_WORD.search(stripped)
    if match is not None and match.group(1).lower() in TRAILING_WORDS:
        return False
    if stripped.endswith(_ENDS):
        return True
    # an engine that punctuates but put no full stop here: the sentence is not over
    return not _ANY_PUNCTUATION.search(stripped)
