"""Print a session's events as a readable conversation (used by the demo and the text console)."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.text import Text

from voxfsm.agents import (
    AgentHandoff,
    AgentSession,
    ChatMessage,
    FunctionCall,
    FunctionCallOutput,
    RunEvent,
)

_AGENT_STYLES = ("cyan", "magenta", "green", "yellow", "blue", "red")


class TranscriptPrinter:
    """Renders events as they happen; agent-initiated speech (greetings) is shown too."""

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(highlight=False)
        self._styles: dict[str, str] = {}
        self._speaker = "agent"

    def _style(self, agent_id: str) -> str:
        if agent_id not in self._styles:
            self._styles[agent_id] = _AGENT_STYLES[len(self._styles) % len(_AGENT_STYLES)]
        return self._styles[agent_id]

    def attach(self, session: AgentSession[Any]) -> None:
        """Print every message and handoff the session records, whoever started it."""

        def on_item(ev: Any) -> None:
            item = ev.item
            if isinstance(item, ChatMessage) and item.role == "assistant":
                # AgentHandoff items come after the old agent's last words, so the speaker
                # tracked from handoffs is right even during a transition
                self.message(self._speaker, item)
            elif isinstance(item, AgentHandoff):
                self.handoff(item)

        def on_tools(ev: Any) -> None:
            for fc, out in ev.zipped():
                self.tool(fc, out)

        session.on("conversation_item_added", on_item)
        session.on("function_tools_executed", on_tools)

    def user(self, text: str) -> None:
        self.console.print(Text.assemble(("you  ", "bold"), text))

    def message(self, agent_id: str, item: ChatMessage) -> None:
        text = item.text_content + (" [cut off]" if item.interrupted else "")
        self.console.print(Text.assemble((f"{agent_id}  ", f"bold {self._style(agent_id)}"), text))

    def tool(self, call: FunctionCall, output: FunctionCallOutput) -> None:
        args = call.arguments if call.arguments not in ("", "{}") else ""
        mark, style = ("✗", "red") if output.is_error else ("✓", "green")
        shown = output.output
        try:
            data = json.loads(shown)
            if isinstance(data, dict):
                shown = ", ".join(f"{k}={v}" for k, v in data.items())
        except (json.JSONDecodeError, TypeError):
            pass
        self.console.print(
            Text.assemble(
                ("     ➜ ", "dim"),
                (call.name, "bold"),
                (f"({args})" if args else "", "dim"),
                (f"  {mark} ", style),
                (shown if len(shown) <= 100 else shown[:99] + "…", style),
            )
        )

    def handoff(self, item: AgentHandoff) -> None:
        self._speaker = item.new_agent_id
        old = item.old_agent_id or "start"
        self.console.print(
            Text.assemble(
                ("     ● handoff ", "dim"),
                (old, self._style(old) if item.old_agent_id else "dim"),
                (" → ", "dim"),
                (item.new_agent_id, f"bold {self._style(item.new_agent_id)}"),
            )
        )

    def events(self, events: list[RunEvent]) -> None:
        """Print the events of one run (for callers that did not ``attach``)."""
        calls: dict[str, FunctionCall] = {}
        for ev in events:
            item = ev.item
            if isinstance(item, FunctionCall):
                calls[item.call_id] = item
            elif isinstance(item, FunctionCallOutput) and item.call_id in calls:
                self.tool(calls[item.call_id], item)
            elif isinstance(item, ChatMessage):
                self.message(self._speaker, item)
            elif isinstance(item, AgentHandoff):
                self.handoff(item)
