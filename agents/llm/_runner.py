"""The thread side of ``LocalLLM``: one loaded model, one worker thread, bounded replies.

llama.cpp contexts are not thread-safe and a decode blocks for a long time, so each loaded
model gets a single worker thread; replies queue on it in order. Models are shared by every
``LocalLLM`` that names the same file and settings (agents built with ``llm="local"`` on each
handoff must not load 1.1 GB again).
"""

from __future__ import annotations

import atexit
import concurrent.futures
import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs

from voxfsm.agents.llm import _prefix_cache
from voxfsm.agents.llm._decide import Vocabulary
from voxfsm.agents.llm._prefix_cache import PrefixCache

log = logging.getLogger("voxfsm.agents.llm")


@attrs.frozen
class ModelKey:
    path: Path
    n_ctx: int
    n_threads: int
    n_batch: int


@attrs.define
class Stats:
    """What one reply cost; ``LocalLLM.last_stats`` (the benchmarks read it)."""

    prompt_tokens: int = 0
    reused_tokens: int = 0
    """Prompt tokens whose KV state was already there or restored from the prefix cache."""
    prefill_s: float = 0.0
    first_token_s: float = 0.0
    """From the start of the job (model loaded) to the first generated token."""
    decided_s: float = 0.0
    """To the moment the action (say or which tool) was fixed."""
    total_s: float = 0.0
    completion_tokens: int = 0
    finish: str = ""
    call_log_odds: float | None = None
    """How strongly the model leaned to a call at the first token (``tool_choice="auto"``)."""


class Cancelled(Exception):
    """The reader went away (barge-in, timeout): the job stopped early."""


class Runner:
    """A loaded model with its worker thread and prefix cache."""

    def __init__(self, key: ModelKey, cache_bytes: int) -> None:
        self.key = key
        self.cache = PrefixCache(cache_bytes)
        self._pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix=f"voxfsm-llm-{key.path.stem[:20]}"
        )
        self._llm: Any = None
        self._load_lock = threading.Lock()
        self.load_s: float | None = None
        self._vocab: Vocabulary | None = None

    @property
    def loaded(self) -> bool:
        return self._llm is not None

    def submit(self, fn: Callable[[Any], Any]) -> concurrent.futures.Future[Any]:
        """Run ``fn(llama)`` on the worker thread (loading the model first if needed)."""
        return self._pool.submit(lambda: fn(self.load()))

    def load(self) -> Any:
        with self._load_lock:
            if self._llm is None:
                Llama = import_llama_cpp().Llama

                t0 = time.perf_counter()
                self._llm = Llama(
                    model_path=str(self.key.path),
                    n_ctx=self.key.n_ctx,
                    n_threads=self.key.n_threads,
                    n_threads_batch=self.key.n_threads,
                    n_batch=self.key.n_batch,
                    verbose=False,
                )
                self.load_s = time.perf_counter() - t0
                log.info("loaded %s in %.1f s", self.key.path.name, self.load_s)
            return self._llm

    def prefill(self, llm: Any, tokens: list[int], stats: Stats) -> None:
        """Bring the KV cache to ``tokens`` minus the last one (generation evaluates that)."""
        t0 = time.perf_counter()
        stats.reused_tokens = _prefix_cache.restore_best(llm, self.cache, tokens)
        stats.prefill_s = time.perf_counter() - t0

    def evaluate(self, llm: Any, tokens: list[int], check: Callable[[], None]) -> None:
        """Bring the KV cache to all of ``tokens``, so the next token's logits are ready.

        What already matches is kept (at least the last token is evaluated again: logits are
        not kept between replies); the rest goes in batches, with ``check()`` (cancel,
        deadline) before each, so a long prompt can still be stopped.
        """
        live = _prefix_cache.common_prefix(llm.input_ids[: llm.n_tokens].tolist(), tokens)
        keep = min(live, len(tokens) - 1)
        llm._ctx.kv_cache_seq_rm(-1, keep, -1)
        llm.n_tokens = keep
        step = self.key.n_batch
        for start in range(keep, len(tokens), step):
            check()
            llm.eval(tokens[start : start + step])

    def logits(self, llm: Any) -> Any:
        """The logits of the next token after the last ``evaluate``."""
        import numpy as np

        return np.ctypeslib.as_array(llm._ctx.get_logits(), shape=(llm.n_vocab(),)).copy()

    def vocabulary(self, llm: Any) -> Vocabulary:
        if self._vocab is None:
            self._vocab = Vocabulary(llm)
        return self._vocab

    def remember(self, llm: Any) -> None:
        _prefix_cache.save(llm, self.cache)

    def close(self) -> None:
        """Free the model (a running reply finishes first: each is bounded by its timeout)."""
        self._pool.shutdown(wait=True, cancel_futures=True)
        llm, self._llm = self._llm, None
        if llm is not None:
            llm.close()


_runners: dict[ModelKey, Runner] = {}
_runners_lock = threading.Lock()


@atexit.register
def _close_all() -> None:
    # before interpreter teardown: llama-cpp-python frees models through module globals
    # that are gone by then ("'NoneType' object is not callable" at exit)
    with _runners_lock:
        runners = list(_runners.values())
        _runners.clear()
    for runner in runners:
        runner.close()


def runner_for(key: ModelKey, cache_bytes: int) -> Runner:
    with _runners_lock:
        runner = _runners.get(key)
        if runner is None:
            runner = _runners[key] = Runner(key, cache_bytes)
        return runner


def default_threads() -> int:
    """Threads for decoding: ``$VOXFSM_LLM_THREADS``, else half the usable cores (1 to 4).

    Half, because the machine is shared with speech recognition, TTS and everything else:
    on a 2-core machine at load ~8, one thread decoded 9 tokens in 4.2 s and prefilled 65 in
    8.9 s; two threads took 5.4 s and 16.1 s (43 s and 30 s with OpenMP's default spinning).
    """
    env = os.environ.get("VOXFSM_LLM_THREADS")
    if env:
        return max(1, int(env))
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores // 2, 4))


def import_llama_cpp() -> Any:
    """``llama_cpp``, with OpenMP told to sleep rather than spin while its threads wait.

    The wheel is built with OpenMP, whose threads busy-wait between steps by default; when
    the cores are shared that starves the other threads of the same decode (measured: two
    threads decoded 8x slower than one on a loaded 2-core machine). libgomp reads the
    variable once, when llama.cpp's library is loaded, so it is set before the first import
    unless the user chose a policy.
    """
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    import llama_cpp

    return llama_cpp
