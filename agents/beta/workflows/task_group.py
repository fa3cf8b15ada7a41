"""``TaskGroup``: several tasks in order, as one task; the user may go back to an earlier one.

The group is itself an ``AgentTask``.  While it is active it runs its tasks one after the
other (each one sees the conversation so far), and completes with every task's result.
Each task it runs gets one extra tool, ``out_of_scope``: when the user wants to change an
answer given to an earlier task, the LLM calls it with that task's id; the current task is
abandoned and the group resumes from the earliest task named, running every task after it
again in order.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import attrs

from voxfsm.agents.agent import AgentTask
from voxfsm.agents.chat import ChatContext
from voxfsm.agents.tools import FunctionTool, ToolError, ToolFlag, function_tool

log = logging.getLogger("voxfsm.agents")

_SUMMARY_PROMPT = (
    "Summarize the conversation above in a few sentences for the agent that continues it: "
    "keep every fact the user gave (names, numbers, addresses, choices)."
)


@attrs.frozen
class TaskGroupResult:
    """Each task's result in a task group, by task id."""

    task_results: dict[str, Any]


@attrs.frozen
class TaskCompletedEvent:
    """One task of a task group finished, with its result."""

    agent_task: AgentTask[Any]
    task_id: str
    result: Any


@attrs.frozen
class _Entry:
    factory: Callable[[], AgentTask[Any]]
    id: str
    description: str


class _GoBack(Exception):
    """Completes the current task when the user asks to revisit earlier ones."""

    def __init__(self, task_ids: list[str]) -> None:
        super().__init__(f"the user wants to go back to {', '.join(task_ids)}")
        self.task_ids = task_ids


class TaskGroup(AgentTask[TaskGroupResult]):
    """Runs the tasks given with :meth:`add` in order; completes with their results by id.

    ``summarize_chat_ctx=True`` replaces the group's messages by one summary written by the
    LLM before they merge back into the caller (skipped when the LLM gives no text).
    ``return_exceptions=True`` stores a failing task's exception as its result and goes on;
    otherwise the group fails with it.  ``on_task_completed`` (async) is told of each result
    and may raise to stop the group.
    """

    def __init__(
        self,
        *,
        summarize_chat_ctx: bool = True,
        return_exceptions: bool = False,
        chat_ctx: ChatContext | None = None,
        on_task_completed: Callable[[TaskCompletedEvent], Awaitable[None]] | None = None,
        instructions: str = "Carry out the steps of this conversation in order.",
        **kwargs: Any,
    ) -> None:
        super().__init__(instructions=instructions, chat_ctx=chat_ctx, **kwargs)
        self._entries: list[_Entry] = []
        self._summarize = summarize_chat_ctx
        self._return_exceptions = return_exceptions
        self._on_task_completed = on_task_completed

    def add(self, task: Callable[[], AgentTask[Any]], *, id: str, description: str) -> TaskGroup:
        """Add a task (a zero-argument factory: a task runs again when the user goes back)."""
        if any(e.id == id for e in self._entries):
            raise ValueError(f"TaskGroup already has a task with id {id!r}")
        self._entries.append(_Entry(task, id, description))
        return self

    async def on_enter(self) -> None:
        results: dict[str, Any] = {}
        index = 0
        try:
            while index < len(self._entries):
                entry = self._entries[index]
                task = entry.factory()
                await task.update_chat_ctx(self.chat_ctx.copy(exclude_instructions=True))
                visited = self._entries[:index]
                if visited:
                    await task.update_tools([*task.tools, _go_back_tool(task, visited)])
                try:
                    result = await task
                except _GoBack as back:
                    ids = [e.id for e in self._entries]
                    index = min(ids.index(t) for t in back.task_ids)
                    continue
                except Exception as exc:
                    if not self._return_exceptions:
                        raise
                    result = exc
                results[entry.id] = result
                if self._on_task_completed is not None:
                    await self._on_task_completed(TaskCompletedEvent(task, entry.id, result))
                index += 1
        except Exception as exc:
            self.complete(exc)
            return
        if self._summarize:
            await self._summarize_context()
        self.complete(TaskGroupResult(task_results=results))

    async def _summarize_context(self) -> None:
        llm = self.llm if self.llm is not None and not _not_given(self.llm) else None
        llm = llm or self.session.llm
        if llm is None:
            return
        ctx = self.chat_ctx.copy(exclude_instructions=True, exclude_function_call=True)
        if not ctx.items:
            return
        ctx.add_message(role="system", content=_SUMMARY_PROMPT)
        parts = []
        async for chunk in llm.chat(chat_ctx=ctx, tools=[], tool_choice="none"):
            parts.append(chunk.text)
        summary = "".join(parts).strip()
        if not summary:
            log.info("TaskGroup: the LLM gave no summary; the group's messages are kept")
            return
        fresh = ChatContext()
        fresh.add_message(role="assistant", content=summary)
        await self.update_chat_ctx(fresh)


def _go_back_tool(task: AgentTask[Any], visited: list[_Entry]) -> FunctionTool:
    """The ``out_of_scope`` tool of one task: it abandons ``task`` for earlier steps."""
    choices = "; ".join(f"{e.id}: {e.description}" for e in visited)

    async def out_of_scope(raw_arguments: dict[str, Any]) -> None:
        ids = raw_arguments.get("task_ids") or []
        known = {e.id for e in visited}
        if not ids or any(t not in known for t in ids):
            raise ToolError(f"task_ids must name earlier steps, among: {sorted(known)}")
        task.complete(_GoBack(list(ids)))

    schema = {
        "name": "out_of_scope",
        "description": (
            "The user wants to change something handled in an earlier step. Earlier steps: "
            f"{choices}."
        ),
        "parameters": {
            "type": "object",
            "properties": {
                "task_ids": {
                    "type": "array",
                    "items": {"type": "string", "enum": [e.id for e in visited]},
                }
            },
            "required": ["task_ids"],
            "additionalProperties": False,
        },
    }
    return function_tool(out_of_scope, raw_schema=schema, flags=ToolFlag.IGNORE_ON_ENTER)


def _not_given(value: Any) -> bool:
    from voxfsm.agents.plugins import NOT_GIVEN

    return value is NOT_GIVEN
