"""A notebook view of a running session's graph that redraws in place as the session moves.

IPython is imported only when a view is shown, so this module costs nothing outside Jupyter.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from typing import Any

from .graph import WorkflowGraph, build_graph
from .render import mimebundle

log = logging.getLogger(__name__)

# Session events after which the graph may have changed (a handoff is recorded as a history
# item; tool rounds and state changes catch swaps made from hooks).
EVENTS = ("conversation_item_added", "function_tools_executed", "agent_state_changed")


class LiveGraph:
    """Shows ``build_graph(session)`` in a notebook and updates that output in place.

    The view listens to the session's events and redraws only when the session's trace
    changed (a new step or another current agent), so a chatty session does not rerun ``dot``
    on every message.  Call :meth:`refresh` to force a check, :meth:`close` to stop listening.
    """

    def __init__(self, session: Any, *, include: Iterable[object] = ()) -> None:
        self.session = session
        self.include = tuple(include)
        self.display_id = f"voxfsm-graph-{uuid.uuid4().hex}"
        self.redraws = 0
        self._key: tuple[str | None, int] | None = None
        self._shown = False
        self._subscribed: list[str] = []

    def graph(self) -> WorkflowGraph | None:
        """The session's graph now, or None before the session has an agent."""
        try:
            return build_graph(self.session, include=self.include)
        except ValueError:
            return None  # not started yet

    def _bundle(self) -> dict[str, str]:
        graph = self.graph()
        if graph is None:
            return {"text/plain": "(the session has not started; the graph appears once it does)"}
        return mimebundle(graph)

    def _trace_key(self) -> tuple[str | None, int]:
        trace = self.session.__fsm_trace__()
        return (trace.current, len(trace.steps))

    def show(self) -> None:
        """Display the view (again); every copy shares one display id and updates together."""
        from IPython.display import display

        self._key = self._trace_key()
        display(self._bundle(), raw=True, display_id=self.display_id)
        self._shown = True

    def refresh(self, *_event: Any) -> bool:
        """Redraw if the session moved since the last drawing; returns whether it redrew."""
        from IPython.display import update_display

        key = self._trace_key()
        if key == self._key:
            return False
        self._key = key
        update_display(self._bundle(), raw=True, display_id=self.display_id)
        self.redraws += 1
        return True

    def _on_event(self, *event: Any) -> None:
        try:
            self.refresh(*event)
        except Exception:  # a broken view must never break the session it watches
            log.exception("could not redraw the workflow graph")

    def subscribe(self) -> None:
        for name in EVENTS:
            try:
                self.session.on(name, self._on_event)
            except Exception as exc:  # an older session may not emit every event
                log.debug("session does not emit %s: %s", name, exc)
            else:
                self._subscribed.append(name)

    def close(self) -> None:
        """Stop following the session (the last drawing stays)."""
        off = getattr(self.session, "off", None)
        for name in self._subscribed:
            if off is not None:
                off(name, self._on_event)
        self._subscribed.clear()

    def _ipython_display_(self) -> None:
        # ``watch(session)`` as a cell's last line already displayed the view: show it once.
        if not self._shown:
            self.show()

    def __repr__(self) -> str:
        return f"<LiveGraph of {type(self.session).__name__}, {self.redraws} redraws>"


def watch(session: Any, *, include: Iterable[object] = ()) -> LiveGraph:
    """Display the session's graph in the notebook and keep it current while the session runs.

    >>> view = watch(session)            # doctest: +SKIP
    >>> await session.run(user_input="I have a billing question")  # doctest: +SKIP
    """
    view = LiveGraph(session, include=include)
    view.show()
    view.subscribe()
    return view
