"""Provider errors under LiveKit's names (``from livekit.agents import APIConnectionError``).

voxfsm's own :class:`~voxfsm.agents.llm.LLMError` is an :class:`APIError`, so code that catches
LiveKit's errors around a model call catches ours too.
"""

from __future__ import annotations

from typing import Any


class APIError(Exception):
    """A model or speech provider failed; ``retryable`` says whether trying again may help."""

    def __init__(self, message: str = "", *, body: Any = None, retryable: bool = True) -> None:
        super().__init__(message)
        self.message = message
        self.body = body
        self.retryable = retryable


class APIStatusError(APIError):
    """The provider answered with an error status (``status_code``; 4xx are not retryable)."""

    def __init__(
        self,
        message: str = "",
        *,
        status_code: int = -1,
        request_id: str | None = None,
        body: Any = None,
        retryable: bool | None = None,
    ) -> None:
        if retryable is None:
            retryable = not 400 <= status_code < 500
        super().__init__(message, body=body, retryable=retryable)
        self.status_code = status_code
        self.request_id = request_id


class APIConnectionError(APIError):
    """The provider could not be reached."""


class APITimeoutError(APIConnectionError):
    """The provider did not answer in time."""


__all__ = ["APIConnectionError", "APIError", "APIStatusError", "APITimeoutError"]
