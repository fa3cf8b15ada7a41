"""Shared option types under LiveKit's module path (``livekit.agents.types``).

``APIConnectOptions`` is what LiveKit passes to every provider call (``llm.chat(...,
conn_options=...)``); offline models accept it so that ported LLM subclasses and fakes keep their
signatures. It is a stdlib dataclass rather than attrs on purpose: LiveKit code derives variants
with ``dataclasses.replace(DEFAULT_API_CONNECT_OPTIONS, ...)``.
"""

from __future__ import annotations

import dataclasses

from voxfsm.agents.plugins import NOT_GIVEN, NotGivenOr, _NotGiven

NotGiven = _NotGiven


@dataclasses.dataclass(frozen=True)
class APIConnectOptions:
    """Retries and timeout of one provider call (``timeout`` in seconds)."""

    max_retry: int = 3
    retry_interval: float = 2.0
    timeout: float = 10.0

    def __post_init__(self) -> None:
        if self.max_retry < 0:
            raise ValueError(f"max_retry must be 0 or more, got {self.max_retry}")
        if self.retry_interval < 0 or self.timeout < 0:
            raise ValueError("retry_interval and timeout must be 0 or more seconds")


DEFAULT_API_CONNECT_OPTIONS = APIConnectOptions()

__all__ = [
    "DEFAULT_API_CONNECT_OPTIONS",
    "NOT_GIVEN",
    "APIConnectOptions",
    "NotGiven",
    "NotGivenOr",
]
