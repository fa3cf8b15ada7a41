"""``GetAddressTask``: ask for a postal address, confirm it when spoken."""

from __future__ import annotations

from typing import Any

import attrs

from voxfsm.agents.agent import AgentTask
from voxfsm.agents.beta.instructions import task_instructions
from voxfsm.agents.beta.workflows._confirm import ReadBack, ask_explicitly
from voxfsm.agents.context import RunContext
from voxfsm.agents.plugins import NOT_GIVEN
from voxfsm.agents.tools import ToolError, function_tool

_PERSONA = "Your only job is to get the user's full postal address."
_RULES = (
    "It has a street and number, a unit if "
    "any, a city or locality, and a country. Ask for what is missing, then call update_address. "
    "If the user does not want to give one, call decline_address_capture."
)


@attrs.frozen
class GetAddressResult:
    """The address a :class:`GetAddressTask` collected."""

    address: str


class GetAddressTask(AgentTask[GetAddressResult]):
    """Collects one postal address; completes with :class:`GetAddressResult`."""

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
        self._answer = ReadBack(self, require_confirmation, "confirm_address")
        ask_explicitly(self, "update_address", require_explicit_ask)

    async def on_enter(self) -> None:
        self.session.generate_reply(instructions="Ask the user for their address.")

    @function_tool
    async def update_address(
        self,
        street_address: str,
        locality: str,
        country: str,
        ctx: RunContext,
        unit_number: str = "",
    ) -> str | None:
        """Store the address the user gave.

        Args:
            street_address: Street name and house number.
            locality: City, town or locality (with postal code if given).
            country: Country.
            unit_number: Apartment, suite or unit, if any.
        """
        parts = [street_address.strip(), unit_number.strip(), locality.strip(), country.strip()]
        if not (parts[0] and parts[2] and parts[3]):
            raise ToolError("street_address, locality and country are all needed")
        address = ", ".join(p for p in parts if p)
        return self._answer.offer(
            GetAddressResult(address=address), ctx, read_back=f"The address is {address}."
        )

    @function_tool
    async def confirm_address(self) -> None:
        """The user confirmed the address that was read back to them."""
        self._answer.confirm("address")

    @function_tool
    async def decline_address_capture(self, reason: str) -> None:
        """The user will not give an address.

        Args:
            reason: Why, in the user's words.
        """
        self.complete(ToolError(f"couldn't get the address: {reason}"))
