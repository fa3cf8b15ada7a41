"""``GetNameTask``, ``GetPhoneNumberTask``, ``GetDOBTask``: small facts about the caller.

Each asks for one thing, checks its shape, reads it back for confirmation when the user
spoke (or when ``require_confirmation=True``), and completes with a result object; declining
completes the task with a ``ToolError``.
"""

from __future__ import annotations

import datetime
import re
from typing import Any

import attrs

from voxfsm.agents.agent import AgentTask
from voxfsm.agents.beta.workflows._confirm import needs_confirmation
from voxfsm.agents.context import RunContext
from voxfsm.agents.tools import ToolError, function_tool


class _Ask(AgentTask[Any]):
    """One fact, with read-back when needed: subclasses define ``update_*`` tools."""

    what = "it"

    def __init__(
        self,
        *,
        instructions: str,
        extra_instructions: str = "",
        require_confirmation: bool | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(instructions=f"{instructions}\n{extra_instructions}".strip(), **kwargs)
        self._require_confirmation = require_confirmation
        self._pending: Any = None

    async def on_enter(self) -> None:
        self.session.generate_reply(instructions=f"Ask the user for their {self.what}.")

    def _got(self, result: Any, spoken: str, ctx: RunContext | None) -> str | None:
        if not needs_confirmation(self._require_confirmation, ctx):
            self.complete(result)
            return None
        self._pending = result
        return (
            f"The {self.what} is {spoken}. Read it back and ask the user to confirm; when they "
            "do, call confirm."
        )

    @function_tool
    async def confirm(self) -> None:
        """The user confirmed what was read back to them."""
        if self._pending is None:
            raise ToolError(f"no {self.what} to confirm yet")
        self.complete(self._pending)

    @function_tool
    async def decline(self, reason: str) -> None:
        """The user will not give it.

        Args:
            reason: Why, in the user's words.
        """
        self.complete(ToolError(f"couldn't get the {self.what}: {reason}"))


@attrs.frozen
class GetNameResult:
    """The name a :class:`GetNameTask` collected (the parts it was asked for)."""

    first_name: str | None = None
    middle_name: str | None = None
    last_name: str | None = None


class GetNameTask(_Ask):
    """Asks for the caller's name; completes with :class:`GetNameResult`."""

    what = "name"

    def __init__(
        self,
        *,
        first_name: bool = True,
        middle_name: bool = False,
        last_name: bool = False,
        **kwargs: Any,
    ) -> None:
        parts = [
            n
            for n, on in (("first", first_name), ("middle", middle_name), ("last", last_name))
            if on
        ]
        if not parts:
            raise ValueError("ask for at least one of first_name, middle_name, last_name")
        self.parts = parts
        super().__init__(
            instructions=f"Your only job is to get the user's {', '.join(parts)} name. Call "
            "update_name with what they said.",
            **kwargs,
        )

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
        return self._got(result, " ".join(given[p] for p in self.parts), ctx)


@attrs.frozen
class GetPhoneNumberResult:
    """The phone number a :class:`GetPhoneNumberTask` collected."""

    phone_number: str


class GetPhoneNumberTask(_Ask):
    """Asks for the caller's phone number; completes with :class:`GetPhoneNumberResult`."""

    what = "phone number"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            instructions="Your only job is to get the user's phone number. Call "
            "update_phone_number with its digits (a leading + is allowed).",
            **kwargs,
        )

    @function_tool
    async def update_phone_number(self, phone_number: str, ctx: RunContext) -> str | None:
        """Store the user's phone number.

        Args:
            phone_number: The number, digits with an optional leading +.
        """
        cleaned = re.sub(r"[\s().\-]", "", phone_number)
        if not re.fullmatch(r"\+?\d{7,15}", cleaned):
            raise ToolError(f"{phone_number!r} is not a phone number; ask again")
        return self._got(GetPhoneNumberResult(cleaned), " ".join(cleaned), ctx)


@attrs.frozen
class GetDOBResult:
    """The date (and optional time) of birth a :class:`GetDOBTask` collected."""

    date_of_birth: datetime.date
    time_of_birth: datetime.time | None = None


class GetDOBTask(_Ask):
    """Asks for the caller's date of birth; completes with :class:`GetDOBResult`."""

    what = "date of birth"

    def __init__(self, *, include_time: bool = False, **kwargs: Any) -> None:
        self.include_time = include_time
        super().__init__(
            instructions="Your only job is to get the user's date of birth"
            + (" and time of birth" if include_time else "")
            + ". Call update_dob with it in ISO form (YYYY-MM-DD).",
            **kwargs,
        )

    @function_tool
    async def update_dob(
        self, date_of_birth: str, ctx: RunContext, time_of_birth: str = ""
    ) -> str | None:
        """Store the user's date of birth.

        Args:
            date_of_birth: The date, as YYYY-MM-DD.
            time_of_birth: The time, as HH:MM, when asked for.
        """
        try:
            day = datetime.date.fromisoformat(date_of_birth.strip())
            at = datetime.time.fromisoformat(time_of_birth.strip()) if time_of_birth else None
        except ValueError:
            raise ToolError(
                f"{date_of_birth!r} {time_of_birth!r} is not a date (YYYY-MM-DD) / time (HH:MM)"
            ) from None
        if day > datetime.date.today():
            raise ToolError("a date of birth cannot be in the future; ask again")
        if self.include_time and at is None:
            raise ToolError("the time of birth is needed too")
        return self._got(GetDOBResult(day, at), day.isoformat(), ctx)
