"""Tool arguments drawn from JSON schemas: valid ones validate, invalid ones are refused."""

from __future__ import annotations

import asyncio
import datetime
import enum
from typing import Annotated, Literal

import pytest
from hypothesis import find, given, settings

from voxfsm.agents import Agent, function_tool
from voxfsm.agents.testing import CallTool, replay
from voxfsm.agents.testing._schema import invalid_arguments, valid_arguments
from voxfsm.agents.tools import ArgumentError


class Size(enum.Enum):
    SMALL = "small"
    LARGE = "large"


class Kitchen(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="kitchen")

    @function_tool
    async def order(
        self,
        dish: str,
        count: Annotated[int, "how many"],
        size: Size,
        spicy: bool = False,
        extras: list[str] | None = None,
        when: datetime.date | None = None,
        style: Literal["hot", "cold"] = "hot",
        price: float = 1.5,
    ) -> str:
        """Order a dish."""
        return "ok"

    @function_tool
    async def wait_forever(self) -> str:
        """Never returns: awaits an event nobody sets."""
        await asyncio.Event().wait()
        return "never"


TOOL = Kitchen.order
SCHEMA = TOOL.info.parameters


@settings(max_examples=150)
@given(valid_arguments(SCHEMA))
def test_valid_arguments_pass_the_tools_own_validation(args: dict[str, object]) -> None:
    TOOL.validate(args)


@settings(max_examples=150)
@given(invalid_arguments(SCHEMA))
def test_invalid_arguments_are_refused(args: dict[str, object] | str) -> None:
    with pytest.raises(ArgumentError):
        TOOL.validate(args)


def _mistake(args: dict[str, object] | str) -> str:
    if isinstance(args, str):
        return "text"
    if "voxfsm_unexpected" in args:
        return "unknown"
    return "missing" if not {"dish", "count", "size"} <= set(args) else "type"


@pytest.mark.parametrize("kind", ["text", "unknown", "missing", "type"])
def test_invalid_arguments_cover_every_kind_of_mistake(kind: str) -> None:
    found = find(invalid_arguments(SCHEMA), lambda a: _mistake(a) == kind)
    assert _mistake(found) == kind


def test_a_step_that_never_finishes_is_reported_as_a_deadlock() -> None:
    # the session's tool_timeout timer is pending, so the step timeout may be what ends it
    with pytest.raises(AssertionError, match=r"\[deadlock\].*(nothing could run|timed out)"):
        replay(Kitchen, [CallTool("wait_forever", {})])
