"""The few helpers from LiveKit's ``agents.utils`` that application code calls."""

from __future__ import annotations

import functools
import inspect
import logging
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

log = logging.getLogger("voxfsm.agents")


def shortuuid(prefix: str = "") -> str:
    """A short random id (12 hex digits) with an optional prefix."""
    return f"{prefix}{uuid.uuid4().hex[:12]}"


def log_exceptions(msg: str = "", logger: logging.Logger | None = None) -> Callable[[F], F]:
    """Decorator: log (and re-raise) what the function raises."""

    def wrap(fn: F) -> F:
        target = logger or log
        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def run_async(*args: Any, **kwargs: Any) -> Any:
                try:
                    return await fn(*args, **kwargs)
                except Exception:
                    target.exception(msg or f"error in {fn.__qualname__}")
                    raise

            return run_async  # type: ignore[return-value]

        @functools.wraps(fn)
        def run(*args: Any, **kwargs: Any) -> Any:
            try:
                return fn(*args, **kwargs)
            except Exception:
                target.exception(msg or f"error in {fn.__qualname__}")
                raise

        return run  # type: ignore[return-value]

    return wrap


class _HttpContext:
    """``utils.http_context``: LiveKit's shared HTTP client for tools that call web APIs.

    voxfsm itself never goes on the network; an app that does gets an ``aiohttp`` session
    (install ``aiohttp``), one per event loop, for the app to use and close."""

    def __init__(self) -> None:
        self._sessions: dict[int, Any] = {}

    def http_session(self) -> Any:
        try:
            import aiohttp
        except ImportError:
            raise RuntimeError(
                "utils.http_context.http_session() needs aiohttp: pip install aiohttp"
            ) from None
        import asyncio

        key = id(asyncio.get_running_loop())
        session = self._sessions.get(key)
        if session is None or session.closed:
            session = self._sessions[key] = aiohttp.ClientSession()
        return session


http_context = _HttpContext()
