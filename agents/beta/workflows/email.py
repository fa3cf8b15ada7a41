"""``GetEmailTask``: ask for an email address, check its shape, confirm it when spoken."""

from __future__ import annotations

import re
from typing import Any

import attrs

from voxfsm.agents.agent import AgentTask
from voxfsm.agents.beta.workflows._confirm import needs_confirmation
from voxfsm.agents.context import RunContext
from voxfsm.agents.tools import ToolError, function_tool

_EMAIL = re.compile(r"^[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}$")

_INSTRUCTIONS = (
    "Your only job is to get the user's email address. Speech recognition spells addresses "
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

    ``require_confirmation=None`` asks the user to confirm only when they spoke (audio input);
    ``True``/``False`` force it.  Declining completes the task with a ``ToolError``.
    """

    def __init__(
        self,
        *,
        extra_instructions: str = "",
        require_confirmation: bool | None = None,
        **kwargs: Any,
    ) -> None:
        text = f"{_INSTRUCTIONS}\n{extra_instructions}".strip()
        super().__init__(instructions=text, **kwargs)
        self._require_confirmation = require_confirmation
        self._pending: str | None = None

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
        if not needs_confirmation(self._require_confirmation, ctx):
            self.complete(GetEmailResult(email_address=email))
            return None
        self._pending = email
        return (
            f"The email address is {email}. Read it back to the user and ask them to confirm; "
            "when they do, call confirm_email_address."
        )

    @function_tool
    async def confirm_email_address(self) -> None:
        """The user confirmed the email address that was read back to them."""
        if self._pending is None:
            raise ToolError("no email address to confirm yet; call update_email_address first")
        self.complete(GetEmailResult(email_address=self._pending))

    @function_tool
    async def decline_email_capture(self, reason: str) -> None:
        """The user will not give an email address.

        Args:
            reason: Why, in the user's words.
        """
        self.complete(ToolError(f"couldn't get the email address: {reason}"))
