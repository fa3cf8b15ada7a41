"""Per-agent prompt-prefix KV cache for ``LocalLLM``.

llama.cpp keeps one conversation's KV cache, and llama-cpp-python reuses the longest common
prefix between the previous prompt and the next one. That serves one agent talking; a handoff
switches to another agent's system message and tools, and switching back would re-read the
first agent's whole prompt (seconds on a laptop CPU). So after every reply the KV state of
sequence 0 (keys and values only, ~29 KB per token for Qwen2.5-1.5B) is kept here, keyed by
its tokens; before a prompt is evaluated, the entry sharing the longest prefix with it is
restored when that beats what the context already holds. llama-cpp-python's own
``LlamaRAMCache`` is not used: its states include a logits buffer of ``n_batch × n_vocab``
floats (~300 MB for Qwen) copied on every save.
"""

from __future__ import annotations

import ctypes
import logging
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

log = logging.getLogger("voxfsm.agents.llm")

MIN_GAIN = 16
"""Restore only when it saves at least this many tokens of prefill (a restore costs a copy)."""


def common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


class PrefixCache:
    """Saved sequence states, least recently used first, bounded in bytes."""

    def __init__(self, capacity_bytes: int) -> None:
        self.capacity_bytes = capacity_bytes
        self._entries: OrderedDict[tuple[int, ...], bytes] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def size_bytes(self) -> int:
        return sum(len(v) for v in self._entries.values())

    def best(self, tokens: Sequence[int]) -> tuple[tuple[int, ...], int] | None:
        """The key sharing the longest prefix with ``tokens``, and that length."""
        found: tuple[tuple[int, ...], int] | None = None
        for key in self._entries:
            n = common_prefix(key, tokens)
            if n and (found is None or n > found[1]):
                found = (key, n)
        return found

    def put(self, tokens: tuple[int, ...], state: bytes) -> None:
        # an entry whose tokens the new one extends is superseded by it
        for key in [k for k in self._entries if common_prefix(k, tokens) == len(k)]:
            del self._entries[key]
        self._entries[tokens] = state
        while len(self._entries) > 1 and self.size_bytes > self.capacity_bytes:
            self._entries.popitem(last=False)

    def get(self, key: tuple[int, ...]) -> bytes:
        self._entries.move_to_end(key)
        return self._entries[key]


def save(llm: Any, cache: PrefixCache) -> None:
    """Keep the KV state of what ``llm`` has evaluated so far (sequence 0)."""
    import llama_cpp

    n = int(llm.n_tokens)
    if n == 0 or cache.capacity_bytes <= 0:
        return
    ctx = llm._ctx.ctx
    size = llama_cpp.llama_state_seq_get_size(ctx, 0)
    buf = (ctypes.c_uint8 * size)()
    written = llama_cpp.llama_state_seq_get_data(ctx, buf, size, 0)
    if not written:
        return
    cache.put(tuple(int(t) for t in llm.input_ids[:n]), bytes(buf)[:written])


def restore_best(llm: Any, cache: PrefixCache, tokens: Sequence[int]) -> int:
    """Load the cached state that best matches ``tokens`` if it beats the live one.

    Returns how many prompt tokens are now already evaluated (llama-cpp-python then drops
    what follows the common prefix and evaluates the rest).
    """
    import llama_cpp

    live = common_prefix(llm.input_ids[: llm.n_tokens].tolist(), tokens)
    found = cache.best(tokens)
    if found is None or found[1] < live + MIN_GAIN:
        return live
    key, n = found
    state = cache.get(key)
    ctx = llm._ctx.ctx
    llm._ctx.kv_cache_clear()
    buf = (ctypes.c_uint8 * len(state)).from_buffer_copy(state)
    if llama_cpp.llama_state_seq_set_data(ctx, buf, len(state), 0) != len(state):
        log.warning("could not restore a cached prompt prefix; evaluating the prompt in full")
        llm._ctx.kv_cache_clear()
        llm.n_tokens = 0
        return 0
    llm.input_ids[: len(key)] = key
    llm.n_tokens = len(key)
    llm._requires_eval = True
    return n
