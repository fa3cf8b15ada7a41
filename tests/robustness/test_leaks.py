"""Nothing leaks: a closed session leaves no tasks behind and can be garbage-collected."""

from __future__ import annotations

import asyncio
import gc
import weakref
from typing import Any

from voxfsm.agents import Agent, AgentSession

from ._support import turns

T = turns


def _other_tasks() -> set[asyncio.Task[Any]]:
    return {t for t in asyncio.all_tasks() if t is not asyncio.current_task() and not t.done()}


async def _lifecycle(n_turns: int) -> tuple[weakref.ref[Any], list[weakref.ref[Agent]]]:
    session = T.new_session()
    await session.start(T.CustomerServiceAgent())
    agents: list[weakref.ref[Agent]] = [weakref.ref(session.current_agent)]
    for i in range(n_turns):
        await session.run(user_input=T.turn_input(i)[0])
        agents.append(weakref.ref(session.current_agent))
    await session.aclose()
    return weakref.ref(session), agents


async def test_a_closed_session_leaves_no_running_tasks() -> None:
    before = _other_tasks()
    await _lifecycle(12)
    await asyncio.sleep(0)
    assert _other_tasks() - before == set()


async def test_a_closed_session_and_its_agents_are_garbage_collected() -> None:
    session_ref, agent_refs = await _lifecycle(12)
    await asyncio.sleep(0)
    gc.collect()
    assert session_ref() is None, gc.get_referrers(session_ref())
    alive = [r() for r in agent_refs if r() is not None]
    assert alive == [], alive


async def test_a_restored_and_closed_session_is_garbage_collected() -> None:
    original = T.new_session()
    await original.start(T.CustomerServiceAgent())
    for i in range(6):
        await original.run(user_input=T.turn_input(i)[0])
    data = original.snapshot()
    await original.aclose()

    async def restore_and_close() -> weakref.ref[Any]:
        restored = AgentSession.restore(data, llm=T.make_llm())
        await restored.run(user_input=T.turn_input(6)[0])
        await restored.aclose()
        return weakref.ref(restored)

    ref = await restore_and_close()
    await asyncio.sleep(0)
    gc.collect()
    assert ref() is None


async def test_many_sequential_sessions_do_not_accumulate_agents() -> None:
    for _ in range(3):
        await _lifecycle(4)
    gc.collect()
    baseline = sum(isinstance(o, Agent) for o in gc.get_objects())
    for _ in range(30):
        await _lifecycle(4)
    await asyncio.sleep(0)
    gc.collect()
    assert sum(isinstance(o, Agent) for o in gc.get_objects()) <= baseline
