"""Snapshots: nothing lost on a round trip, clear errors for everything that cannot resume."""

from __future__ import annotations

import asyncio
import copy
import enum
import importlib
import json
import shutil
import socket
import subprocess
import sys
import textwrap
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from voxfsm.agents import Agent, AgentSession, AgentTask, RunContext, function_tool
from voxfsm.agents.llm import LLMChunk, ScriptedLLM, call, reply
from voxfsm.fsm import SnapshotError

from ._support import REPO, describe, duplicate_ids, signature, turns, unpaired_calls

T = turns


async def driven(n_turns: int) -> AgentSession[Any]:
    session = T.new_session()
    await session.start(T.CustomerServiceAgent())
    for i in range(n_turns):
        await session.run(user_input=T.turn_input(i)[0])
    return session


def roundtrip(data: dict[str, Any]) -> Any:
    return json.loads(json.dumps(data))


# ----------------------------------------------------------------------------- round trip


@pytest.mark.parametrize("n_turns", [0, 1, 2, 3, 6, 9])
async def test_round_trip_restores_agent_state_userdata_history_and_contexts(n_turns: int) -> None:
    original = await driven(n_turns)
    data = roundtrip(original.snapshot())
    restored = AgentSession.restore(data, llm=T.make_llm())

    assert restored.current_agent.id == original.current_agent.id
    assert type(restored.current_agent) is type(original.current_agent)
    assert restored.machine.state == original.machine.state == original.current_agent.id
    assert type(restored.userdata) is T.Userdata
    assert restored.userdata == original.userdata
    assert restored.userdata is not original.userdata
    assert restored.history.to_dict() == original.history.to_dict()
    before, after = original.visited_agents, restored.visited_agents
    assert set(after) == set(before)
    for aid, agent in before.items():
        assert type(after[aid]) is type(agent)
        assert after[aid].instructions == agent.instructions
        assert after[aid].chat_ctx.to_dict() == agent.chat_ctx.to_dict(), aid
        assert sorted(t.name for t in after[aid].tools) == sorted(t.name for t in agent.tools)
    assert restored.current_agent.chat_ctx.to_dict() == original.current_agent.chat_ctx.to_dict()
    await original.aclose()
    await restored.aclose()


async def test_snapshot_is_stable_across_a_second_round_trip() -> None:
    original = await driven(5)
    first = roundtrip(original.snapshot())
    restored = AgentSession.restore(first, llm=T.make_llm())
    second = roundtrip(restored.snapshot())
    assert second == first


async def test_restore_does_not_rerun_on_enter(monkeypatch: pytest.MonkeyPatch) -> None:
    entered: list[str] = []
    real_on_enter = T._Desk.on_enter

    async def counting_on_enter(self: Agent) -> None:
        entered.append(self.id)
        await real_on_enter(self)  # type: ignore[arg-type]

    monkeypatch.setattr(T._Desk, "on_enter", counting_on_enter)
    original = await driven(2)  # start + handoff to billing
    assert entered == ["customer_service_agent", "billing_agent"]
    history_len = len(original.history.items)

    restored = AgentSession.restore(roundtrip(original.snapshot()), llm=T.make_llm())
    assert entered == ["customer_service_agent", "billing_agent"]
    assert len(restored.history.items) == history_len  # no greeting, no handoff record added

    # a later handoff still runs the new agent's on_enter exactly once
    await restored.run(user_input="BACK to the front desk")
    assert entered == ["customer_service_agent", "billing_agent", "customer_service_agent"]


async def test_restored_session_continues_where_the_original_would() -> None:
    original = await driven(5)
    restored = AgentSession.restore(roundtrip(original.snapshot()), llm=T.make_llm())
    for i in range(5, 13):
        text, kind = T.turn_input(i)
        a = await original.run(user_input=text)
        b = await restored.run(user_input=text)
        assert T.check(kind, b), (i, kind, [e.type for e in b.events])
        assert [describe(e.item) for e in b.events] == [describe(e.item) for e in a.events]
    assert restored.userdata == original.userdata
    assert signature(restored.history) == signature(original.history)
    assert duplicate_ids(restored.history) == []
    assert unpaired_calls(restored.history) == []


# hypothesis: random turn sequences, a random snapshot point, same continuation

UTTERANCES = st.one_of(
    st.sampled_from(["BILLING please", "TECH please", "BACK to the front desk", "hello"]),
    st.text(alphabet="abcxyz ", min_size=1, max_size=12).map(lambda s: f"NAME {s}"),
    st.text(alphabet="abcxyz ?", max_size=12).map(lambda s: f"Q: {s}"),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    inputs=st.lists(UTTERANCES, min_size=1, max_size=14),
    cut=st.integers(min_value=0, max_value=14),
)
def test_property_continuing_after_restore_matches_continuing_the_original(
    inputs: list[str], cut: int
) -> None:
    cut = min(cut, len(inputs))

    async def scenario() -> None:
        original = T.new_session()
        await original.start(T.CustomerServiceAgent())
        for text in inputs[:cut]:
            await original.run(user_input=text)
        restored = AgentSession.restore(roundtrip(original.snapshot()), llm=T.make_llm())
        assert restored.machine.state == original.machine.state
        for text in inputs[cut:]:
            a = await original.run(user_input=text)
            b = await restored.run(user_input=text)
            assert [(e.type, describe(e.item)) for e in b.events] == [
                (e.type, describe(e.item)) for e in a.events
            ]
            assert restored.current_agent.id == original.current_agent.id
            assert restored.machine.state == original.machine.state
        assert restored.userdata == original.userdata
        assert signature(restored.history) == signature(original.history)
        assert signature(restored.current_agent.chat_ctx) == signature(
            original.current_agent.chat_ctx
        )
        assert duplicate_ids(restored.history) == []
        await original.aclose()
        await restored.aclose()

    asyncio.run(scenario())


# a real crash/resume: save and restore in two different processes

_CHILD = textwrap.dedent(
    """
    import asyncio, json, sys
    sys.path.insert(0, "bench")
    import turns as T
    from voxfsm.agents import AgentSession

    async def main(mode, path):
        if mode == "save":
            s = T.new_session()
            await s.start(T.CustomerServiceAgent())
            for i in range(6):
                await s.run(user_input=T.turn_input(i)[0])
            with open(path, "w") as f:
                json.dump(s.snapshot(), f)
            return
        with open(path) as f:
            r = AgentSession.restore(json.load(f), llm=T.make_llm())
        for i in range(6, 10):
            await r.run(user_input=T.turn_input(i)[0])
        ctxs = {aid: [it.id for it in a.chat_ctx.items] for aid, a in r.visited_agents.items()}
        print(json.dumps({"history": [it.id for it in r.history.items], "contexts": ctxs}))

    asyncio.run(main(sys.argv[1], sys.argv[2]))
    """
)


def test_restore_in_a_fresh_process_keeps_item_ids_unique(tmp_path: Path) -> None:
    path = str(tmp_path / "snap.json")
    for mode in ("save", "load"):
        proc = subprocess.run(
            [sys.executable, "-c", _CHILD, mode, path],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    ids: list[str] = out["history"]
    dups = sorted({i for i in ids if ids.count(i) > 1})
    assert dups == [], f"restored + new items share ids: {dups}"
    for aid, ctx_ids in out["contexts"].items():
        assert len(set(ctx_ids)) == len(ctx_ids), aid


# ----------------------------------------------------------------------------- workflow drift

_WORKFLOW_V1 = '''
from voxfsm.agents import Agent, function_tool

class DeskAgent(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="desk")

    @function_tool
    async def lookup(self, order: str) -> str:
        """Look up an order."""
        return order

    @function_tool
    async def refund(self, order: str) -> str:
        """Refund an order."""
        return order
'''

_WORKFLOW_V2 = _WORKFLOW_V1.replace("async def refund", "async def cancel").replace(
    "Refund an order", "Cancel an order"
)


@pytest.fixture
def workflow_module(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    name = f"wf_{uuid.uuid4().hex[:10]}"
    path = tmp_path / f"{name}.py"
    path.write_text(_WORKFLOW_V1)
    sys.path.insert(0, str(tmp_path))
    try:
        yield name, path
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop(name, None)


async def _snapshot_of(module_name: str) -> dict[str, Any]:
    mod = importlib.import_module(module_name)
    session: AgentSession[Any] = AgentSession(llm=ScriptedLLM({}))
    await session.start(mod.DeskAgent())
    await session.run(user_input="hi")
    return roundtrip(session.snapshot())


def _reload(name: str, path: Path, source: str) -> None:
    """Replace the module as a new deployment would (no stale bytecode, no leftover names)."""
    path.write_text(source)
    shutil.rmtree(path.parent / "__pycache__", ignore_errors=True)
    sys.modules.pop(name, None)
    importlib.invalidate_caches()
    importlib.import_module(name)


async def test_unchanged_workflow_restores(workflow_module: tuple[str, Path]) -> None:
    name, path = workflow_module
    data = await _snapshot_of(name)
    _reload(name, path, _WORKFLOW_V1)  # same source, new class objects
    restored = AgentSession.restore(data, llm=ScriptedLLM({}))
    assert restored.current_agent.id == "desk_agent"


async def test_an_agent_that_lost_and_gained_a_tool_is_refused(
    workflow_module: tuple[str, Path],
) -> None:
    name, path = workflow_module
    data = await _snapshot_of(name)
    _reload(name, path, _WORKFLOW_V2)
    with pytest.raises(SnapshotError) as info:
        AgentSession.restore(data, llm=ScriptedLLM({}))
    msg = str(info.value)
    assert "desk_agent" in msg
    assert "refund" in msg  # lost
    assert "cancel" in msg  # gained


async def test_an_agent_that_only_gained_a_tool_is_refused(
    workflow_module: tuple[str, Path],
) -> None:
    name, path = workflow_module
    data = await _snapshot_of(name)
    gained = _WORKFLOW_V1 + textwrap.indent(
        textwrap.dedent(
            '''
            @function_tool
            async def escalate(self) -> str:
                """Escalate."""
                return "up"
            '''
        ),
        "    ",
    )
    _reload(name, path, gained)
    with pytest.raises(SnapshotError, match=r"desk_agent.*escalate"):
        AgentSession.restore(data, llm=ScriptedLLM({}))


async def test_a_removed_agent_class_is_refused(workflow_module: tuple[str, Path]) -> None:
    name, path = workflow_module
    data = await _snapshot_of(name)
    _reload(name, path, "X = 1\n")
    with pytest.raises(SnapshotError, match="DeskAgent"):
        AgentSession.restore(data, llm=ScriptedLLM({}))


# ----------------------------------------------------------------------------- malformed data


def _mutations() -> list[tuple[str, Callable[[dict[str, Any]], Any]]]:
    def drop(key: str) -> Callable[[dict[str, Any]], Any]:
        def f(d: dict[str, Any]) -> Any:
            del d[key]
            return d

        return f

    def put(key: str, value: Any) -> Callable[[dict[str, Any]], Any]:
        def f(d: dict[str, Any]) -> Any:
            d[key] = value
            return d

        return f

    def edit(fn: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], Any]:
        def f(d: dict[str, Any]) -> Any:
            fn(d)
            return d

        return f

    cases: list[tuple[str, Callable[[dict[str, Any]], Any]]] = [
        ("not-a-dict-list", lambda d: [d]),
        ("garbage-string", lambda d: "garbage"),
        ("none", lambda d: None),
        ("json-text-not-parsed", lambda d: json.dumps(d)),
        ("wrong-format", put("format", "other.snapshot")),
        ("wrong-version", put("version", 99)),
        ("version-as-string", put("version", "1")),
    ]
    for key in ("format", "version", "fingerprint", "active", "history", "agents", "steps"):
        cases.append((f"missing-{key}", drop(key)))
    cases += [
        ("active-unknown-agent", put("active", "nobody_agent")),
        ("active-none", put("active", None)),
        ("agents-none", put("agents", None)),
        ("agents-list", put("agents", [])),
        ("history-none", put("history", None)),
        ("history-list", put("history", [])),
        ("steps-none", put("steps", None)),
        ("fingerprint-none", put("fingerprint", None)),
        ("entry-not-a-string", put("entry", 5)),
        ("userdata-not-a-dict", put("userdata", 5)),
        (
            "agent-without-chat-ctx",
            edit(lambda d: d["agents"]["billing_agent"].pop("chat_ctx")),
        ),
        (
            "agent-without-instructions",
            edit(lambda d: d["agents"]["billing_agent"].pop("instructions")),
        ),
        ("agent-class-missing", edit(lambda d: d["agents"]["billing_agent"].pop("class"))),
        (
            "agent-class-unimportable",
            edit(lambda d: d["agents"]["billing_agent"].update({"class": "no_such_mod:X"})),
        ),
        (
            "agent-class-not-an-agent",
            edit(lambda d: d["agents"]["billing_agent"].update({"class": "json:dumps"})),
        ),
        ("history-item-not-a-dict", edit(lambda d: d["history"]["items"].append(5))),
        ("history-item-unknown-type", edit(lambda d: d["history"]["items"][0].update(type="x"))),
        ("history-item-missing-role", edit(lambda d: d["history"]["items"][1].pop("role"))),
        ("userdata-missing-value", edit(lambda d: d["userdata"].pop("value"))),
        (
            "userdata-wrong-field-types",
            edit(lambda d: d["userdata"].update(value={"names_recorded": "many"})),
        ),
        ("userdata-unknown-type", edit(lambda d: d["userdata"].update(type="no_such_mod:U"))),
        ("step-empty", edit(lambda d: d["steps"].__setitem__(0, {}))),
        ("fingerprint-tools-not-a-list", edit(lambda d: d["fingerprint"].update(billing_agent=5))),
    ]
    return cases


MUTATIONS = _mutations()


@pytest.fixture(scope="module")
def good_snapshot() -> dict[str, Any]:
    async def take() -> dict[str, Any]:
        session = await driven(6)  # three agents visited, names recorded, steps taken
        return roundtrip(session.snapshot())

    return asyncio.run(take())


def test_the_unmutated_snapshot_restores(good_snapshot: dict[str, Any]) -> None:
    restored = AgentSession.restore(copy.deepcopy(good_snapshot), llm=T.make_llm())
    assert restored.current_agent.id == good_snapshot["active"]


@pytest.mark.parametrize("mutate", [f for _, f in MUTATIONS], ids=[n for n, _ in MUTATIONS])
def test_malformed_snapshot_raises_a_clear_error(
    good_snapshot: dict[str, Any], mutate: Callable[[dict[str, Any]], Any]
) -> None:
    bad = mutate(copy.deepcopy(good_snapshot))
    try:
        AgentSession.restore(bad, llm=T.make_llm())
    except SnapshotError:
        return
    except Exception as exc:  # anything else is an obscure failure for the user
        pytest.fail(f"expected SnapshotError, got {type(exc).__name__}: {exc}")
    pytest.fail("a malformed snapshot was restored without any error")


# ----------------------------------------------------------------------------- taking snapshots


@dataclass
class SocketData:
    conn: Any = None


@dataclass
class CallbackData:
    on_done: Callable[[], int] = field(default=lambda: 1)


def _userdata_cases() -> list[tuple[str, Callable[[], Any]]]:
    return [
        ("dataclass-holding-socket", lambda: SocketData(socket.socket())),
        ("dataclass-holding-lambda", CallbackData),
        ("dict-holding-socket", lambda: {"conn": socket.socket()}),
        ("dict-holding-lambda", lambda: {"cb": lambda: 1}),
        ("bare-object", object),
    ]


class PlainAgent(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="plain")


@pytest.mark.parametrize(
    "make", [f for _, f in _userdata_cases()], ids=[n for n, _ in _userdata_cases()]
)
async def test_non_json_safe_userdata_fails_clearly_at_snapshot_time(
    make: Callable[[], Any],
) -> None:
    userdata = make()
    session: AgentSession[Any] = AgentSession(llm=ScriptedLLM({}), userdata=userdata)
    await session.start(PlainAgent())
    try:
        with pytest.raises(SnapshotError, match="JSON"):
            session.snapshot()
        # the session is unharmed by the failed snapshot
        result = await session.run(user_input="still there?")
        assert result.events == [] or all(e.type == "message" for e in result.events)
        assert session.history.items[-1].text_content == "still there?"  # type: ignore[union-attr]
    finally:
        await session.aclose()
        conn = getattr(userdata, "conn", None) or (
            userdata.get("conn") if isinstance(userdata, dict) else None
        )
        if isinstance(conn, socket.socket):
            conn.close()


async def test_snapshot_before_start_is_refused() -> None:
    session = T.new_session()
    with pytest.raises(SnapshotError, match="not started"):
        session.snapshot()


class GatedLLM:
    """Streams one chunk, then waits for the test to open the gate."""

    def __init__(self) -> None:
        self.streaming = asyncio.Event()
        self.gate = asyncio.Event()

    async def chat(
        self, *, chat_ctx: Any, tools: Sequence[Any], tool_choice: Any = "auto"
    ) -> AsyncIterator[LLMChunk]:
        yield LLMChunk("first half, ")
        self.streaming.set()
        await self.gate.wait()
        yield LLMChunk("second half.")


async def test_snapshot_while_a_turn_is_running_is_refused() -> None:
    llm = GatedLLM()
    session: AgentSession[Any] = AgentSession(llm=llm)
    await session.start(PlainAgent())
    handle = session.run(user_input="tell me")
    await asyncio.wait_for(llm.streaming.wait(), 5)
    with pytest.raises(SnapshotError, match="quiet"):
        session.snapshot()
    llm.gate.set()
    result = await handle
    assert [describe(e.item) for e in result.events] == [
        ("message", "assistant", "first half, second half.", False)
    ]
    data = roundtrip(session.snapshot())  # quiet again
    assert data["history"]["items"][-1]["content"] == ["first half, second half."]


class SnapshotInToolAgent(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="snap")

    @function_tool
    async def save_now(self, context: RunContext[Any]) -> str:
        """Save the conversation."""
        context.session.snapshot()
        return "saved"


async def test_snapshot_from_inside_a_tool_is_refused_and_becomes_an_error_output() -> None:
    session: AgentSession[Any] = AgentSession(llm=ScriptedLLM({"save": call("save_now")}))
    await session.start(SnapshotInToolAgent())
    result = await session.run(user_input="save")
    outputs = [e.item for e in result.events if e.type == "function_call_output"]
    assert len(outputs) == 1 and outputs[0].is_error
    assert unpaired_calls(session.history) == []
    session.snapshot()  # fine once the turn is over


async def test_snapshot_with_a_queued_turn_is_refused() -> None:
    session = await driven(0)
    handle = session.run(user_input="Q: queued question")
    try:
        with pytest.raises(SnapshotError):
            session.snapshot()
    finally:
        await handle


async def test_snapshot_during_an_update_agent_swap_is_refused() -> None:
    session = await driven(0)
    session.update_agent(T.BillingAgent())
    try:
        with pytest.raises(SnapshotError):
            session.snapshot()
    finally:
        await session.aclose()  # queued behind the swap: waits for it
    assert [describe(it) for it in session.history.items if it.type == "agent_handoff"][-1] == (
        "agent_handoff",
        "customer_service_agent",
        "billing_agent",
    )


class AskEmail(AgentTask[str]):
    def __init__(self) -> None:
        super().__init__(instructions="collect the email")

    @function_tool
    async def email_given(self, email: str) -> None:
        """The caller gave their email."""
        self.complete(email)


class Front(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="front desk")

    @function_tool(handoff=AskEmail)  # declared, so a snapshot restore can resolve the task
    async def get_email(self) -> str:
        """Collect the caller's email."""
        email = await AskEmail()
        return f"email is {email}"


async def test_snapshot_while_an_agent_task_is_awaited_is_refused() -> None:
    llm = ScriptedLLM(
        {
            "email please": call("get_email"),
            "bob@example.org": call("email_given", email="bob@example.org"),
        },
        default=reply("ok"),
    )
    session: AgentSession[Any] = AgentSession(llm=llm)
    await session.start(Front())
    await session.run(user_input="email please")  # returns once the task is active
    assert session.current_agent.id == "ask_email"
    with pytest.raises(SnapshotError, match="AgentTask"):
        session.snapshot()
    result = await session.run(user_input="bob@example.org")  # the task completes
    outputs = [e.item.output for e in result.events if e.type == "function_call_output"]
    assert "email is bob@example.org" in outputs
    data = roundtrip(session.snapshot())  # quiet again, back at the caller
    assert data["active"] == "front"
    restored = AgentSession.restore(data, llm=llm)
    assert unpaired_calls(restored.history) == []
    assert signature(restored.history) == signature(session.history)


async def test_snapshot_from_an_item_added_listener_is_refused_not_corrupting() -> None:
    session = await driven(0)
    errors: list[BaseException] = []

    def on_item(_: Any) -> None:
        try:
            session.snapshot()
        except SnapshotError as exc:
            errors.append(exc)

    session.on("conversation_item_added", on_item)
    result = await session.run(user_input=T.turn_input(0)[0])
    assert T.check("question", result)
    assert len(errors) >= 2  # user message and reply, both mid-turn: refused each time
    session.off("conversation_item_added", on_item)
    roundtrip(session.snapshot())


class Tier(enum.Enum):
    GOLD = "gold"
    SILVER = "silver"


@dataclass
class LineItem:
    sku: str
    qty: int = 1


@attrs.define
class Cart:
    items: list[LineItem] = attrs.Factory(list)
    tier: Tier = Tier.SILVER
    tags: tuple[str, ...] = ()
    meta: dict[str, float] = attrs.Factory(dict)
    note: str | None = None


@pytest.mark.parametrize(
    "userdata",
    [
        Cart([LineItem("a", 2), LineItem("b")], Tier.GOLD, ("x", "y"), {"p": 1.5}, "n"),
        Cart(),
        {"name": "Ann", "orders": [1, 2]},
        ["a", 1, None],
        0,
        "",
        None,
    ],
    ids=["attrs-nested", "attrs-defaults", "dict", "list", "zero", "empty-str", "none"],
)
async def test_userdata_round_trips_with_value_and_type(userdata: Any) -> None:
    session: AgentSession[Any] = AgentSession(llm=ScriptedLLM({}), userdata=userdata)
    await session.start(PlainAgent())
    # Cart is no RunContext[T] of the workflow's tools: the caller names it (builtins need not)
    restored = AgentSession.restore(
        roundtrip(session.snapshot()), llm=ScriptedLLM({}), userdata_types=[Cart]
    )
    assert type(restored.userdata) is type(userdata)
    assert restored.userdata == userdata


async def test_unset_userdata_stays_unset() -> None:
    session: AgentSession[Any] = AgentSession(llm=ScriptedLLM({}))
    await session.start(PlainAgent())
    restored = AgentSession.restore(roundtrip(session.snapshot()), llm=ScriptedLLM({}))
    with pytest.raises(ValueError, match="userdata"):
        restored.userdata  # noqa: B018


async def test_a_snapshot_that_cannot_be_restored_is_refused_when_taken() -> None:
    @dataclass
    class LocalData:  # defined in a function: not importable, so never restorable
        x: int = 1

    session: AgentSession[Any] = AgentSession(llm=ScriptedLLM({}), userdata=LocalData())
    await session.start(PlainAgent())
    with pytest.raises(SnapshotError, match="LocalData"):
        session.snapshot()


async def test_a_local_agent_class_is_refused_when_the_snapshot_is_taken() -> None:
    class LocalAgent(Agent):
        def __init__(self) -> None:
            super().__init__(instructions="local")

    session: AgentSession[Any] = AgentSession(llm=ScriptedLLM({}))
    await session.start(LocalAgent())
    with pytest.raises(SnapshotError, match="LocalAgent"):
        session.snapshot()


# ----------------------------------------------------------------------------- independence


async def test_two_restores_of_one_snapshot_share_nothing() -> None:
    original = await driven(6)
    data = roundtrip(original.snapshot())
    frozen = copy.deepcopy(data)
    a = AgentSession.restore(data, llm=T.make_llm())
    b = AgentSession.restore(data, llm=T.make_llm())
    assert data == frozen  # restore() does not modify its input
    await a.run(user_input="NAME Someone Else")
    assert a.userdata.name == "Someone Else"
    assert b.userdata.name == original.userdata.name
    assert len(b.history.items) == len(original.history.items)
    assert len(a.history.items) > len(b.history.items)
    assert a.current_agent is not b.current_agent
    data["history"]["items"].clear()  # the caller reusing its dict cannot reach the sessions
    assert len(b.history.items) == len(original.history.items)


async def test_closing_a_restored_session_runs_on_exit_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    exits: list[str] = []

    async def on_exit(self: Agent) -> None:
        exits.append(self.id)

    monkeypatch.setattr(T._Desk, "on_exit", on_exit, raising=False)
    original = await driven(2)
    restored = AgentSession.restore(roundtrip(original.snapshot()), llm=T.make_llm())
    exits.clear()
    await restored.aclose()
    assert exits == ["billing_agent"]


@pytest.mark.parametrize(("max_history", "max_context"), [(30, None), (None, 12), (25, 10)])
async def test_restore_with_retention_limits_continues_like_the_original(
    max_history: int | None, max_context: int | None
) -> None:
    limits: dict[str, Any] = {
        "max_history_items": max_history,
        "max_context_items": max_context,
    }
    original: AgentSession[Any] = AgentSession(llm=T.make_llm(), userdata=T.Userdata(), **limits)
    await original.start(T.CustomerServiceAgent())
    for i in range(21):
        await original.run(user_input=T.turn_input(i)[0])
    restored = AgentSession.restore(roundtrip(original.snapshot()), llm=T.make_llm(), **limits)
    for i in range(21, 33):
        text, kind = T.turn_input(i)
        a = await original.run(user_input=text)
        b = await restored.run(user_input=text)
        assert T.check(kind, b), (i, [e.type for e in b.events])
        assert [describe(e.item) for e in b.events] == [describe(e.item) for e in a.events]
    assert signature(restored.history) == signature(original.history)
    if max_history is not None:
        assert len(restored.history.items) <= max_history + 1
    assert unpaired_calls(restored.current_agent.chat_ctx) == []


async def test_userdata_given_to_restore_wins_over_the_saved_one() -> None:
    original = await driven(3)
    mine = T.Userdata(name="override")
    restored = AgentSession.restore(roundtrip(original.snapshot()), llm=T.make_llm(), userdata=mine)
    assert restored.userdata is mine
    await restored.run(user_input="NAME Zed")
    assert mine.name == "Zed" and mine.names_recorded == 1


# ----------------------------------------------------------------------------- sharing


async def test_agent_contexts_refer_to_history_items_instead_of_copying_them() -> None:
    session = await driven(6)
    data = roundtrip(session.snapshot())
    active = data["agents"][data["active"]]["chat_ctx"]["items"]
    refs = [it["ref"] for it in active if set(it) == {"ref"}]
    history_ids = {it["id"] for it in data["history"]["items"]}
    assert refs and set(refs) <= history_ids
    assert active[0]["id"] == "voxfsm.instructions"  # not in history: stored whole

    restored = AgentSession.restore(data, llm=T.make_llm())
    by_id = {it.id: it for it in restored.history.items}
    for item in restored.current_agent.chat_ctx.items[1:]:
        assert item is by_id[item.id]  # shared, as in the live session


async def test_a_reference_to_a_missing_history_item_is_a_clear_error() -> None:
    data = roundtrip((await driven(6)).snapshot())
    data["agents"][data["active"]]["chat_ctx"]["items"].append({"ref": "item_gone"})
    with pytest.raises(SnapshotError, match="item_gone"):
        AgentSession.restore(data, llm=T.make_llm())
