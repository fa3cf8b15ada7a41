"""``cli.run_app`` runs a LiveKit-style entrypoint offline, in a text console."""

from __future__ import annotations

import io

import pytest

from voxfsm.agents import (
    Agent,
    AgentServer,
    AgentSession,
    JobContext,
    JobProcess,
    WorkerOptions,
    cli,
    get_job_context,
)
from voxfsm.agents.llm import ScriptedLLM, reply

SEEN: list[str] = []


class Host(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="You host.")

    async def on_enter(self) -> None:
        self.session.generate_reply(instructions="greet")


def prewarm(proc: JobProcess) -> None:
    proc.userdata["llm"] = ScriptedLLM({"greet": reply("Welcome!"), "hi": reply("Hello you.")})


async def entrypoint(ctx: JobContext) -> None:
    await ctx.connect()
    session = AgentSession(llm=ctx.proc.userdata["llm"], turn_detection="vad")

    async def on_shutdown() -> None:
        SEEN.append(f"shutdown {ctx.room.name} {get_job_context() is ctx}")

    ctx.add_shutdown_callback(on_shutdown)
    await session.start(agent=Host(), room=ctx.room)


def run_console(app: object, text: str) -> tuple[int, str]:
    out = io.StringIO()
    code = cli.run_app(app, argv=["console"], stdin=io.StringIO(text), stdout=out)  # type: ignore[arg-type]
    return code, out.getvalue()


def test_worker_options_entrypoint_talks_through_stdin_and_stdout() -> None:
    SEEN.clear()
    code, out = run_console(WorkerOptions(entrypoint_fnc=entrypoint, prewarm_fnc=prewarm), "hi\n")
    assert code == 0
    assert out.splitlines() == ["[host] Welcome!", "[you] hi", "[host] Hello you."]
    assert SEEN == ["shutdown console True"]


def test_agent_server_rtc_session_is_the_entrypoint() -> None:
    server = AgentServer()
    server.setup_fnc = prewarm
    server.rtc_session()(entrypoint)
    code, out = run_console(server, "")
    assert code == 0 and out.splitlines() == ["[host] Welcome!"]


def test_an_entrypoint_that_fails_is_one_line_on_stderr(
    capsys: pytest.CaptureFixture[str],
) -> None:
    async def broken(ctx: JobContext) -> None:
        raise ValueError("no menu")

    code, _ = run_console(WorkerOptions(entrypoint_fnc=broken), "")
    assert code == 1
    assert capsys.readouterr().err == "voxfsm: ValueError: no menu\n"


def test_download_files_has_nothing_to_do() -> None:
    assert cli.run_app(WorkerOptions(entrypoint_fnc=entrypoint), argv=["download-files"]) == 0


def test_get_job_context_outside_a_job_says_so() -> None:
    with pytest.raises(RuntimeError, match="run_app"):
        get_job_context()
