"""``WarmTransferTask``: hand the caller to a human, after briefing that human.

In LiveKit the task puts the caller on hold, dials a human agent over SIP, lets the LLM brief
them with the conversation so far, and completes once the human agrees to take the call.
Offline there is no phone line, so "the human agent" is one of two things:

* a handler in this process (``human_agent=`` on the task, or :func:`set_human_agent` for all
  tasks): an async callable given a :class:`TransferRequest` (who was dialled, the
  conversation so far as text, the caller's context).  It returns the human's identity
  (a ``str``), ``True`` (accepted, default identity) or ``False``/``None`` (declined), or
  raises ``ToolError``.  ``ringing_timeout`` bounds how long it may take to answer.
* otherwise the person at the console: the task's LLM briefs them with the conversation
  history and they answer as the human agent would, so the LLM calls ``connect_to_caller``,
  ``decline_transfer`` or ``voicemail_detected`` (LiveKit's tool names).

The task completes with :class:`WarmTransferResult` or fails with a ``ToolError``.  The SIP
settings (``sip_trunk_id``, ``sip_connection``, ``sip_number``, ``sip_headers``, ``dtmf``) and
``hold_audio`` are accepted and kept; they have no offline meaning and log one warning.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import attrs

from voxfsm.agents.agent import AgentTask
from voxfsm.agents.beta.instructions import task_instructions
from voxfsm.agents.chat import ChatContext
from voxfsm.agents.plugins import NOT_GIVEN
from voxfsm.agents.tools import ToolError, function_tool

log = logging.getLogger("voxfsm.agents")

DEFAULT_IDENTITY = "human-agent-sip"
_UNUSED_OFFLINE = ("sip_trunk_id", "sip_connection", "sip_number", "sip_headers", "dtmf")
_warned: set[str] = set()

_PERSONA = "You are an assistant briefing a human agent (a supervisor) who is taking over a call."
_BRIEFING = (
    "The caller is on hold. Summarize who the caller is and what they need, in two or three "
    "sentences, then ask whether the human agent will take the call. When they agree, call "
    "connect_to_caller; if they decline, call decline_transfer; if you reached a voicemail, "
    "call voicemail_detected.\n\nThe conversation so far:\n{history}"
)


@attrs.frozen
class WarmTransferResult:
    """Who took the call."""

    human_agent_identity: str


@attrs.frozen
class TransferRequest:
    """What an offline human-agent handler is told about the call it is offered."""

    sip_call_to: str
    summary: str
    """The conversation so far, one ``Caller:``/``Assistant:`` line per message."""
    chat_ctx: ChatContext


HumanAgent = Callable[[TransferRequest], Awaitable[Any]]
_default_handler: list[HumanAgent | None] = [None]


def set_human_agent(handler: HumanAgent | None) -> None:
    """Who answers every ``WarmTransferTask`` in this process (``None``: the console)."""
    _default_handler[0] = handler


def conversation_text(chat_ctx: ChatContext | None) -> str:
    """The user and assistant messages of ``chat_ctx`` as ``Caller:``/``Assistant:`` lines."""
    if chat_ctx is None:
        return ""
    lines = []
    for msg in chat_ctx.messages():
        if msg.role in ("user", "assistant") and msg.text_content:
            who = "Caller" if msg.role == "user" else "Assistant"
            lines.append(f"{who}: {msg.text_content}")
    return "\n".join(lines)


class WarmTransferTask(AgentTask[WarmTransferResult]):
    """Offers the call to a human agent with a briefing; see the module for what that means
    offline."""

    def __init__(
        self,
        sip_call_to: Any = NOT_GIVEN,
        *,
        ringing_timeout: Any = NOT_GIVEN,
        hold_audio: Any = NOT_GIVEN,
        instructions: Any = NOT_GIVEN,
        chat_ctx: Any = NOT_GIVEN,
        extra_instructions: str = "",
        target_phone_number: Any = NOT_GIVEN,
        human_agent: HumanAgent | None = None,
        sip_trunk_id: Any = NOT_GIVEN,
        sip_connection: Any = NOT_GIVEN,
        sip_number: Any = NOT_GIVEN,
        sip_headers: Any = NOT_GIVEN,
        dtmf: Any = NOT_GIVEN,
        **kwargs: Any,
    ) -> None:
        if not sip_call_to and target_phone_number:
            sip_call_to = target_phone_number  # LiveKit's older name
        if not sip_call_to:
            raise ValueError("WarmTransferTask needs sip_call_to (who to transfer the caller to)")
        history = conversation_text(None if chat_ctx is NOT_GIVEN else chat_ctx)
        text = task_instructions(
            instructions,
            persona=_PERSONA,
            rules=_BRIEFING.format(history=history or "(nothing yet)"),
            extra=extra_instructions,
        )
        # like LiveKit, the task starts with a fresh context: the history is in its instructions
        super().__init__(instructions=text, **kwargs)
        self.sip_call_to = str(sip_call_to)
        self.ringing_timeout = None if ringing_timeout is NOT_GIVEN else ringing_timeout
        self.hold_audio = hold_audio
        self.history = history
        self._caller_ctx = chat_ctx if isinstance(chat_ctx, ChatContext) else ChatContext()
        self._handler = human_agent
        given = {
            "sip_trunk_id": sip_trunk_id,
            "sip_connection": sip_connection,
            "sip_number": sip_number,
            "sip_headers": sip_headers,
            "dtmf": dtmf,
        }
        self.sip_settings = {k: v for k, v in given.items() if v is not NOT_GIVEN}
        unused = [k for k in _UNUSED_OFFLINE if given[k] not in (NOT_GIVEN, None)]
        if hold_audio not in (NOT_GIVEN, None):
            unused.append("hold_audio")
        for name in unused:
            if name not in _warned:
                _warned.add(name)
                log.warning(
                    "WarmTransferTask(%s=...): no phone line offline; the setting is kept "
                    "on .sip_settings and does nothing",
                    name,
                )

    async def on_enter(self) -> None:
        handler = self._handler or _default_handler[0]
        if handler is None:
            await self.session.generate_reply(
                instructions="Brief the human agent now and ask whether they take the call."
            )
            return
        request = TransferRequest(self.sip_call_to, self.history, self._caller_ctx)
        try:
            answer = await asyncio.wait_for(handler(request), self.ringing_timeout)
        except asyncio.TimeoutError:
            self.complete(
                ToolError(
                    f"{self.sip_call_to} did not answer within ringing_timeout="
                    f"{self.ringing_timeout} s (raise it to wait longer)"
                )
            )
            return
        except ToolError as exc:
            self.complete(exc)
            return
        if answer is True:
            answer = DEFAULT_IDENTITY
        if not answer:
            self.complete(ToolError(f"human agent declined to connect ({self.sip_call_to})"))
            return
        self.complete(WarmTransferResult(human_agent_identity=str(answer)))

    @function_tool
    async def connect_to_caller(self) -> None:
        """The human agent agreed to take the call: connect them to the caller."""
        self.complete(WarmTransferResult(human_agent_identity=DEFAULT_IDENTITY))

    @function_tool
    async def decline_transfer(self, reason: str) -> None:
        """The human agent will not take the call.

        Args:
            reason: Why, in a few words.
        """
        self.complete(ToolError(f"human agent declined to connect: {reason}"))

    @function_tool
    async def voicemail_detected(self) -> None:
        """A voicemail answered instead of the human agent."""
        self.complete(ToolError("voicemail detected"))
