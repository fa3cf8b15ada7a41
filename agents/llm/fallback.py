"""``FallbackAdapter``: one LLM made of several, tried in order until one answers.

Offline this pairs e.g. an ``OpenAILLM`` on a local server with ``LocalLLM`` in the process:
when the server is down, the in-process model answers.  A model that fails *before* sending
anything is skipped for the next one; once a reply has started streaming, a failure is raised
(part of it may already be spoken).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from typing import Any

from voxfsm.agents.llm.base import LLMChunk, LLMError
from voxfsm.agents.llm.stream import LLM, LLMStream, chat

log = logging.getLogger("voxfsm.agents")


async def _first(stream: LLMStream) -> LLMChunk | None:
    try:
        return await stream.__anext__()
    except StopAsyncIteration:
        return None


class FallbackAdapter(LLM):
    """Try ``llm`` in order; ``attempt_timeout`` bounds the wait for each model's first chunk
    (seconds); ``max_retry_per_llm`` retries a failing model before moving on."""

    model = "FallbackAdapter"

    def __init__(
        self,
        llm: Sequence[Any],
        *,
        attempt_timeout: float = 10.0,
        max_retry_per_llm: int = 0,
        retry_interval: float = 0.5,
        **_: Any,
    ) -> None:
        super().__init__()
        if not llm:
            raise ValueError("FallbackAdapter needs at least one LLM")
        if attempt_timeout <= 0:
            raise ValueError(f"attempt_timeout must be positive seconds, got {attempt_timeout}")
        self._llms = list(llm)
        self._attempt_timeout = attempt_timeout
        self._max_retry = max(0, max_retry_per_llm)
        self._retry_interval = max(0.0, retry_interval)
        self._active = self._llms[0]

    @property
    def llms(self) -> list[Any]:
        return list(self._llms)

    @property
    def metrics_metadata(self) -> dict[str, str]:
        """The model and provider that served the latest request (the first one before any)."""
        return {
            "model_name": str(getattr(self._active, "model", "unknown")),
            "model_provider": str(getattr(self._active, "provider", "unknown")),
        }

    def prewarm(self, *, loop: asyncio.AbstractEventLoop | None = None) -> None:
        """Prewarm the first model only (the others stay cold until needed)."""
        warm = getattr(self._llms[0], "prewarm", None)
        if warm is not None:
            warm(loop=loop)

    def chat(
        self, *, chat_ctx: Any, tools: Any = None, tool_choice: Any = "auto", **options: Any
    ) -> LLMStream:
        return LLMStream(self._stream(chat_ctx, list(tools or ()), tool_choice, options))

    async def _stream(
        self, chat_ctx: Any, tools: list[Any], choice: Any, options: dict[str, Any]
    ) -> AsyncIterator[LLMChunk]:
        failures: list[str] = []
        for model in self._llms:
            for attempt in range(self._max_retry + 1):
                if attempt:
                    await asyncio.sleep(self._retry_interval)
                stream = chat(model, chat_ctx=chat_ctx, tools=tools, tool_choice=choice, **options)
                try:
                    first = await asyncio.wait_for(_first(stream), self._attempt_timeout)
                except Exception as exc:
                    await stream.aclose()
                    timed_out = isinstance(exc, asyncio.TimeoutError)
                    what = "no first chunk in time" if timed_out else repr(exc)
                    failures.append(f"{type(model).__name__}: {what}")
                    log.warning("LLM %s failed (%s); trying the next one", model, what)
                    continue
                self._active = model
                async with stream:
                    if first is not None:
                        yield first
                    async for chunk in stream:
                        yield chunk
                return
        raise LLMError(
            "every LLM of the FallbackAdapter failed: "
            + "; ".join(failures)
            + f" (each had attempt_timeout={self._attempt_timeout:g} s for its first chunk)"
        )

    async def aclose(self) -> None:
        """Closes nothing: the models given to the adapter stay their owner's to close."""
