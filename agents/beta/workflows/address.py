"""``GetAddressTask``: ask for a postal address, confirm it when spoken."""

from __future__ import annotations

from typing import Any

import attrs

from voxfsm.agents.agent import AgentTask
from voxfsm.agents.beta.workflows._confirm import needs_confirmation
from voxfsm.agents.context import RunContext
from voxfsm.agents.tools import ToolError, function_tool

_INSTRUCTIONS = (
    "Your only job is to get the user's full postal address: street and number, unit if "
    "any, city or locality, and country. Ask for what is missing, then call update_address. "
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
        extra_instructions: str = "",
        require_confirmation: bool | None = None,
        **kwargs: Any,
    ) -> None:
        text = f"{_INSTRUCTIONS}\n{extra_instructions}".strip()
        super().__init__(instructions=text, **kwargs)
        self._require_confirmation = require_confirmation
        self._pending: str | None = None

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
        if not needs_confirmation(self._require_confirmation, ctx):
            self.complete(GetAddressResult(address=address))
            return None
        self._pending = address
        return (
            f"The address is {address}. Read it back and ask the user to confirm; when they "
            "do, call confirm_address."
        )

    @function_tool
    async def confirm_address(self) -> None:
        """The user confirmed the address that was read back to them."""
        if self._pending is None:
            raise ToolError("no address to confirm yet; call update_address first")
        self.complete(GetAddressResult(address=self._pending))

    @function_tool
    async def decline_address_capture(self, reason: str) -> None:
        """The user will not give an address.

        Args:
            reason: Why, in the user's words.
        """
        self.complete(ToolError(f"couldn't get the address: {reason}"))
