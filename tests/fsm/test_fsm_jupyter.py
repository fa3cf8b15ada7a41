"""The live notebook view: displays once, redraws in place only when the session moved."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import IPython.display
import pytest
from _fsm_fakes import FakeSession, FakeState, FakeTool

from voxfsm.fsm.jupyter import EVENTS, watch


class Billing(FakeState):
    terminal = True


class Desk(FakeState):
    TOOLS = (FakeTool("to_billing", "Billing.", lambda: (Billing,)),)


class EventSession(FakeSession):
    def __init__(self) -> None:
        super().__init__()
        self.handlers: dict[str, list[Callable[..., Any]]] = {}

    def on(self, event: str, callback: Callable[..., Any]) -> None:
        self.handlers.setdefault(event, []).append(callback)

    def off(self, event: str, callback: Callable[..., Any]) -> None:
        self.handlers[event].remove(callback)

    def emit(self, event: str) -> None:
        for cb in list(self.handlers.get(event, [])):
            cb(object())


@pytest.fixture
def shown(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict[str, str], str]]:
    calls: list[tuple[str, dict[str, str], str]] = []

    def display(obj: dict[str, str], *, raw: bool, display_id: str) -> None:
        assert raw
        calls.append(("display", obj, display_id))

    def update_display(obj: dict[str, str], *, raw: bool, display_id: str) -> None:
        calls.append(("update", obj, display_id))

    monkeypatch.setattr(IPython.display, "display", display)
    monkeypatch.setattr(IPython.display, "update_display", update_display)
    return calls


def test_watch_redraws_in_place_on_handoff_only(
    shown: list[tuple[str, dict[str, str], str]],
) -> None:
    session = EventSession()
    view = watch(session)
    assert [c[0] for c in shown] == ["display"]
    assert "not started" in shown[0][1]["text/plain"]
    assert set(session.handlers) == set(EVENTS)

    session.start(Desk())
    session.emit("agent_state_changed")
    session.emit("conversation_item_added")  # nothing new since the last redraw
    session.handoff("to_billing", Billing())
    session.emit("conversation_item_added")

    kinds = [c[0] for c in shown]
    assert kinds == ["display", "update", "update"]
    assert len({c[2] for c in shown}) == 1  # always the same output
    last = shown[-1][1]
    assert "#ffd8a8" in last["image/svg+xml"]  # current agent filled
    assert "▶ billing" in last["text/plain"]
    assert view.redraws == 2

    view.close()
    assert all(not hs for hs in session.handlers.values())
    session.handoff("to_billing", Billing(), declared=False)
    session.emit("conversation_item_added")
    assert len(shown) == 3


def test_displaying_the_returned_view_does_not_duplicate_it(
    shown: list[tuple[str, dict[str, str], str]],
) -> None:
    view = watch(EventSession().start(Desk()))
    view._ipython_display_()
    assert [c[0] for c in shown] == ["display"]
    view.show()  # an explicit second copy shares the display id
    assert [c[0] for c in shown] == ["display", "display"] and shown[0][2] == shown[1][2]


def test_a_failing_redraw_never_reaches_the_session(
    shown: list[tuple[str, dict[str, str], str]],
) -> None:
    session = EventSession().start(Desk())
    watch(session)

    def broken() -> None:
        raise RuntimeError("boom")

    session.__fsm_trace__ = broken
    session.emit("conversation_item_added")  # logged, not raised
    assert len(shown) == 1


def test_importing_the_graph_modules_loads_neither_ipython_nor_graphviz() -> None:
    import subprocess
    import sys

    code = (
        "import sys, voxfsm.fsm.graph, voxfsm.fsm.render, voxfsm.fsm.checks, voxfsm.fsm.jupyter\n"
        "print(sorted(m for m in ('IPython', 'graphviz', 'voxfsm.agents') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
