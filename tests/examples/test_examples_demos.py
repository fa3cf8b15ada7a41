"""Every reference workflow: its module contract, its graph, and its demo call end to end."""

from __future__ import annotations

import json
import re
from types import ModuleType

import pytest

import voxfsm.examples as examples
from voxfsm.agents import Agent, AgentSession, ChatMessage, FunctionCallOutput
from voxfsm.agents.llm import ScriptedLLM
from voxfsm.examples import (
    customer_service,
    drive_thru,
    front_desk,
    intake,
    medical_triage,
    restaurant,
)
from voxfsm.fsm.checks import check_graph
from voxfsm.fsm.graph import build_graph

# where each demo call ends
DEMO_ENDS: dict[str, type[Agent]] = {
    "customer_service": customer_service.TechSupport,
    "intake": intake.Service,
    "restaurant": restaurant.Greeter,
    "medical_triage": medical_triage.Billing,
    "front_desk": front_desk.FrontDesk,
    "drive_thru": drive_thru.DriveThru,
}

# the guards a demo deliberately walks into (everything else must succeed)
DEMO_ERRORS: dict[str, list[str]] = {"drive_thru": ["order_item", "order_item"]}

NAMES = list(examples.WORKFLOWS)


def test_registry_lists_every_workflow_module() -> None:
    assert sorted(NAMES) == sorted(DEMO_ENDS)
    assert examples.DEMO == "restaurant"
    assert examples.get("intake").load() is intake
    with pytest.raises(KeyError, match="known: customer_service"):
        examples.get("pizzeria")


@pytest.mark.parametrize("name", NAMES)
def test_module_contract(name: str) -> None:
    module = examples.get(name).load()
    assert isinstance(module.entry, type) and issubclass(module.entry, Agent)
    assert module.DEMO_TURNS and all(isinstance(t, str) for t in module.DEMO_TURNS)
    session = module.make_session()
    assert isinstance(session, AgentSession)
    assert isinstance(session.llm, ScriptedLLM)
    session.userdata  # noqa: B018 - raises when unset
    with pytest.raises(RuntimeError, match="not started"):
        session.current_agent  # noqa: B018
    # a new session (and new userdata) per call: calls never share state
    assert module.make_session().userdata is not session.userdata


@pytest.mark.parametrize("name", NAMES)
def test_static_graph_has_no_findings(name: str) -> None:
    module = examples.get(name).load()
    findings = check_graph(build_graph(module.entry))
    assert [str(f) for f in findings] == []


def _module_agents(module: ModuleType) -> list[type[Agent]]:
    # every agent class the module defines, shared base classes aside
    found = [
        obj
        for obj in vars(module).values()
        if isinstance(obj, type) and issubclass(obj, Agent) and obj.__module__ == module.__name__
    ]
    return [c for c in found if not any(o is not c and issubclass(o, c) for o in found)]


@pytest.mark.parametrize("name", NAMES)
def test_every_agent_of_a_workflow_is_reachable_from_its_entry(name: str) -> None:
    module = examples.get(name).load()
    graph = build_graph(module.entry, include=_module_agents(module))
    assert [str(f) for f in check_graph(graph)] == []
    assert set(graph.states.ids) == {cls.__fsm_state__().id for cls in _module_agents(module)}


async def _run_demo(module: ModuleType) -> AgentSession[object]:
    session: AgentSession[object] = module.make_session()
    await session.start(module.entry())
    for turn in module.DEMO_TURNS:
        await session.run(user_input=turn)
    return session


@pytest.mark.parametrize("name", NAMES)
async def test_demo_runs_end_to_end(name: str) -> None:
    module = examples.get(name).load()
    session = await _run_demo(module)
    try:
        assert type(session.current_agent) is DEMO_ENDS[name]
        steps = session.__fsm_trace__().steps
        assert all(step.declared for step in steps), steps
        assert build_graph(session).observed
        assert [str(f) for f in check_graph(build_graph(session))] == []
        items = session.history.items
        errors = [i.name for i in items if isinstance(i, FunctionCallOutput) and i.is_error]
        assert errors == DEMO_ERRORS.get(name, [])
        # the caller is answered every turn: the last item is the agent speaking
        last = items[-1]
        assert isinstance(last, ChatMessage) and last.role == "assistant"
        assert last.text_content and "say that again" not in last.text_content
        said = [i.text_content for i in items if isinstance(i, ChatMessage)]
        assert not any("say that again" in text for text in said), said
    finally:
        await session.aclose()


async def test_restaurant_demo_is_a_complete_call() -> None:
    session = await _run_demo(restaurant)
    data: restaurant.RestaurantData = session.userdata  # type: ignore[assignment]
    assert data.order == {"pizza": 2, "coffee": 1}
    assert data.checked_out and data.paid_with == "card ending 1111"
    assert data.card is None  # not kept once charged
    path = [(s.source, s.target_id) for s in session.__fsm_trace__().steps]
    assert path == [("greeter", "takeaway"), ("takeaway", "checkout"), ("checkout", "greeter")]
    assert "bye" in session.history.items[-1].text_content.lower()  # type: ignore[union-attr]
    await session.aclose()


async def test_demo_runs_a_second_time_from_fresh_sessions() -> None:
    # agents and userdata are per session: a second call starts from scratch
    for _ in range(2):
        session = await _run_demo(front_desk)
        data: front_desk.FrontDeskData = session.userdata  # type: ignore[assignment]
        assert [b.slot_id for b in data.bookings] == ["tue-1400"]
        await session.aclose()


def test_examples_import_no_audio_modules() -> None:
    import subprocess
    import sys

    code = (
        "import sys, voxfsm.examples as e\n"
        "for w in e.WORKFLOWS.values(): w.load()\n"
        "bad = [m for m in sys.modules if m.startswith(('voxfsm.io', 'sounddevice', 'vosk',"
        " 'pyttsx3', 'numpy'))]\n"
        "print(bad)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


@pytest.mark.parametrize("name", NAMES)
async def test_userdata_survives_a_snapshot_and_the_call_resumes(name: str) -> None:
    # userdata is plain attrs data, and every agent can be rebuilt from its class
    module = examples.get(name).load()
    session: AgentSession[object] = module.make_session()
    await session.start(module.entry())
    for turn in module.DEMO_TURNS[:-1]:
        await session.run(user_input=turn)
    data = json.loads(json.dumps(session.snapshot()))
    await session.aclose()
    resumed = AgentSession.restore(data, llm=module.make_session().llm)
    try:
        assert resumed.userdata == session.userdata
        assert type(resumed.current_agent) is DEMO_ENDS[name]
        result = await resumed.run(user_input=module.DEMO_TURNS[-1])
        result.expect.contains_message(role="assistant")
    finally:
        await resumed.aclose()


_ONES = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
_ONES += "fifteen sixteen seventeen eighteen nineteen"
_TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]


def _number_words(match: re.Match[str]) -> str:
    digits = match.group()
    ones = _ONES.split()
    if len(digits) > 2:  # long numbers are read digit by digit
        return " ".join(ones[int(d)] for d in digits)
    n = int(digits)
    if n < 20:
        return ones[n]
    return _TENS[n // 10] + ("" if n % 10 == 0 else " " + ones[n % 10])


def as_heard(text: str) -> str:
    """What an offline recognizer (vosk) writes: lower case, no punctuation, numbers in words."""
    text = re.sub(r"\d+", _number_words, text.lower())
    text = re.sub(r"[^\w\s']", " ", text)
    return " ".join(text.split())


def test_as_heard() -> None:
    assert as_heard("I'm 54.") == "i'm fifty four"
    assert as_heard("card 4111, expiry 12/28") == "card four one one one expiry twelve twenty eight"


@pytest.mark.parametrize("name", NAMES)
async def test_demo_scripts_tolerate_what_speech_recognition_hears(name: str) -> None:
    module = examples.get(name).load()
    typed = await _run_demo(module)
    session: AgentSession[object] = module.make_session()
    await session.start(module.entry())
    try:
        for turn in module.DEMO_TURNS:
            await session.run(user_input=as_heard(turn))
        assert type(session.current_agent) is DEMO_ENDS[name]
        assert session.userdata == typed.userdata
        said = [i.text_content for i in session.history.items if isinstance(i, ChatMessage)]
        assert not any("say that again" in text for text in said), said
    finally:
        await session.aclose()
        await typed.aclose()


@pytest.mark.parametrize("name", NAMES)
def test_generated_conversations_keep_the_handoff_invariants(name: str) -> None:
    # random tool calls (valid or not), failing tools and swaps through the real workflow
    from voxfsm.agents.testing import check_workflow

    module = examples.get(name).load()
    report = check_workflow(
        module.entry, session_factory=module.make_session, examples=25, steps=12, seed=7
    )
    report.raise_on_failure()
