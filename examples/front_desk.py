"""Front desk: book an appointment, capturing the caller's email address with an AgentTask.

Graph: FrontDesk is the only lasting agent (``terminal = True``); its ``schedule_appointment``
tool awaits ``GetEmailTask``, a temporary agent that returns the confirmed address.

Guards: a slot can only be booked if this call offered it (``list_available_slots`` remembers
the offers in userdata), and only while it is still free; the email address must look like
one before the caller is asked to confirm it.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

import attrs

from voxfsm.agents import (
    Agent,
    AgentSession,
    AgentTask,
    ChatContext,
    RunContext,
    ToolError,
    function_tool,
)
from voxfsm.agents.llm import call, reply
from voxfsm.examples._demo import Rules, demo_llm

# A fixed week, so the demo and the tests do not depend on today's date.
SlotId = Literal["mon-0900", "tue-1000", "tue-1400", "wed-1130", "fri-1600"]
"""Slot ids as an enum in the tool schema: a small local LLM cannot invent a new one."""
CALENDAR: dict[str, str] = {
    "mon-0900": "Monday at 9:00",
    "tue-1000": "Tuesday at 10:00",
    "tue-1400": "Tuesday at 14:00",
    "wed-1130": "Wednesday at 11:30",
    "fri-1600": "Friday at 16:00",
}
Day = Literal["any", "monday", "tuesday", "wednesday", "thursday", "friday"]

EMAIL = re.compile(r"^[\w.+-]+@[\w-]+(\.[\w-]+)*\.[a-z]{2,}$", re.IGNORECASE)


@attrs.define
class Booking:
    slot_id: str
    when: str
    email: str


@attrs.define
class FrontDeskData:
    """The calendar's free slots, what this call offered, and what it booked."""

    free_slots: dict[str, str] = attrs.Factory(lambda: dict(CALENDAR))
    offered: dict[str, str] = attrs.Factory(dict)
    bookings: list[Booking] = attrs.Factory(list)
    slot_unavailable_count: int = 0
    booking_in_progress: str | None = None


Ctx = RunContext[FrontDeskData]


def _spoken_email(text: str) -> str:
    # Speech recognition writes "sam dot lee at example dot com"; make it an address.
    text = text.strip().lower()
    text = re.sub(r"\s+(at)\s+", "@", text)
    text = re.sub(r"\s+(dot)\s+", ".", text)
    return re.sub(r"\s+", "", text)


ASK_EMAIL = "Ask the caller for the email address the confirmation should go to."


class GetEmailTask(AgentTask[str]):
    """Captures an email address and has the caller confirm it; the result is the address."""

    def __init__(self, *, chat_ctx: ChatContext | None = None) -> None:
        super().__init__(
            instructions=(
                "You capture the caller's email address. Record it as soon as you hear it, "
                "spell it back, and only confirm it once the caller says it is right. If the "
                "caller does not want to give one, decline the capture."
            ),
            chat_ctx=chat_ctx,
        )
        self._email: str | None = None

    async def on_enter(self) -> None:
        await self.session.generate_reply(instructions=ASK_EMAIL)

    @function_tool
    async def update_email_address(
        self, email: Annotated[str, "The address as the caller said it"]
    ) -> str:
        """Record the email address the caller gave, before asking them to confirm it."""
        address = _spoken_email(email)
        if not EMAIL.match(address):
            raise ToolError(
                f"{email!r} is not a valid email address; ask the caller to say it again."
            )
        self._email = address
        return f"The email address is {address}. Spell it back and ask the caller to confirm."

    @function_tool
    async def confirm_email_address(self) -> None:
        """Confirm the recorded address once the caller says it is right."""
        if self._email is None:
            raise ToolError("No email address recorded yet; ask the caller for it first.")
        self._finish(self._email)

    @function_tool
    async def decline_email_capture(
        self, reason: Annotated[str, "Why the address could not be captured"]
    ) -> None:
        """Give up when the caller will not or cannot give an email address."""
        self._finish(ToolError(f"Couldn't get the email address: {reason}"))

    def _finish(self, result: str | ToolError) -> None:
        # confirm and decline may both be called in one step: the first one decides
        if self.done():
            raise ToolError("The email capture is already finished.")
        self.complete(result)


GREET = "Greet the caller on behalf of the Elm Street dental practice and offer an appointment."


class FrontDesk(Agent):
    """Books appointments at the dental practice."""

    terminal = True  # the whole call happens here; the email task always returns to it

    def __init__(self) -> None:
        super().__init__(
            instructions=(
                "You are the front desk of the Elm Street dental practice, on the phone. List "
                "the free slots before offering any, offer only slots the tool returned, and "
                "book the one the caller picks. Keep answers short: they are spoken aloud."
            )
        )

    async def on_enter(self) -> None:
        await self.session.generate_reply(instructions=GREET)

    @function_tool
    async def list_available_slots(self, ctx: Ctx, day: Day = "any") -> str:
        """List free appointment slots, as `slot_id: when` lines.

        Args:
            day: Only slots on this weekday, or "any".
        """
        free = ctx.userdata.free_slots
        found = {sid: when for sid, when in free.items() if day == "any" or day[:3] == sid[:3]}
        if not found:
            return f"No free slots{'' if day == 'any' else ' on ' + day.capitalize()}."
        ctx.userdata.offered.update(found)
        return "\n".join(f"{sid}: {when}" for sid, when in found.items())

    @function_tool(handoff=GetEmailTask)
    async def schedule_appointment(
        self, ctx: Ctx, slot_id: Annotated[SlotId, "An id returned by list_available_slots"]
    ) -> str:
        """Book the slot the caller chose; their email address is captured for the confirmation."""
        data = ctx.userdata
        if slot_id not in data.offered:
            raise ToolError(
                f"Slot {slot_id!r} was never offered to the caller; call list_available_slots "
                "and use one of the ids it returns."
            )
        if data.booking_in_progress is not None:
            # an LLM may emit the same call twice in one step: one email capture at a time
            raise ToolError(
                f"Slot {data.booking_in_progress!r} is being booked already; finish that "
                "booking before starting another."
            )
        self._check_free(data, slot_id)
        data.booking_in_progress = slot_id
        try:
            email = await GetEmailTask(chat_ctx=self.chat_ctx)
        finally:
            data.booking_in_progress = None
        # the caller took a while to give the address: the slot may have gone meanwhile
        self._check_free(data, slot_id)
        when = data.free_slots.pop(slot_id)
        data.offered.pop(slot_id)
        data.bookings.append(Booking(slot_id, when, email))
        return f"Booked {when}; the confirmation goes to {email}."

    @staticmethod
    def _check_free(data: FrontDeskData, slot_id: str) -> None:
        if slot_id not in data.free_slots:
            data.slot_unavailable_count += 1
            data.offered.pop(slot_id, None)
            raise ToolError(
                f"Slot {slot_id!r} is no longer available; list the free slots again and "
                "offer another one."
            )


entry = FrontDesk

DEMO_TURNS: list[str] = [
    "Hi, can I get an appointment on Tuesday?",
    "Two in the afternoon sounds good.",
    "It's sam dot lee at example dot com.",
    "Yes, that's right.",
    "Perfect, thank you. Bye!",
]


def _demo_script() -> Rules:
    i = re.IGNORECASE
    return [
        (GREET, reply("Good morning, Elm Street dental. Would you like to book an appointment?")),
        (ASK_EMAIL, reply("Which email address should the confirmation go to?")),
        (re.compile(r"^tue-"), reply("On Tuesday I have 10 in the morning or 2 in the afternoon.")),
        (re.compile(r"^No free slots"), reply("Sorry, nothing is free then. Another day?")),
        (re.compile(r"^The email address is"), reply("That's sam.lee@example.com. Is that right?")),
        (re.compile(r"^Booked "), reply("You're booked for Tuesday at 2 pm. See you then!")),
        (re.compile(r"\b(good ?bye|bye)\b", i), reply("Goodbye!")),
        (
            re.compile(r"\b(e-?mail|@|at .* dot)\b", i),
            call("update_email_address", email="sam dot lee at example dot com"),
        ),
        (re.compile(r"\b(yes|yeah|yep|right|correct)\b", i), call("confirm_email_address")),
        (
            re.compile(r"\b(2|two)\b.*\bafternoon\b|\b(2|two) ?p\.?m\b", i),
            call("schedule_appointment", slot_id="tue-1400"),
        ),
        (
            re.compile(r"\b(appointment|book|available|availability|slots?|free)\b", i),
            call("list_available_slots", day="tuesday"),
        ),
    ]


def make_session() -> AgentSession[FrontDeskData]:
    """A fresh session for one call: the fixed calendar and the scripted demo LLM."""
    llm = demo_llm(_demo_script())
    return AgentSession(llm=llm, userdata=FrontDeskData())
