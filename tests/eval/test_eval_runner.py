"""One scenario, one session: what is recorded, and how failures are explained."""

from __future__ import annotations

import asyncio
from pathlib import Path

import attrs
import pytest

from voxfsm.io.eval import EvalOptions, Expect, JudgeSpec, Scenario, run_asyncio, run_scenario
from voxfsm.io.eval.report import EvalReport, percentile

RESTAURANT = "voxfsm.examples.restaurant"
PAY = (
    "Takeaway please.",
    "Two pizzas and a coffee please.",
    "I'm ready to pay.",
    "My card number is 4111 1111 1111 1111, expiry 12/28, security code 123.",
    "Yes, go ahead.",
)


def play(sc: Scenario, app: str = RESTAURANT, **options: object) -> object:
    return asyncio.run(run_scenario(app, sc, EvalOptions(**options)))  # type: ignore[arg-type]


def test_a_passing_scenario_records_path_steps_tools_transcript_and_latencies() -> None:
    sc = Scenario(
        "pays",
        lines=PAY,
        expect=Expect(
            agents=("checkout",),
            path=("greeter", "takeaway", "checkout", "greeter"),
            tools=("confirm_checkout",),
            userdata={"checked_out": True, "order.pizza": 2},
        ),
    )
    r = play(sc)
    assert r.passed and r.reasons == () and r.error is None
    assert r.steps == (
        ("greeter", "to_takeaway", "takeaway", "handoff"),
        ("takeaway", "to_checkout", "checkout", "handoff"),
        ("checkout", "confirm_checkout", "greeter", "handoff"),
    )
    assert r.tools.count("add_to_order") == 2 and r.turns == 5
    said = [e["text"] for e in r.transcript if e["kind"] == "user"]
    assert said == list(PAY)
    assert len(r.latencies["turn"]) == 5 and len(r.latencies["llm"]) >= 5


def test_each_unmet_expectation_is_a_reason() -> None:
    sc = Scenario(
        "wrong",
        lines=PAY[:2],
        expect=Expect(
            agents=("checkout",),
            path=("greeter", "checkout"),
            final_agent="greeter",
            tools=("confirm_checkout",),
            no_tools=("add_to_order",),
            userdata={"order.pizza": 3, "order.salad": 1, "nope": 1},
        ),
    )
    r = play(sc)
    assert not r.passed
    assert r.reasons == (
        "agent 'checkout' was never reached (path: greeter > takeaway)",
        "path was greeter > takeaway, expected greeter > checkout",
        "ended with agent 'takeaway', expected 'greeter'",
        "tool 'confirm_checkout' was never called",
        "tool 'add_to_order' was called but must not be",
        "userdata.order.pizza is 2, expected 3",
        "userdata.order.salad does not exist (no 'salad')",
        "userdata.nope does not exist (no 'nope')",
    )


def test_a_tool_that_only_failed_is_reported_with_its_error() -> None:
    sc = Scenario(
        "empty",
        lines=("Takeaway please.", "I'm ready to pay."),
        expect=Expect(tools=("to_checkout",)),
    )
    (reason,) = play(sc).reasons
    assert reason.startswith(
        "tool 'to_checkout' failed: 'Cannot go to checkout: the order is empty"
    )


def test_a_hanging_turn_fails_the_scenario_naming_the_limit(tmp_path: Path) -> None:
    app = tmp_path / "slow_app.py"
    app.write_text(
        "import asyncio\n"
        "from voxfsm.agents import Agent, AgentSession, function_tool\n"
        "from voxfsm.agents.llm import ScriptedLLM, call\n"
        "class Slow(Agent):\n"
        "    def __init__(self):\n        super().__init__(instructions='slow')\n"
        "    @function_tool\n    async def wait(self) -> str:\n"
        "        '''Wait.'''\n        await asyncio.sleep(30)\n        return 'done'\n"
        "entry = Slow\n"
        "def make_session():\n    return AgentSession(llm=ScriptedLLM({'go': call('wait')}))\n"
    )
    r = play(Scenario("hangs", lines=("go", "again")), app=str(app), turn_timeout=0.3)
    assert not r.passed and r.turns == 1
    assert r.reasons == (
        "the call broke off: TimeoutError: turn 1 took longer than 0.3 s (raise --turn-timeout)",
    )
    assert [e["text"] for e in r.transcript if e["kind"] == "user"] == ["go"]


JUDGED_APP = """
from voxfsm.agents.llm import ScriptedLLM, call, reply
from voxfsm.examples.restaurant import entry, make_session

def make_judge_llm():
    # approves replies that mention the menu, like a judge model would
    def verdict(ctx, tools):
        text = ctx.items[-1].text_content.split("REPLY:")[1]
        return call("check_intent", success="menu" in text, reason="checked for the menu")
    return ScriptedLLM(verdict)

def make_caller_llm():
    lines = iter(["Takeaway please.", "Two pizzas and a coffee please.", "DONE"])
    return ScriptedLLM(lambda ctx, tools: reply(next(lines)))
"""


def test_judges_and_an_llm_driven_caller_come_from_the_app_module(tmp_path: Path) -> None:
    app = tmp_path / "judged.py"
    app.write_text(JUDGED_APP)
    judged = Scenario(
        "judged",
        lines=("Takeaway please.", "Two pizzas and a coffee please."),
        expect=Expect(judge=(JudgeSpec("mentions the menu", 1), JudgeSpec("mentions the menu", 2))),
    )
    r = play(judged, app=str(app))
    assert r.reasons == ("judge, turn 2 ('mentions the menu'): checked for the menu",)
    goal = Scenario("goal", goal="order two pizzas", expect=Expect(userdata={"order.pizza": 2}))
    r = play(goal, app=str(app))
    assert r.passed and r.turns == 2, r.reasons


def test_a_judge_or_goal_without_an_llm_fails_with_the_fix() -> None:
    r = play(Scenario("j", lines=("Takeaway please.",), expect=Expect(judge=(JudgeSpec("x"),))))
    assert r.reasons == (
        "the scenario asks for a judge but there is no judge LLM: pass --judge-llm URL or "
        "define make_judge_llm() in the app module",
    )
    r = play(Scenario("g", goal="order"))
    assert "there is no caller LLM: pass --caller-llm URL" in r.reasons[0]


def test_concurrent_runs_give_the_same_results_in_input_order() -> None:
    scenarios = [
        Scenario(f"s{i}", lines=PAY[: 1 + i % 5], expect=Expect(agents=("takeaway",)))
        for i in range(8)
    ]
    seen: list[str] = []
    results = run_asyncio(
        RESTAURANT, scenarios, EvalOptions(), workers=4, on_result=lambda r: seen.append(r["name"])
    )
    assert [r["name"] for r in results] == [s.name for s in scenarios]
    assert sorted(seen) == sorted(s.name for s in scenarios)
    assert all(r["passed"] for r in results)
    assert [r["turns"] for r in results] == [1 + i % 5 for i in range(8)]


def test_the_report_aggregates_latency_paths_and_edge_coverage() -> None:
    scenarios = [Scenario("pays", lines=PAY), Scenario("browse", lines=PAY[:2])]
    results = run_asyncio(RESTAURANT, scenarios, EvalOptions())
    report = EvalReport(RESTAURANT, results, "asyncio", 1, 0.5).to_json()
    assert report["passed"] == 2 and report["failed"] == []
    assert report["paths"] == {
        f"{RESTAURANT}: greeter > takeaway > checkout > greeter": 1,
        f"{RESTAURANT}: greeter > takeaway": 1,
    }
    cov = report["coverage"][RESTAURANT]
    taken = {(e["source"], e["tool"], e["target"]): e["taken"] for e in cov["edges"]}
    assert taken[("greeter", "to_takeaway", "takeaway")] == 2
    assert taken[("checkout", "confirm_checkout", "greeter")] == 1
    assert taken[("greeter", "to_reservation", "reservation")] == 0
    assert cov["edges_covered"] == 3 and cov["edges_declared"] == 9
    assert report["latency"]["turn"]["count"] == 7
    assert report["latency"]["turn"]["p50_ms"] <= report["latency"]["turn"]["p95_ms"]


def test_percentile_is_nearest_rank() -> None:
    values = [5.0, 1.0, 3.0, 2.0, 4.0]
    assert percentile(values, 50) == 3.0 and percentile(values, 95) == 5.0
    assert percentile([7.0], 50) == 7.0


def test_the_app_given_to_a_scenario_wins_over_the_default() -> None:
    sc = attrs.evolve(Scenario("ds", lines=("Bye!",)), app="voxfsm.examples.drive_thru")
    assert play(sc).app == "voxfsm.examples.drive_thru"


@pytest.mark.parametrize("workers", [0, -1])
def test_worker_count_is_checked_by_the_command(workers: int) -> None:
    from voxfsm.io.cli import main

    assert main(["eval", RESTAURANT, "x.toml", "--workers", str(workers)]) == 2
