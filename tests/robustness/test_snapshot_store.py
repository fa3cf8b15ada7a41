"""SnapshotStore / autosave: a conversation survives a crashed process."""

from __future__ import annotations

import asyncio
import gc
import json
import socket
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from voxfsm.agents import AgentSession
from voxfsm.agents.llm import LLMChunk
from voxfsm.agents.snapshot_store import SnapshotStore, autosave
from voxfsm.fsm import SnapshotError

from ._support import REPO, describe, signature, turns

T = turns


async def started(n_turns: int = 0) -> AgentSession[Any]:
    session = T.new_session()
    await session.start(T.CustomerServiceAgent())
    for i in range(n_turns):
        await session.run(user_input=T.turn_input(i)[0])
    return session


async def test_save_load_round_trip_and_unknown_ids(tmp_path: Path) -> None:
    session = await started(3)
    with SnapshotStore(tmp_path / "s.db") as store:
        assert store.load("nope") is None
        assert store.restore("nope", llm=T.make_llm()) is None
        store.save("call-1", session)
        assert store.load("call-1") == json.loads(json.dumps(session.snapshot()))
        assert store.session_ids() == ["call-1"]
        await session.run(user_input=T.turn_input(3)[0])
        store.save("call-1", session)  # overwrite, not a second row
        assert store.saves("call-1") == 2
        assert store.session_ids() == ["call-1"]
        data = store.load("call-1")
        assert data is not None
        assert len(data["history"]["items"]) == len(session.history.items)
        assert store.delete("call-1") is True
        assert store.delete("call-1") is False
        assert store.load("call-1") is None


async def test_snapshots_persist_across_store_instances(tmp_path: Path) -> None:
    session = await started(5)
    SnapshotStore(tmp_path / "s.db").save("a", session)  # never closed explicitly
    gc.collect()
    with SnapshotStore(tmp_path / "s.db") as again:
        restored = again.restore("a", llm=T.make_llm())
    assert restored is not None
    assert signature(restored.history) == signature(session.history)
    assert restored.userdata == session.userdata


async def test_a_failed_save_keeps_the_previous_snapshot(tmp_path: Path) -> None:
    session = await started(2)
    store = SnapshotStore(tmp_path / "s.db")
    store.save("a", session)
    before = store.load("a")
    sock = socket.socket()
    try:
        session.userdata.name = sock  # type: ignore[assignment]
        with pytest.raises(SnapshotError):
            store.save("a", session)
    finally:
        sock.close()
    assert store.load("a") == before
    assert store.saves("a") == 1


async def test_bad_session_ids_are_refused(tmp_path: Path) -> None:
    session = await started()
    store = SnapshotStore(tmp_path / "s.db")
    for bad in ("", None, 5):
        with pytest.raises(ValueError):
            store.save(bad, session)  # type: ignore[arg-type]


async def test_autosave_saves_the_start_and_every_awaited_run(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path / "s.db")
    session = await started()
    saver = autosave(session, store, "c")
    assert store.saves("c") == 1  # the starting point
    for i in range(4):
        result = await session.run(user_input=T.turn_input(i)[0])
        assert T.check(T.turn_input(i)[1], result)  # the RunResult is passed through
        data = store.load("c")
        assert data is not None
        assert len(data["history"]["items"]) == len(session.history.items)
        assert data["active"] == session.current_agent.id
    assert store.saves("c") == 5
    assert saver.saved == 5
    saver.stop()
    await session.run(user_input=T.turn_input(4)[0])
    assert store.saves("c") == 5


async def test_the_not_yet_awaited_run_result_still_works(tmp_path: Path) -> None:
    session = await started()
    autosave(session, SnapshotStore(tmp_path / "s.db"), "c")
    handle = session.run(user_input=T.turn_input(0)[0])
    result = await handle
    result.expect.next_event().is_message(role="assistant")
    assert handle.done()


async def test_autosave_with_concurrent_runs_saves_all_of_them(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path / "s.db")
    session = await started()
    autosave(session, store, "c")
    results = await asyncio.gather(*(session.run(user_input=T.turn_input(i)[0]) for i in range(4)))
    assert all(T.check(T.turn_input(i)[1], r) for i, r in enumerate(results))
    data = store.load("c")
    assert data is not None
    assert len(data["history"]["items"]) == len(session.history.items)
    users = [it for it in data["history"]["items"] if it.get("role") == "user"]
    assert [u["content"][0] for u in users] == [T.turn_input(i)[0] for i in range(4)]


class FlakyLLM:
    """The scenario's LLM until ``down`` is set; then every request fails (server gone)."""

    def __init__(self) -> None:
        self.inner = T.make_llm()
        self.down = False

    async def chat(self, **kwargs: Any) -> AsyncIterator[LLMChunk]:
        if self.down:
            raise ConnectionError("http://127.0.0.1:9/v1 refused the connection")
        async for chunk in self.inner.chat(**kwargs):
            yield chunk


async def test_a_failed_turn_is_still_saved_and_the_error_propagates(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path / "s.db")
    llm = FlakyLLM()
    session: AgentSession[Any] = AgentSession(llm=llm, userdata=T.Userdata())
    await session.start(T.CustomerServiceAgent())
    autosave(session, store, "c")
    await session.run(user_input=T.turn_input(0)[0])
    llm.down = True  # the server goes away
    with pytest.raises(Exception, match="refused"):
        await session.run(user_input="are you there?")
    data = store.load("c")
    assert data is not None
    texts = [it.get("content") for it in data["history"]["items"]]
    assert ["are you there?"] in texts  # the user's message was stored, and saved
    llm.down = False  # back: the session (and autosave) carry on
    await session.run(user_input=T.turn_input(1)[0])
    data = store.load("c")
    assert data is not None and data["active"] == "billing_agent"


async def test_dropping_the_session_object_resumes_from_the_file(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    reference = await started(6)
    session = await started()
    autosave(session, SnapshotStore(db), "c")
    for i in range(6):
        await session.run(user_input=T.turn_input(i)[0])
    del session  # "crash": nothing closed, nothing flushed by hand
    gc.collect()

    resumed = SnapshotStore(db).restore("c", llm=T.make_llm())
    assert resumed is not None
    assert signature(resumed.history) == signature(reference.history)
    assert resumed.current_agent.id == reference.current_agent.id
    for i in range(6, 10):
        text, kind = T.turn_input(i)
        a = await reference.run(user_input=text)
        b = await resumed.run(user_input=text)
        assert T.check(kind, b)
        assert [describe(e.item) for e in b.events] == [describe(e.item) for e in a.events]
    assert resumed.userdata == reference.userdata


_CRASHING_CHILD = textwrap.dedent(
    """
    import asyncio, os, sys
    sys.path.insert(0, "bench")
    import turns as T
    from voxfsm.agents.snapshot_store import SnapshotStore, autosave

    async def main(db):
        session = T.new_session()
        await session.start(T.CustomerServiceAgent())
        autosave(session, SnapshotStore(db), "call-7")
        for i in range(7):
            await session.run(user_input=T.turn_input(i)[0])
        session.run(user_input=T.turn_input(7)[0])  # a turn in flight when the process dies
        await asyncio.sleep(0)
        os._exit(137)

    asyncio.run(main(sys.argv[1]))
    """
)


async def test_a_killed_process_resumes_from_the_file_in_a_new_one(tmp_path: Path) -> None:
    db = tmp_path / "calls.db"
    proc = subprocess.run(
        [sys.executable, "-c", _CRASHING_CHILD, str(db)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 137, proc.stderr

    reference = await started(7)  # what the dead process had completed
    resumed = SnapshotStore(db).restore("call-7", llm=T.make_llm())
    assert resumed is not None
    assert signature(resumed.history) == signature(reference.history)
    assert resumed.userdata == reference.userdata
    assert resumed.machine.state == reference.machine.state
    # the turn that was in flight is retried, and the conversation goes on
    for i in range(7, 12):
        text, kind = T.turn_input(i)
        a = await reference.run(user_input=text)
        b = await resumed.run(user_input=text)
        assert T.check(kind, b)
        assert [describe(e.item) for e in b.events] == [describe(e.item) for e in a.events]
    assert signature(resumed.history) == signature(reference.history)


async def test_autosave_every_n_runs(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path / "s.db")
    session = await started()
    saver = autosave(session, store, "c", every=3)
    for i in range(7):
        await session.run(user_input=T.turn_input(i)[0])
    assert saver.runs == 7
    assert store.saves("c") == 1 + 2  # the start, then after runs 3 and 6
    data = store.load("c")
    assert data is not None
    users = [it for it in data["history"]["items"] if it.get("role") == "user"]
    assert len(users) == 6
    with pytest.raises(ValueError):
        autosave(session, store, "d", every=0)


async def test_autosave_every_n_with_concurrent_runs_still_saves_the_end(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path / "s.db")
    session = await started()
    saver = autosave(session, store, "c", every=2)
    # runs 1 and 2 finish while later ones are queued: the due save is deferred, not lost
    await asyncio.gather(*(session.run(user_input=T.turn_input(i)[0]) for i in range(3)))
    assert saver.runs == 3
    data = store.load("c")
    assert data is not None
    assert len(data["history"]["items"]) == len(session.history.items)
