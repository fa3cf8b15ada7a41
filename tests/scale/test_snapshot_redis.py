"""The Redis snapshot store against a real redis-server on 127.0.0.1 (started by the fixture)."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest

from voxfsm.agents import AgentSession
from voxfsm.agents.snapshot_redis import RedisSnapshotStore, SnapshotConflict
from voxfsm.agents.snapshot_store import autosave
from voxfsm.examples import restaurant


@pytest.fixture
def store(redis_url: str) -> Any:
    # a fresh prefix per test: tests share one server
    with RedisSnapshotStore(redis_url, prefix=f"t-{uuid.uuid4().hex[:8]}:") as s:
        yield s


async def ordered_session() -> AgentSession[Any]:
    session = restaurant.make_session()
    await session.start(restaurant.entry())
    await session.run(user_input="Takeaway please.")
    await session.run(user_input="Two pizzas and a coffee please.")
    return session


async def test_a_call_saved_in_redis_resumes_where_it_was(store: RedisSnapshotStore) -> None:
    session = await ordered_session()
    store.save("call-1", session)
    await session.aclose()
    resumed = store.restore("call-1", llm=restaurant.make_session().llm, max_tool_steps=5)
    assert resumed is not None
    async with resumed:
        assert resumed.current_agent.id == "takeaway"
        assert resumed.userdata.order == {"pizza": 2, "coffee": 1}
        await resumed.run(user_input="That's everything, I'm ready to pay.")
        assert resumed.current_agent.id == "checkout"
    assert store.session_ids() == ["call-1"] and store.saves("call-1") == 1
    assert store.load("nobody") is None and store.restore("nobody") is None


async def test_versions_and_compare_and_set(store: RedisSnapshotStore) -> None:
    session = await ordered_session()
    data = session.snapshot()
    await session.aclose()
    assert store.version("c") == 0
    assert store.compare_and_set("c", data, expected_version=0, meta={"seq": 1}) == 1
    with pytest.raises(SnapshotConflict, match="'c' is at version 1, not 0") as err:
        store.compare_and_set("c", data, expected_version=0)
    assert (err.value.expected, err.value.actual) == (0, 1)
    assert store.compare_and_set("c", data, expected_version=1, meta={"seq": 2}) == 2
    found = store.load_versioned("c")
    assert found is not None and found.version == 2 and found.meta == {"seq": 2}
    store.save("c", data)  # a plain save still bumps the version
    assert store.version("c") == 3 and store.saves("c") == 3
    with pytest.raises(ValueError, match="expected_version must be 0"):
        store.compare_and_set("c", data, expected_version=-1)


def test_racing_writers_never_both_advance_one_version(store: RedisSnapshotStore) -> None:
    wins: dict[str, list[int]] = {"a": [], "b": []}
    conflicts = {"a": 0, "b": 0}
    start = threading.Barrier(2)

    def writer(name: str) -> None:
        with RedisSnapshotStore(store.url, prefix=store.prefix) as mine:
            start.wait(10)
            while len(wins["a"]) + len(wins["b"]) < 200:
                seen = mine.version("race")
                try:
                    wins[name].append(
                        mine.compare_and_set("race", {"by": name}, expected_version=seen)
                    )
                except SnapshotConflict:
                    conflicts[name] += 1

    threads = [threading.Thread(target=writer, args=(n,)) for n in "ab"]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    versions = wins["a"] + wins["b"]
    # every version was won by exactly one writer, none skipped: no lost or double advance
    assert sorted(versions) == list(range(1, len(versions) + 1))
    assert store.version("race") == len(versions) >= 200


async def test_autosave_works_with_the_redis_store(store: RedisSnapshotStore) -> None:
    session = await ordered_session()
    saver = autosave(session, store, "auto")  # type: ignore[arg-type]
    await session.run(user_input="That's everything, I'm ready to pay.")
    saver.stop()
    await session.aclose()
    data = store.load("auto")
    assert data is not None and store.saves("auto") == 2
    resumed = AgentSession.restore(data, llm=restaurant.make_session().llm)
    assert resumed.current_agent.id == "checkout"
    await resumed.aclose()


def test_delete_and_close(store: RedisSnapshotStore) -> None:
    store.save("gone", {"x": 1})
    assert store.delete("gone") and not store.delete("gone")
    assert store.session_ids() == []
    store.close()
    with pytest.raises(RuntimeError, match="is closed"):
        store.load("gone")


def test_an_unreachable_server_fails_within_the_timeout() -> None:
    import redis
    from _servers import free_port

    store = RedisSnapshotStore(f"redis://127.0.0.1:{free_port()}/0", timeout=1.0)
    with pytest.raises(redis.ConnectionError):
        store.load("x")
