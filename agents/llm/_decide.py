"""Words or a call: the one decision ``LocalLLM`` takes from the first token of a reply.

Letting a grammar race tool names against free text at the first token decides by one token
against one token: a call is split over many first tokens (``<``, ``{"``, and — for a tool
called ``to_takeaway`` — ``To``, since the model happily writes ``To_takeaway``), while a
common first word of an answer takes all of its own. So the decision is made on probability
*mass* instead: the share of the first token's distribution that starts a call (tokens that
open ``<tool_call>`` or a JSON object, and tokens that begin a tool's name in any case) against
everything else, as log-odds, plus ``tool_bias``. Measured with Qwen2.5-Coder-1.5B on the
tuning utterances of bench/routing.py: transfers gave log-odds -1.57 to 0.68, plain answers
-12.2 to -1.72 (one outlier at -0.5), in both shipped workflows alike.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

CALL_STARTS = ("<", "{")


class Vocabulary:
    """Token ids of a loaded model grouped for the decision (built once per model)."""

    def __init__(self, llm: Any) -> None:
        import numpy as np

        self.pieces = [
            llm.detokenize([i], special=True).decode("utf-8", "ignore").strip()
            for i in range(llm.n_vocab())
        ]
        self.call_ids = np.array(
            [i for i, p in enumerate(self.pieces) if p[:1] in CALL_STARTS], dtype=np.int64
        )
        self._name_ids: dict[tuple[str, ...], Any] = {}

    def name_ids(self, names: Sequence[str]) -> Any:
        """Tokens that begin one of ``names`` (case ignored), e.g. ``To`` for ``to_takeaway``."""
        import numpy as np

        key = tuple(sorted(names))
        found = self._name_ids.get(key)
        if found is None:
            lowered = [n.lower() for n in key]
            found = self._name_ids[key] = np.array(
                [
                    i
                    for i, p in enumerate(self.pieces)
                    if p[:1] not in ("", *CALL_STARTS)
                    and any(n.startswith(p.lower()) for n in lowered)
                ],
                dtype=np.int64,
            )
        return found


def call_log_odds(logits: Any, vocab: Vocabulary, names: Sequence[str]) -> float:
    """log(P(call) / P(words)) at the first token of a reply, from its raw logits."""
    import numpy as np

    z = np.asarray(logits, dtype=np.float64)
    p = np.exp(z - z.max())
    p /= p.sum()
    call = float(p[vocab.call_ids].sum() + p[vocab.name_ids(names)].sum())
    call = min(max(call, 1e-12), 1 - 1e-12)
    return math.log(call) - math.log(1 - call)
