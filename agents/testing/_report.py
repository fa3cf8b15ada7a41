"""What :func:`~voxfsm.agents.testing.check_workflow` returns, and how a failure is shown.

A failure is shown twice: as a conversation a person can follow (each step, then what the
session recorded for it) and as a regression test to paste into a test file.  Everything
here is plain data and text; chat items are read by their attributes only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs

from ._actions import ACTION_TYPES, Action, actions_code
from ._coverage import Coverage


class WorkflowFailure(AssertionError):
    """A generated conversation broke a workflow rule; ``check`` names which one."""

    def __init__(self, check: str, message: str) -> None:
        super().__init__(f"[{check}] {message}")
        self.check = check
        self.message = message


@attrs.frozen
class Failure:
    """The smallest failing conversation hypothesis found."""

    check: str
    message: str
    steps: tuple[Action, ...]
    conversation: str
    regression_test: str

    def __str__(self) -> str:
        return (
            f"[{self.check}] {self.message}\n\nafter {len(self.steps)} step(s):\n"
            f"{self.conversation}"
        )


@attrs.frozen
class WorkflowReport:
    """Outcome of :func:`~voxfsm.agents.testing.check_workflow`."""

    coverage: Coverage
    failure: Failure | None
    examples: int
    steps: int
    seconds: float

    @property
    def ok(self) -> bool:
        return self.failure is None

    @property
    def steps_per_second(self) -> float:
        return self.steps / self.seconds if self.seconds > 0 else 0.0

    def raise_on_failure(self) -> None:
        """``AssertionError`` with the shrunk conversation when a failure was found."""
        if self.failure is not None:
            raise AssertionError(str(self.failure))

    def __str__(self) -> str:
        head = (
            f"{self.examples} conversations, {self.steps} steps in {self.seconds:.1f} s "
            f"({self.steps_per_second:.0f} steps/s)"
        )
        body = str(self.failure) if self.failure is not None else "no failure found"
        return f"{head}\n{body}\n{self.coverage.summary()}"


def _item_line(item: Any, speaker: str) -> str | None:
    kind = getattr(item, "type", "")
    if kind == "message":
        if item.role in ("system", "developer"):
            return None
        who = "user" if item.role == "user" else f"{speaker}"
        return f"    {who}: {item.text_content!r}"
    if kind == "function_call":
        return f"    {speaker} -> {item.name}({item.arguments})"
    if kind == "function_call_output":
        flag = " (error)" if item.is_error else ""
        return f"    <- {item.name}: {item.output!r}{flag}"
    if kind == "agent_handoff":
        return f"    == handoff {item.old_agent_id} -> {item.new_agent_id}"
    return None


def conversation(actions: Sequence[Action], history: Sequence[Any], marks: Sequence[int]) -> str:
    """Each step's description followed by the history items it produced."""
    first = "session.start(entry)"
    if actions and type(actions[0]).__name__ == "Start":
        first, actions = actions[0].describe(), actions[1:]
    lines = [f"  0. {first}"]
    speaker = "agent"
    bounds = [*marks, len(history)]
    for item in history[: bounds[0]]:
        speaker = _advance(item, speaker)
        line = _item_line(item, speaker)
        if line:
            lines.append(line)
    for n, action in enumerate(actions, 1):
        lines.append(f"  {n}. {action.describe()}")
        for item in history[bounds[n - 1] : bounds[n]]:
            line = _item_line(item, speaker)
            speaker = _advance(item, speaker)
            if line:
                lines.append(line)
    return "\n".join(lines)


def _advance(item: Any, speaker: str) -> str:
    return item.new_agent_id if getattr(item, "type", "") == "agent_handoff" else speaker


def regression_test(
    actions: Sequence[Action],
    *,
    entry_import: str,
    entry_expr: str,
    replay_kwargs: str = "",
    name: str = "test_workflow_regression",
) -> str:
    """A pytest function that replays ``actions`` and fails the same way until fixed."""
    used = {type(a).__name__ for a in actions if isinstance(a, ACTION_TYPES)}
    if used & {"CallParallel", "SayDuring", "CallChain"}:
        used.add("CallTool")
    imports = ", ".join([*sorted(used), "replay"])
    lines = [ln.strip() for ln in replay_kwargs.splitlines() if ln.strip()]
    kwargs = "".join(
        f"\n        {ln if ln.endswith(',') or '#' in ln else ln + ','}" for ln in lines
    )
    return (
        f"from voxfsm.agents.testing import {imports}\n"
        f"{entry_import}\n\n\n"
        f"def {name}() -> None:\n"
        f"    replay(\n"
        f"        {entry_expr},\n"
        f"        {actions_code(actions, indent=' ' * 12)},{kwargs}\n"
        f"    )\n"
    )
