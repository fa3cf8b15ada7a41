"""``GetDtmfTask``: collect a fixed number of digits, spoken or pressed on a keypad.

Offline there is no phone line: key presses reach the task through :meth:`press` (a
simulated caller, a test, or a voice front end with a keypad calls it).  Spoken digits go
through the ``record_inputs`` tool like any other answer.
"""

from __future__ import annotations

import asyncio
from typing import Any

import attrs

from voxfsm.agents.agent import AgentTask
from voxfsm.agents.plugins import NOT_GIVEN
from voxfsm.agents.tools import ToolError, function_tool

_INSTRUCTIONS = (
    "Your only job is to collect exactly {n} digits from the user, who may say them or press "
    "them on the keypad. Call record_inputs with the digits as a list of single characters."
)


@attrs.frozen
class GetDtmfResult:
    """The keypad digits a DTMF task collected."""

    user_input: str
    """The digits, separated by single spaces (``"1 2 3"``)."""


class GetDtmfTask(AgentTask[GetDtmfResult]):
    """Collects ``num_digits`` digits; with ``ask_for_confirmation`` reads them back first."""

    def __init__(
        self,
        *,
        num_digits: int,
        ask_for_confirmation: bool = False,
        extra_instructions: Any = "",
        dtmf_input_timeout: float = 4.0,
        dtmf_stop_event: str = "#",
        **kwargs: Any,
    ) -> None:
        if num_digits < 1:
            raise ValueError("num_digits must be at least 1")
        if dtmf_input_timeout <= 0:
            raise ValueError("dtmf_input_timeout must be a positive number of seconds")
        extra = "" if extra_instructions is NOT_GIVEN else str(extra_instructions or "")
        text = f"{_INSTRUCTIONS.format(n=num_digits)}\n{extra}".strip()
        super().__init__(instructions=text, **kwargs)
        self.dtmf_input_timeout = dtmf_input_timeout
        self._timer: asyncio.TimerHandle | None = None
        self.num_digits = num_digits
        self.ask_for_confirmation = ask_for_confirmation
        self.dtmf_stop_event = dtmf_stop_event
        self._pending: list[str] | None = None
        self._pressed: list[str] = []

    async def on_enter(self) -> None:
        self.session.generate_reply(
            instructions=f"Ask the user for their {self.num_digits}-digit number."
        )

    def _check(self, inputs: list[str]) -> list[str]:
        digits = [str(d).strip() for d in inputs if str(d).strip()]
        if len(digits) != self.num_digits or not all(
            d in "0123456789*#" and len(d) == 1 for d in digits
        ):
            raise ToolError(
                f"expected {self.num_digits} single digits, got {inputs!r}; ask the user again"
            )
        return digits

    @function_tool
    async def record_inputs(self, inputs: list[str]) -> str | None:
        """Record the digits the user gave.

        Args:
            inputs: The digits, one character per item.
        """
        digits = self._check(inputs)
        if not self.ask_for_confirmation:
            self.complete(GetDtmfResult(user_input=" ".join(digits)))
            return None
        self._pending = digits
        return (
            f"The digits are {' '.join(digits)}. Read them back and ask the user to confirm; "
            "when they do, call confirm_inputs with the same digits."
        )

    @function_tool
    async def confirm_inputs(self, inputs: list[str]) -> None:
        """The user confirmed the digits that were read back to them.

        Args:
            inputs: The confirmed digits, one character per item.
        """
        digits = self._check(inputs)
        if self._pending is not None and digits != self._pending:
            raise ToolError("these are not the digits that were read back; confirm again")
        self.complete(GetDtmfResult(user_input=" ".join(digits)))

    def press(self, keys: str) -> None:
        """Key presses from a keypad; the task completes once enough digits arrived.  The
        stop key (``#``), or ``dtmf_input_timeout`` seconds without a key, ends the input
        early: fewer digits than ``num_digits`` then complete the task with a ``ToolError``."""
        self._cancel_timer()
        for key in keys:
            if self.done():
                return
            if str(key) == str(getattr(self.dtmf_stop_event, "value", self.dtmf_stop_event)):
                self._end_input()
                return
            if key in "0123456789*":
                self._pressed.append(key)
                if len(self._pressed) == self.num_digits:
                    self.complete(GetDtmfResult(user_input=" ".join(self._pressed)))
                    return
        if self._pressed and not self.done():
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                return  # pressed from outside a loop: only the stop key ends the input
            self._timer = loop.call_later(self.dtmf_input_timeout, self._end_input)

    def _end_input(self) -> None:
        self._cancel_timer()
        if self.done():
            return
        try:
            digits = self._check(self._pressed)
        except ToolError as exc:
            self.complete(exc)
            return
        self.complete(GetDtmfResult(user_input=" ".join(digits)))

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    async def on_exit(self) -> None:
        self._cancel_timer()
