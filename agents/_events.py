"""A tiny synchronous event emitter: ``on``/``once``/``off``/``emit``, listeners' errors logged."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar, overload

log = logging.getLogger("voxfsm.agents")

_Listener = TypeVar("_Listener", bound=Callable[..., Any])


class EventEmitter:
    """Listeners run synchronously, in registration order; one failing does not stop others."""

    def __init__(self) -> None:
        self._listeners: dict[str, list[Callable[[Any], Any]]] = {}

    @overload
    def on(self, event: str) -> Callable[[_Listener], _Listener]: ...

    @overload
    def on(self, event: str, callback: _Listener) -> _Listener: ...

    def on(self, event: str, callback: Callable[..., Any] | None = None) -> Any:
        """Register ``callback`` for ``event`` (usable as a decorator when called without it);
        the callback is returned unchanged, with its own type."""

        def register(cb: Callable[..., Any]) -> Callable[..., Any]:
            self._listeners.setdefault(event, []).append(cb)
            return cb

        return register(callback) if callback is not None else register

    def once(self, event: str, callback: Callable[..., Any] | None = None) -> Any:
        """Like :meth:`on`, but the callback runs for the next ``event`` only."""

        def register(cb: Callable[..., Any]) -> Callable[..., Any]:
            def first(payload: Any) -> Any:
                self.off(event, first)
                return cb(payload)

            self._listeners.setdefault(event, []).append(first)
            return cb

        return register(callback) if callback is not None else register

    def off(self, event: str, callback: Callable[[Any], Any]) -> None:
        if callback in self._listeners.get(event, ()):
            self._listeners[event].remove(callback)

    def emit(self, event: str, payload: Any) -> None:
        for cb in tuple(self._listeners.get(event, ())):
            try:
                cb(payload)
            except Exception:
                log.exception("listener of %r failed", event)
