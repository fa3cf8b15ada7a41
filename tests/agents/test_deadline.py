"""Bounds on awaits: many deadlines share one timer, and each still expires on time."""

from __future__ import annotations

import asyncio

import pytest

from voxfsm.agents._deadline import Deadline, Expired


async def _sleep_within(seconds: float, limit: float | None) -> str:
    try:
        async with Deadline(limit):
            await asyncio.sleep(seconds)
        return "finished"
    except Expired:
        return "expired"


async def test_a_short_deadline_armed_after_a_long_one_expires_on_time() -> None:
    loop = asyncio.get_running_loop()
    start = loop.time()
    long_one = asyncio.create_task(_sleep_within(0.3, 5.0))
    await asyncio.sleep(0)
    short = await _sleep_within(5.0, 0.05)
    assert short == "expired" and loop.time() - start < 1.0
    assert await long_one == "finished"


async def test_disarmed_and_finished_deadlines_never_cancel_anything() -> None:
    for _ in range(100):
        assert await _sleep_within(0, 0.02) == "finished"
    async with Deadline(0.02) as deadline:
        deadline.disarm()
        await asyncio.sleep(0.05)  # would have expired without disarm()
    assert await _sleep_within(0.01, None) == "finished"


async def test_an_error_raised_inside_is_not_taken_for_expiry() -> None:
    with pytest.raises(TimeoutError):
        async with Deadline(5.0):
            raise TimeoutError("the tool's own timeout")


async def test_the_plain_with_form_bounds_the_same_way() -> None:
    with pytest.raises(Expired), Deadline(0.02):
        await asyncio.sleep(5)
    with Deadline(5.0):
        await asyncio.sleep(0)
