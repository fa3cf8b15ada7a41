"""Terminal view of a voice conversation: transcript lines scroll, a live status bar below.

The transcript (messages, tool calls, handoffs) is printed by
:class:`~voxfsm.io.cli.transcript.TranscriptPrinter`; this module adds what only exists in voice
mode: the microphone level, who is speaking, the active agent, the partial transcript and
each turn's latencies.
"""

from __future__ import annotations

import contextlib
import statistics
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.text import Text

from voxfsm.io.cli.transcript import TranscriptPrinter

if TYPE_CHECKING:
    from voxfsm.agents import AgentSession
    from voxfsm.io.loop import VoiceLoop

__all__ = ["ConsoleView", "level_bar"]

# stage -> label, in the order a turn goes through them
_STAGES = {
    "endpoint_ms": "endpoint",
    "stt_final_ms": "stt",
    "llm_first_token_ms": "llm 1st token",
    "tts_first_audio_ms": "first audio",
}


def level_bar(dbfs: float, width: int = 20, floor: float = -60.0) -> str:
    """A meter for a level in dBFS: empty at ``floor`` and below, full at 0."""
    filled = round(width * min(1.0, max(0.0, (dbfs - floor) / -floor)))
    return "█" * filled + "·" * (width - filled)


class ConsoleView:
    """Shows a session run by a :class:`VoiceLoop` (or typed to, when ``loop`` is None)."""

    def __init__(
        self,
        session: AgentSession[Any],
        loop: VoiceLoop | None = None,
        console: Console | None = None,
    ) -> None:
        self.console = console or Console(highlight=False)
        self.session = session
        self.loop = loop
        self.printer = TranscriptPrinter(self.console)
        self.partial = ""
        self.agent_state = "initializing"
        self.turns: list[dict[str, float]] = []

    def attach(self) -> None:
        """Subscribe to the session's events (call once, before the session starts)."""
        self.printer.attach(self.session)
        self.session.on("user_input_transcribed", self._on_transcript)
        self.session.on("agent_state_changed", self._on_agent_state)
        self.session.on("metrics_collected", self._on_metrics)
        self.session.on("error", self._on_error)

    def _on_transcript(self, ev: Any) -> None:
        if ev.is_final:
            self.partial = ""
            self.printer.user(ev.transcript)
        else:
            self.partial = ev.transcript

    def _on_agent_state(self, ev: Any) -> None:
        self.agent_state = ev.new_state

    def _on_metrics(self, ev: Any) -> None:
        if ev.name != "voice_turn":
            return
        self.turns.append(dict(ev.values))
        self.console.print(Text("     " + _latency_line(ev.values), style="dim"))

    def _on_error(self, ev: Any) -> None:
        self.console.print(Text(f"     ! {ev.source}: {ev.error}", style="red"))

    def _agent_id(self) -> str:
        try:
            return str(self.session.current_agent.id)
        except RuntimeError:
            return "-"

    def __rich__(self) -> RenderableType:
        status = Text()
        if self.loop is not None:
            level = self.loop.level_dbfs
            status.append("mic ", style="dim")
            status.append(level_bar(level), style="green" if level > -40 else "dim green")
            status.append(f" {level:5.0f} dBFS  ", style="dim")
            user = "speaking" if self.loop.user_speaking else "listening"
            status.append("you: ", style="dim")
            status.append(f"{user:<9}", style="bold" if self.loop.user_speaking else "")
        status.append("  agent ", style="dim")
        status.append(self._agent_id(), style="bold cyan")
        status.append(f": {self.agent_state}", style="")
        lines: list[RenderableType] = [status]
        if self.partial:
            lines.append(Text.assemble(("you… ", "dim bold"), (self.partial, "italic")))
        return Group(*lines)

    @contextlib.asynccontextmanager
    async def live(self) -> AsyncIterator[None]:
        """Keep the status bar on screen (terminals only; files and pipes get plain lines)."""
        if not self.console.is_terminal:
            yield
            return
        with Live(self, console=self.console, refresh_per_second=10, transient=True):
            yield

    def summary(self) -> None:
        """Print mean and worst latencies over the turns seen."""
        if not self.turns:
            return
        parts = []
        for key, label in _STAGES.items():
            values = [t[key] for t in self.turns if key in t]
            if values:
                parts.append(f"{label} {statistics.mean(values):.0f}/{max(values):.0f}")
        self.console.print(
            Text(
                f"{len(self.turns)} spoken turn(s); ms after end of speech, mean/max: "
                + ", ".join(parts),
                style="dim",
            )
        )


def _latency_line(values: dict[str, float]) -> str:
    shown = [f"{label} {values[key]:.0f}" for key, label in _STAGES.items() if key in values]
    return "⏱ " + " · ".join(shown) + " ms after you stopped" if shown else ""
