"""A snapshot is data: restoring one never imports or runs what it names, and a damaged store
says which call and which file are broken instead of starting the call over."""

from __future__ import annotations

import json
import sqlite3
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

from voxfsm.agents import Agent, AgentSession, RunContext, function_tool
from voxfsm.agents.llm import ScriptedLLM, call, reply
from voxfsm.agents.snapshot import resolve
from voxfsm.agents.snapshot_store import SnapshotStore
from voxfsm.fsm import SnapshotError


@attrs.define
class Order:
    dishes: list[str] = attrs.Factory(list)


class Kitchen(Agent):
    """Takes the order."""

    terminal = True

    def __init__(self) -> None:
        super().__init__(instructions="kitchen")

    @function_tool
    async def add(self, ctx: RunContext[Order], dish: str) -> str:
        """Add a dish to the order."""
        ctx.userdata.dishes.append(dish)
        return "added"


class Host(Agent):
    """Greets and seats."""

    def __init__(self) -> None:
        super().__init__(instructions="host")

    @function_tool
    async def to_kitchen(self) -> Kitchen:
        """Send the guest's order to the kitchen."""
        return Kitchen()


def llm() -> ScriptedLLM:
    return ScriptedLLM(
        {"I'd like to order": call("to_kitchen"), "soup": call("add", dish="soup")},
        default=reply("ok"),
    )


async def snapshot() -> dict[str, Any]:
    session: AgentSession[Order] = AgentSession(llm=llm(), userdata=Order())
    await session.start(Host())
    await session.run(user_input="I'd like to order")
    await session.run(user_input="soup")
    data: dict[str, Any] = json.loads(json.dumps(session.snapshot()))
    return data


@pytest.fixture
def planted(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A module on sys.path whose import would leave a marker file: nothing may import it."""
    name = f"planted_{uuid.uuid4().hex[:8]}"
    marker = tmp_path / "imported.marker"
    (tmp_path / f"{name}.py").write_text(
        f"from pathlib import Path\nPath({str(marker)!r}).write_text('ran')\n"
        "from voxfsm.agents import Agent\n"
        "class Evil(Agent):\n"
        "    def __init__(self):\n"
        f"        Path({str(marker)!r}).write_text('constructed')\n"
        "        super().__init__(instructions='evil')\n"
        "class Loot:\n"
        "    pass\n"
    )
    sys.path.insert(0, str(tmp_path))
    try:
        yield name, marker
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop(name, None)


def assert_never_imported(name: str, marker: Path) -> None:
    assert not marker.exists(), marker.read_text()
    assert name not in sys.modules


async def test_a_snapshot_naming_a_planted_entry_is_refused_without_importing_it(
    planted: tuple[str, Path],
) -> None:
    name, marker = planted
    data = await snapshot()
    data["entry"] = f"{name}:Evil"
    for agent in data["agents"].values():
        agent["class"] = f"{name}:Evil"
    with pytest.raises(SnapshotError, match="never imports") as err:
        AgentSession.restore(data, llm=llm())
    assert f"{name}:Evil" in str(err.value)
    assert_never_imported(name, marker)


async def test_a_planted_agent_class_inside_a_known_workflow_is_refused(
    planted: tuple[str, Path],
) -> None:
    name, marker = planted
    data = await snapshot()
    data["agents"]["kitchen"]["class"] = f"{name}:Evil"
    with pytest.raises(SnapshotError, match="not an agent of the workflow") as err:
        AgentSession.restore(data, llm=llm(), workflow=Host)
    assert "'kitchen'" in str(err.value)
    assert_never_imported(name, marker)


async def test_a_planted_userdata_type_is_refused(planted: tuple[str, Path]) -> None:
    name, marker = planted
    data = await snapshot()
    data["userdata"]["type"] = f"{name}:Loot"
    with pytest.raises(SnapshotError, match=f"{name}:Loot.*userdata_types="):
        AgentSession.restore(data, llm=llm())
    assert_never_imported(name, marker)


async def test_an_agent_class_of_another_loaded_workflow_is_not_constructed() -> None:
    built: list[str] = []

    class Bystander(Agent):  # loaded and importable-looking, but not part of Host's workflow
        def __init__(self) -> None:
            built.append("bystander")
            super().__init__(instructions="no")

    data = await snapshot()
    data["agents"]["kitchen"]["class"] = f"{__name__}:{Bystander.__qualname__}"
    with pytest.raises(SnapshotError, match="kitchen"):
        AgentSession.restore(data, llm=llm())
    assert built == []


async def test_userdata_types_come_from_the_workflows_run_context_annotations() -> None:
    plan = resolve(await snapshot())  # no userdata_types=: Order is RunContext[Order]
    assert plan.userdata_type is Order and plan.entry is Host
    assert plan.classes == {"host": Host, "kitchen": Kitchen}
    restored = AgentSession.restore(await snapshot(), llm=llm())
    assert restored.userdata == Order(["soup"]) and restored.current_agent.id == "kitchen"


async def test_the_workflow_can_be_named_explicitly_and_must_match() -> None:
    data = await snapshot()
    assert AgentSession.restore(data, llm=llm(), workflow=Host).current_agent.id == "kitchen"
    with pytest.raises(SnapshotError, match=r"not .*Kitchen"):
        AgentSession.restore(data, llm=llm(), workflow=Kitchen)


# ----------------------------------------------------------------------------- damaged stores


@pytest.fixture
async def store_with_call(tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    db = tmp_path / "calls.db"
    data = await snapshot()
    with SnapshotStore(db) as store:
        store.save("call-1", data)
    return db, data


def write_row(db: Path, text: str | None) -> None:
    """Damage the stored row as a bad disk or a hand edit would."""
    conn = sqlite3.connect(db)
    with conn:
        if text is None:  # the schema says NOT NULL; a damaged or older file may not
            conn.execute("DROP TABLE snapshots")
            conn.execute(
                "CREATE TABLE snapshots (session_id TEXT PRIMARY KEY, data TEXT, "
                "saved_at REAL NOT NULL, saves INTEGER NOT NULL DEFAULT 1)"
            )
            conn.execute("INSERT INTO snapshots VALUES ('call-1', NULL, 0, 1)")
        else:
            conn.execute("UPDATE snapshots SET data = ? WHERE session_id = 'call-1'", (text,))
    conn.close()


@pytest.mark.parametrize(
    ("row", "words"),
    [
        ('{"format": "voxfsm.snap', "not JSON"),
        ("null", "holds null"),
        ("[1, 2]", "holds [1, 2]"),
        (None, "empty (NULL)"),
    ],
    ids=["truncated", "json-null", "not-an-object", "sql-null"],
)
async def test_a_damaged_row_names_the_call_and_the_file(
    store_with_call: tuple[Path, dict[str, Any]], row: str | None, words: str
) -> None:
    db, _ = store_with_call
    write_row(db, row)
    with SnapshotStore(db) as store:
        for attempt in (lambda: store.load("call-1"), lambda: store.restore("call-1", llm=llm())):
            with pytest.raises(SnapshotError) as err:
                attempt()
            message = str(err.value)
            assert "'call-1'" in message and str(db) in message and words in message
        assert store.load("call-2") is None  # truly absent: an unknown call, no error


async def test_a_damaged_file_names_the_file(
    store_with_call: tuple[Path, dict[str, Any]],
) -> None:
    db, _ = store_with_call
    db.write_bytes(b"this is not a database, it was overwritten" * 100)
    with pytest.raises(SnapshotError, match="cannot be read") as err:
        SnapshotStore(db)
    assert str(db) in str(err.value)


async def test_a_refused_snapshot_in_a_store_names_the_call_and_the_file(
    store_with_call: tuple[Path, dict[str, Any]],
) -> None:
    db, data = store_with_call
    data["agents"]["kitchen"]["class"] = "elsewhere:Thing"
    with SnapshotStore(db) as store:
        store.save("call-1", data)
        with pytest.raises(SnapshotError, match=r"'call-1'.*calls\.db.*not an agent"):
            store.restore("call-1", llm=llm())
