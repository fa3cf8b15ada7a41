"""The restaurant example with an LLM that burns CPU per request, like a local model would.

Used by ``bench/eval_scaling.py``: ``VOXFSM_BENCH_LLM_CPU_MS`` (default 20) milliseconds of
pure-Python work per LLM request, so scenarios are CPU-bound and parallel workers can help.
"""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator
from typing import Any

from voxfsm.agents import AgentSession
from voxfsm.examples import restaurant
from voxfsm.examples.restaurant import *  # noqa: F403  (the agents, so snapshots resolve)

entry = restaurant.entry


def _burn(ms: float) -> None:
    end = time.thread_time() + ms / 1000  # CPU time, so waiting for a core does not count
    x = 0
    while time.thread_time() < end:
        x += 1


class CpuLLM:
    def __init__(self, inner: Any, ms: float) -> None:
        self.inner, self.ms = inner, ms

    async def chat(self, **kwargs: Any) -> AsyncIterator[Any]:
        _burn(self.ms)
        async for chunk in self.inner.chat(**kwargs):
            yield chunk


def make_session() -> AgentSession[Any]:
    session = restaurant.make_session()
    session.update_options(
        llm=CpuLLM(session.llm, float(os.environ.get("VOXFSM_BENCH_LLM_CPU_MS", "20")))
    )
    return session
