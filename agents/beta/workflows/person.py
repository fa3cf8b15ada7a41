"""``GetNameTask`` and ``GetPhoneNumberTask``: small facts about the caller.

Each asks for one thing, checks its shape, reads it back for confirmation when the user
spoke (or when ``require_confirmation=True``), and completes with a result object; declining
completes the task with a ``ToolError``.  Constructor parameters and tool names are LiveKit's
(``update_name``/``confirm_name``/``decline_name_capture``, ...).
"""

from __future__ import annotations

import re
from typing import Any

import attrs

from voxfsm.agents.agent import AgentTask
from voxfsm.agents.beta.workflows._confirm import ReadBack, ask_explicitly, joined
from voxfsm.agents.context import RunContext
from voxfsm.agents.plugins import NOT_GIVEN
from voxfsm.agents.tools import ToolError, function_tool


@attrs.frozen
class GetNameResult:
    """The name a :class:`GetNameTask` collected (the parts it was asked for)."""

    first_name: str | None = None
    middle_name: str | None = None
    last_name: str | None = None


class GetNameTask(AgentTask[GetNameResult]):
    """Asks for the caller's name; completes with :class:`GetNameResult`.

    ``name_format`` (e.g. ``"{last_name}, {first_name}"``) is how the name is read back;
    ``verify_spelling=True`` asks the model to have the user spell it.
    """

    def __init__(
        self,
        first_name: bool = True,
        last_name: bool = False,
        middle_name: bool = False,
        name_format: Any = NOT_GIVEN,
        verify_spelling: bool = False,
        extra_instructions: str = "",
        *,
        require_confirmation: Any = NOT_GIVEN,
        require_explicit_ask: bool = False,
        **kwargs: Any,
    ) -> None:
        wanted = (("first", first_name), ("middle", middle_name), ("last", last_name))
        self.parts = [part for part, on in wanted if on]
        if not self.parts:
            raise ValueError("ask for at least one of first_name, middle_name, last_name")
        self.name_format = (
            " ".join(f"{{{p}_name}}" for p in self.parts)
            if name_format is NOT_GIVEN
            else str(name_format)
        )
        spelling = (
            "Have the user spell the name letter by letter, and spell it back when confirming."
            if verify_spelling
            else ""
        )
        super().__init__(
            instructions=joined(
                f"Your only job is to get the user's {', '.join(self.parts)} name. Call "
                "update_name with what they said; if they will not give it, call "
                "decline_name_capture.",
                spelling,
                extra_instructions,
            ),
            **kwargs,
        )
        self._answer = ReadBack(self, require_confirmation, "confirm_name")
        ask_explicitly(self, "update_name", require_explicit_ask)

    async def on_enter(self) -> None:
        self.session.generate_reply(instructions="Ask the user for their name.")

    @function_tool
    async def update_name(
        self,
        ctx: RunContext,
        first_name: str = "",
        middle_name: str = "",
        last_name: str = "",
    ) -> str | None:
        """Store the user's name.

        Args:
            first_name: Given name.
            middle_name: Middle name, if asked for.
            last_name: Family name, if asked for.
        """
        given = {
            "first": first_name.strip(),
            "middle": middle_name.strip(),
            "last": last_name.strip(),
        }
        missing = [p for p in self.parts if not given[p]]
        if missing:
            raise ToolError(f"still needed: the {', '.join(missing)} name")
        result = GetNameResult(**{f"{p}_name": given[p] for p in self.parts})
        try:
            spoken = self.name_format.format(**{f"{p}_name": v for p, v in given.items()})
        except (KeyError, IndexError, ValueError):
            spoken = " ".join(given[p] for p in self.parts)
        return self._answer.offer(result, ctx, read_back=f"The name is {spoken}.")

    @function_tool
    async def confirm_name(self) -> None:
        """The user confirmed the name that was read back to them."""
        self._answer.confirm("name")

    @function_tool
    async def decline_name_capture(self, reason: str) -> None:
        """The user will not give their name.

        Args:
            reason: Why, in the user's words.
        """
        self.complete(ToolError(f"couldn't get the name: {reason}"))


@attrs.frozen
class GetPhoneNumberResult:
    """The phone number a :class:`GetPhoneNumberTask` collected."""

    phone_number: str


class GetPhoneNumberTask(AgentTask[GetPhoneNumberResult]):
    """Asks for the caller's phone number; completes with :class:`GetPhoneNumberResult`."""

    def __init__(
        self,
        extra_instructions: str = "",
        *,
        require_confirmation: Any = NOT_GIVEN,
        require_explicit_ask: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            instructions=joined(
                "Your only job is to get the user's phone number. Call update_phone_number "
                "with its digits (a leading + is allowed); if they will not give one, call "
                "decline_phone_number_capture.",
                extra_instructions,
            ),
            **kwargs,
        )
        self._answer = ReadBack(self, require_confirmation, "confirm_phone_number")
        ask_explicitly(self, "update_phone_number", require_explicit_ask)

    async def on_enter(self) -> None:
        self.session.generate_reply(instructions="Ask the user for their phone number.")

    @function_tool
    async def update_phone_number(self, phone_number: str, ctx: RunContext) -> str | None:
        """Store the user's phone number.

        Args:
            phone_number: The number, digits with an optional leading +.
        """
        cleaned = re.sub(r"[\s().\-]", "", phone_number)
        if not re.fullmatch(r"\+?\d{7,15}", cleaned):
            raise ToolError(f"{phone_number!r} is not a phone number; ask again")
        return self._answer.offer(
            GetPhoneNumberResult(cleaned),
            ctx,
            read_back=f"The phone number is {' '.join(cleaned)}.",
        )

    @function_tool
    async def confirm_phone_number(self) -> None:
        """The user confirmed the phone number that was read back to them."""
        self._answer.confirm("phone number")

    @function_tool
    async def decline_phone_number_capture(self, reason: str) -> None:
        """The user will not give a phone number.

        Args:
            reason: Why, in the user's words.
        """
        self.complete(ToolError(f"couldn't get the phone number: {reason}"))
