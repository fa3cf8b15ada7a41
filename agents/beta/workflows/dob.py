"""``GetDOBTask``: the caller's date of birth, and with ``include_time=True`` the time too.

The LLM records the date with ``update_dob(year, month, day)`` and, when the time was asked
for and the user knows it, ``update_time(hour, minute)`` (the time stays optional: a date
alone completes the task).  Spoken input is read back and confirmed with ``confirm_dob``.
"""

from __future__ import annotations

import datetime
from typing import Any

import attrs

from voxfsm.agents.agent import AgentTask
from voxfsm.agents.beta.workflows._confirm import ReadBack, ask_explicitly, joined
from voxfsm.agents.context import RunContext
from voxfsm.agents.plugins import NOT_GIVEN
from voxfsm.agents.tools import ToolError, function_tool


@attrs.frozen
class GetDOBResult:
    """The date (and optional time) of birth a :class:`GetDOBTask` collected."""

    date_of_birth: datetime.date
    time_of_birth: datetime.time | None = None


def _full_year(year: int) -> int:
    """A two-digit year means the most recent such year that is not in the future."""
    if 0 <= year < 100:
        this = datetime.date.today().year
        return year + (2000 if 2000 + year <= this else 1900)
    return year


class GetDOBTask(AgentTask[GetDOBResult]):
    """Asks for the caller's date of birth; completes with :class:`GetDOBResult`."""

    def __init__(
        self,
        extra_instructions: str = "",
        include_time: bool = False,
        *,
        require_confirmation: Any = NOT_GIVEN,
        require_explicit_ask: bool = False,
        **kwargs: Any,
    ) -> None:
        self.include_time = include_time
        time_part = (
            "Also ask for the time of birth; it is optional. If the user knows it, call "
            "update_time with it before update_dob."
            if include_time
            else ""
        )
        extra_tools = kwargs.pop("tools", None)
        tools = [] if extra_tools in (None, NOT_GIVEN) else list(extra_tools)
        if include_time:
            tools.append(function_tool(self._update_time, name="update_time"))
        super().__init__(
            instructions=joined(
                "Your only job is to get the user's date of birth. Call update_dob with the "
                "year, month and day; if they will not give it, call decline_dob_capture.",
                time_part,
                extra_instructions,
            ),
            tools=tools,
            **kwargs,
        )
        self._time: datetime.time | None = None
        self._day: datetime.date | None = None
        self._answer = ReadBack(self, require_confirmation, "confirm_dob")
        ask_explicitly(self, "update_dob", require_explicit_ask)

    async def on_enter(self) -> None:
        what = "date and time of birth" if self.include_time else "date of birth"
        self.session.generate_reply(instructions=f"Ask the user for their {what}.")

    def _offer(self, ctx: RunContext) -> str | None:
        assert self._day is not None
        spoken = self._day.strftime("%B %d, %Y")
        if self._time is not None:
            spoken += f" at {self._time.strftime('%H:%M')}"
        return self._answer.offer(
            GetDOBResult(self._day, self._time), ctx, read_back=f"The date of birth is {spoken}."
        )

    @function_tool
    async def update_dob(self, year: int, month: int, day: int, ctx: RunContext) -> str | None:
        """Store the user's date of birth.

        Args:
            year: The year of birth, four digits.
            month: The month, 1 to 12.
            day: The day of the month.
        """
        try:
            born = datetime.date(_full_year(year), month, day)
        except ValueError as exc:
            raise ToolError(f"that is not a date ({exc}); ask again") from None
        if born > datetime.date.today():
            raise ToolError("a date of birth cannot be in the future; ask again")
        self._day = born
        return self._offer(ctx)

    async def _update_time(self, hour: int, minute: int, ctx: RunContext) -> str | None:
        """Store the user's time of birth.

        Args:
            hour: The hour, 0 to 23.
            minute: The minute, 0 to 59.
        """
        try:
            self._time = datetime.time(hour, minute)
        except ValueError as exc:
            raise ToolError(f"that is not a time ({exc}); ask again") from None
        if self._day is None:
            return "The time of birth is recorded; now ask for the date of birth."
        return self._offer(ctx)

    @function_tool
    async def confirm_dob(self) -> None:
        """The user confirmed the date of birth that was read back to them."""
        self._answer.confirm("date of birth")

    @function_tool
    async def decline_dob_capture(self, reason: str) -> None:
        """The user will not give their date of birth.

        Args:
            reason: Why, in the user's words.
        """
        self.complete(ToolError(f"couldn't get the date of birth: {reason}"))
