"""``GetEmailTask``: ask for an email address, check its shape, confirm it when spoken."""

from __future__ import annotations

import re
from typing import Any

import attrs

from voxfsm.agents.agent import AgentTask
from voxfsm.agents.beta.instructions import task_instructions
from voxfsm.agents.beta.workflows._confirm import ReadBack, ask_explicitly
from voxfsm.agents.context import RunContext
from voxfsm.agents.plugins import NOT_GIVEN
from voxfsm.agents.tools import ToolError, function_tool

_EMAIL = re.compile(r"^[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}$")

_PERSONA = "Your only job is to get the user's email address."
_RULES = (
    "Speech recognition spells addresses "
    "out ('theo at example dot com'): turn that into the written form before you call "
    "update_email_address. If the user does not want to give one, call "
    "decline_email_capture. Do not talk about anything else."
)


@attrs.frozen
class GetEmailResult:
    """The email address a :class:`GetEmailTask` collected."""

    email_address: str


class GetEmailTask(AgentTask[GetEmailResult]):
    """Collects one email address; completes with :class:`GetEmailResult`.

    ``require_confirmation`` not given asks the user to confirm only when they spoke (audio
    input); ``True``/``False`` force it.  ``instructions`` replaces the built-in ones,
    ``extra_instructions`` adds to them.  Declining completes the task with a ``ToolError``.
    """

    def __init__(
        self,
        *,
        instructions: Any = NOT_GIVEN,
        extra_instructions: str = "",
        require_confirmation: Any = NOT_GIVEN,
        require_explicit_ask: bool = False,
        **kwargs: Any,
    ) -> None:
        text = task_instructions(
            instructions, persona=_PERSONA, rules=_RULES, extra=extra_instructions
        )
        super().__init__(instructions=text, **kwargs)
        self._answer = ReadBack(self, require_confirmation, "confirm_email_address")
        ask_explicitly(self, "update_email_address", require_explicit_ask)

    async def on_enter(self) -> None:
        self.session.generate_reply(instructions="Ask the user for their email address.")

    @function_tool
    async def update_email_address(self, email: str, ctx: RunContext) -> str | None:
        """Store the email address the user gave (in written form, e.g. name@example.com).

        Args:
            email: The email address, written out.
        """
        email = email.strip()
        if not _EMAIL.match(email):
            raise ToolError(f"Invalid email address provided: {email}")
        return self._answer.offer(
            GetEmailResult(email_address=email), ctx, read_back=f"The email address is {email}."
        )

    @function_tool
    async def confirm_email_address(self) -> None:
        """The user confirmed the email address that was read back to them."""
        self._answer.confirm("email address")

    @function_tool
    async def decline_email_capture(self, reason: str) -> None:
        """The user will not give an email address.

        Args:
            reason: Why, in the user's words.
        """
        self.complete(ToolError(f"couldn't get the email address: {reason}"))
