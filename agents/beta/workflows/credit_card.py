"""``GetCreditCardTask``: a card number, its expiry date, security code and cardholder name.

The task runs four small tasks in a :class:`TaskGroup` (so the user may go back to an earlier
detail): :class:`GetCardNumberTask` (length and Luhn checked, issuer from the first digit),
:class:`GetExpirationDateTask` (not in the past), :class:`GetSecurityCodeTask` (3 or 4
digits) and a :class:`GetNameTask` for the name on the card.  Card details are never read
back: when confirmation is needed (spoken input, or ``require_confirmation=True``) the user
is asked to repeat the detail and the ``confirm_*`` tool compares the two.  In every step the
LLM also has ``decline_card_capture`` (the task fails with :class:`CardCaptureDeclinedError`)
and ``restart_card_collection`` (all four steps start again).
"""

from __future__ import annotations

import datetime
from typing import Any

import attrs

from voxfsm.agents.agent import AgentTask
from voxfsm.agents.beta.workflows._confirm import ask_explicitly, joined, needs_confirmation
from voxfsm.agents.beta.workflows.person import GetNameTask
from voxfsm.agents.beta.workflows.task_group import TaskGroup
from voxfsm.agents.context import RunContext
from voxfsm.agents.plugins import NOT_GIVEN
from voxfsm.agents.tools import ToolError, ToolFlag, function_tool

ISSUERS = {"3": "American Express", "4": "Visa", "5": "Mastercard", "6": "Discover"}


@attrs.frozen
class GetCreditCardResult:
    """Everything a :class:`GetCreditCardTask` collected."""

    cardholder_name: str
    issuer: str
    card_number: str
    security_code: str
    expiration_date: str
    """``MM/YY``."""


@attrs.frozen
class GetCardNumberResult:
    issuer: str
    card_number: str


@attrs.frozen
class GetSecurityCodeResult:
    security_code: str


@attrs.frozen
class GetExpirationDateResult:
    date: str
    """``MM/YY``."""


class CardCaptureDeclinedError(ToolError):
    """The user would not give a card detail."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"couldn't get the card details: {reason}")
        self.reason = reason


class CardCollectionRestartError(ToolError):
    """The user wants to start the card over (another card, a mistake)."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"starting the card over: {reason}")
        self.reason = reason


def luhn_valid(number: str) -> bool:
    """The Luhn checksum every payment card number satisfies."""
    if not number.isdigit():
        return False
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


async def _finish_current(ctx: RunContext, error: ToolError) -> None:
    task = ctx.session.current_agent
    if isinstance(task, AgentTask) and not task.done():
        task.complete(error)


@function_tool(flags=ToolFlag.IGNORE_ON_ENTER)
async def decline_card_capture(ctx: RunContext, reason: str) -> None:
    """The user refuses to give a card detail.

    Args:
        reason: Why, in a few words.
    """
    await _finish_current(ctx, CardCaptureDeclinedError(reason))


@function_tool(flags=ToolFlag.IGNORE_ON_ENTER)
async def restart_card_collection(ctx: RunContext, reason: str) -> None:
    """The user wants to start the card details over (e.g. to use another card).

    Args:
        reason: Why, in a few words.
    """
    await _finish_current(ctx, CardCollectionRestartError(reason))


_STEP = (
    "You collect one detail of a payment card: {what}. {how} Never repeat card details back "
    "to the user. If they refuse, call decline_card_capture; if they want to start over or "
    "use another card, call restart_card_collection."
)


class _CardStep(AgentTask[Any]):
    """One card detail: recorded, then (when confirmation is needed) repeated by the user."""

    what = ""
    how = ""
    update_tool = ""
    confirm_tool = ""

    def __init__(
        self,
        *,
        chat_ctx: Any = NOT_GIVEN,
        require_confirmation: Any = NOT_GIVEN,
        require_explicit_ask: bool = False,
        extra_instructions: str = "",
        **kwargs: Any,
    ) -> None:
        super().__init__(
            instructions=joined(_STEP.format(what=self.what, how=self.how), extra_instructions),
            chat_ctx=None if chat_ctx is NOT_GIVEN else chat_ctx,
            tools=[decline_card_capture, restart_card_collection],
            **kwargs,
        )
        self._require_confirmation = require_confirmation
        self._expected: Any = None
        self._result: Any = None
        ask_explicitly(self, self.update_tool, require_explicit_ask)

    async def on_enter(self) -> None:
        await self.session.generate_reply(
            instructions=f"Get the {self.what}; if the user already gave it in this "
            f"conversation, record it with {self.update_tool} instead of asking again."
        )

    def _accept(self, value: Any, result: Any, ctx: RunContext) -> str | None:
        if not needs_confirmation(self._require_confirmation, ctx):
            if not self.done():
                self.complete(result)
            return None
        self._expected, self._result = value, result
        return (
            f"The {self.what} is recorded. Do not say it back: ask the user to repeat it, then "
            f"call {self.confirm_tool} with what they repeat."
        )

    def _repeated(self, value: Any) -> str | None:
        if self._result is None:
            raise ToolError(f"nothing to confirm yet; call {self.update_tool} first")
        if value != self._expected:
            return f"The repeated {self.what} does not match; ask the user to try again."
        if not self.done():
            self.complete(self._result)
        return None


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


class GetCardNumberTask(_CardStep):
    what = "card number"
    how = "Users read it digit by digit or type it with spaces or dashes."
    update_tool = "update_card_number"
    confirm_tool = "confirm_card_number"

    @function_tool
    async def update_card_number(self, ctx: RunContext, card_number: str) -> str | None:
        """Record the whole card number, once the user has given all of it.

        Args:
            card_number: The card number, digits only.
        """
        number = _digits(card_number)
        if not 13 <= len(number) <= 19:
            return "That card number has the wrong length; ask the user to repeat it."
        if not luhn_valid(number):
            return "That is not a valid card number; ask the user to check it or use another."
        result = GetCardNumberResult(issuer=ISSUERS.get(number[0], "Other"), card_number=number)
        return self._accept(number, result, ctx)

    @function_tool
    async def confirm_card_number(self, repeated_card_number: str) -> str | None:
        """The user repeated their card number to confirm it.

        Args:
            repeated_card_number: The number as the user repeated it.
        """
        return self._repeated(_digits(repeated_card_number))


class GetExpirationDateTask(_CardStep):
    what = "card's expiration date"
    how = "Users say it as 'April twenty-eight', 'oh four slash twenty-eight' or '04/28'."
    update_tool = "update_expiration_date"
    confirm_tool = "confirm_expiration_date"

    @function_tool
    async def update_expiration_date(
        self, ctx: RunContext, expiration_month: int, expiration_year: int
    ) -> str | None:
        """Record the card's expiration month and year.

        Args:
            expiration_month: The month, 1 to 12.
            expiration_year: The year's last two digits (28 for 2028).
        """
        if not 1 <= expiration_month <= 12:
            return "That month is not valid; ask the user for the expiration month again."
        year = expiration_year % 100 if expiration_year >= 2000 else expiration_year
        if not 0 <= year <= 99:
            return "That year is not valid; ask the user for the expiration year again."
        today = datetime.date.today()
        if (2000 + year, expiration_month) < (today.year, today.month):
            return "That card has expired; ask the user for another card."
        result = GetExpirationDateResult(date=f"{expiration_month:02d}/{year:02d}")
        return self._accept((expiration_month, year), result, ctx)

    @function_tool
    async def confirm_expiration_date(
        self, repeated_expiration_month: int, repeated_expiration_year: int
    ) -> str | None:
        """The user repeated the expiration date to confirm it.

        Args:
            repeated_expiration_month: The month as repeated, 1 to 12.
            repeated_expiration_year: The year's last two digits as repeated.
        """
        return self._repeated((repeated_expiration_month, repeated_expiration_year % 100))


class GetSecurityCodeTask(_CardStep):
    what = "card's security code"
    how = "It has 3 or 4 digits and may start with zero."
    update_tool = "update_security_code"
    confirm_tool = "confirm_security_code"

    @function_tool
    async def update_security_code(self, ctx: RunContext, security_code: str) -> str | None:
        """Record the card's security code.

        Args:
            security_code: The 3 or 4 digit code, as a string (keep leading zeros).
        """
        code = security_code.strip()
        if not (code.isdigit() and 3 <= len(code) <= 4):
            return "A security code has 3 or 4 digits; ask the user to repeat it."
        return self._accept(code, GetSecurityCodeResult(security_code=code), ctx)

    @function_tool
    async def confirm_security_code(self, repeated_security_code: str) -> str | None:
        """The user repeated the security code to confirm it.

        Args:
            repeated_security_code: The code as the user repeated it.
        """
        return self._repeated(repeated_security_code.strip())


_CARDHOLDER = (
    "You collect the name printed on the payment card (the cardholder), which may differ "
    "from the caller's. When you ask, say that it is the name on the card."
)


class GetCreditCardTask(AgentTask[GetCreditCardResult]):
    """Collects a payment card; completes with :class:`GetCreditCardResult`, or fails with a
    ``ToolError`` (:class:`CardCaptureDeclinedError` when the user declines)."""

    def __init__(
        self,
        chat_ctx: Any = NOT_GIVEN,
        *,
        require_confirmation: Any = NOT_GIVEN,
        extra_instructions: str = "",
        **kwargs: Any,
    ) -> None:
        super().__init__(
            instructions="Collect the user's payment card details, one step at a time.",
            chat_ctx=None if chat_ctx is NOT_GIVEN else chat_ctx,
            **kwargs,
        )
        self._require_confirmation = require_confirmation
        self._extra = extra_instructions

    def _steps(self) -> TaskGroup:
        ctx = self.chat_ctx.copy(exclude_instructions=True)
        common = {"require_confirmation": self._require_confirmation}
        group = TaskGroup(chat_ctx=ctx, summarize_chat_ctx=False)
        group.add(
            lambda: GetCardNumberTask(extra_instructions=self._extra, **common),
            id="card_number_task",
            description="the card number",
        )
        group.add(
            lambda: GetExpirationDateTask(extra_instructions=self._extra, **common),
            id="expiration_date_task",
            description="the card's expiration date",
        )
        group.add(
            lambda: GetSecurityCodeTask(extra_instructions=self._extra, **common),
            id="security_code_task",
            description="the card's security code",
        )
        group.add(
            lambda: GetNameTask(
                first_name=True,
                last_name=True,
                extra_instructions=joined(self._extra, _CARDHOLDER),
                require_explicit_ask=True,
                **common,
            ),
            id="cardholder_name_task",
            description="the name on the card",
        )
        return group

    async def on_enter(self) -> None:
        while not self.done():
            try:
                found = (await self._steps()).task_results
            except CardCollectionRestartError:
                continue
            except ToolError as exc:
                self.complete(exc)
                return
            name = found["cardholder_name_task"]
            number = found["card_number_task"]
            self.complete(
                GetCreditCardResult(
                    cardholder_name=f"{name.first_name} {name.last_name}",
                    issuer=number.issuer,
                    card_number=number.card_number,
                    security_code=found["security_code_task"].security_code,
                    expiration_date=found["expiration_date_task"].date,
                )
            )
