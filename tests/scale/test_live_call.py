"""A live call kept in Redis: turns apply exactly once, whoever holds the call (no Ray here)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from voxfsm.agents import AgentSession, ChatMessage
from voxfsm.agents.snapshot_redis import RedisSnapshotStore
from voxfsm.io.serving import LiveCall, TurnError

APP = str(Path(__file__).with_name("slow_desk.py"))


@pytest.fixture
def store(redis_url: str) -> Any:
    with RedisSnapshotStore(redis_url, prefix=f"t-{uuid.uuid4().hex[:8]}:") as s:
        yield s


@pytest.fixture(autouse=True)
def fast_tool(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOXFSM_TEST_SLOW", "0")


def user_lines(store: RedisSnapshotStore, call_id: str) -> list[str]:
    data = store.load(call_id)
    assert data is not None
    session = AgentSession.restore(data)
    return [
        m.text_content
        for m in session.history.items
        if isinstance(m, ChatMessage) and m.role == "user"
    ]


async def test_turns_commit_with_their_number_and_reply(store: RedisSnapshotStore) -> None:
    call = LiveCall(APP, "c1", store)
    first = await call.turn(1, "hello")
    assert first["seq"] == 1 and first["said"] == ["Hello, how can I help?"]
    second = await call.turn(2, "billing please")
    assert second["agent"] == "billing" and second["said"] == [
        "Putting you through.",
        "Billing here.",
    ]
    found = store.load_versioned("c1")
    assert found is not None and found.version == 3  # the start, then two turns
    assert found.meta["seq"] == 2 and found.meta["reply"] == second
    await call.close()


async def test_a_new_holder_resumes_and_a_repeated_turn_is_not_applied_again(
    store: RedisSnapshotStore,
) -> None:
    call = LiveCall(APP, "c2", store)
    await call.turn(1, "hello")
    reply = await call.turn(2, "please look it up")
    await call.close()  # the worker is gone after committing turn 2, before answering
    again = LiveCall(APP, "c2", store)
    assert await again.turn(2, "please look it up") == reply  # the retry gets the stored answer
    assert user_lines(store, "c2") == ["hello", "please look it up"]
    third = await again.turn(3, "billing please")
    assert third["agent"] == "billing"
    assert user_lines(store, "c2") == ["hello", "please look it up", "billing please"]
    await again.close()


async def test_out_of_order_turns_are_refused(store: RedisSnapshotStore) -> None:
    call = LiveCall(APP, "c3", store)
    with pytest.raises(TurnError, match="is at turn 0; turn 2 cannot be applied"):
        await call.turn(2, "hello")
    await call.turn(1, "hello")
    with pytest.raises(TurnError, match="is at turn 1; turn 3"):
        await call.turn(3, "hi")
    await call.close()


async def test_two_holders_of_one_call_never_both_advance_it(store: RedisSnapshotStore) -> None:
    a = LiveCall(APP, "c4", store)
    b = LiveCall(APP, "c4", store)
    await a.open()
    await b.open()  # both hold version 1
    await a.turn(1, "hello")
    with pytest.raises(TurnError, match="advanced by another worker; turn 1 not applied"):
        await b.turn(1, "hello from b")
    assert user_lines(store, "c4") == ["hello"]
    # b reloads and continues from what a committed
    assert (await b.turn(2, "billing please"))["agent"] == "billing"
    assert user_lines(store, "c4") == ["hello", "billing please"]
    await a.close()
    await b.close()
