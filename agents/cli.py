"""``cli.run_app(...)``: run a LiveKit-style app offline, in a text console.

``run_app(WorkerOptions(entrypoint_fnc=entry))`` or ``run_app(server)`` runs the prewarm
function, then the entrypoint with a :class:`~voxfsm.agents.job.JobContext`; the session the
entrypoint starts is then driven from standard input, one line per user turn, and the
conversation is written to standard output.  The LiveKit subcommands (``console``, ``dev``,
``start``, ``connect``) all mean this; ``download-files`` has nothing to download.  End with
an empty input (Ctrl-D); the job's shutdown callbacks run, then the session closes.

Voice: a package may register a runner under the entry-point group ``voxfsm.job_runners``
(name ``voice``); ``--voice`` then hands the session to it (``runner(ctx, session)``).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import sys
from collections.abc import Sequence
from importlib.metadata import entry_points
from typing import IO, Any

from voxfsm.agents import job as _job
from voxfsm.agents.chat import AgentHandoff, ChatMessage
from voxfsm.agents.events import ConversationItemAddedEvent
from voxfsm.agents.job import AgentServer, JobContext, JobProcess, WorkerOptions

log = logging.getLogger("voxfsm.agents")

_COMMANDS = ("console", "dev", "start", "connect", "download-files")


def run_app(
    app: WorkerOptions | AgentServer,
    *,
    argv: Sequence[str] | None = None,
    stdin: IO[str] | None = None,
    stdout: IO[str] | None = None,
) -> int:
    """Run the app's entrypoint once and converse in the console; returns an exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    command = args[0] if args and not args[0].startswith("-") else "console"
    if command not in _COMMANDS:
        print(
            f"voxfsm: unknown command {command!r}; use one of {', '.join(_COMMANDS)}",
            file=sys.stderr,
        )
        return 2
    if command == "download-files":
        return 0  # offline models ship as packages; nothing to fetch
    opts = app.worker_options() if isinstance(app, AgentServer) else app
    try:
        asyncio.run(
            _run(
                opts, voice="--voice" in args, stdin=stdin or sys.stdin, stdout=stdout or sys.stdout
            )
        )
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        print(f"voxfsm: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0


async def _run(opts: WorkerOptions, *, voice: bool, stdin: IO[str], stdout: IO[str]) -> None:
    proc = JobProcess()
    if opts.prewarm_fnc is not None:
        done = opts.prewarm_fnc(proc)
        if inspect.isawaitable(done):
            await done
    ctx = JobContext(proc=proc)
    ctx._session_started = lambda session: _show(session, stdout)
    token = _job._current.set(ctx)
    try:
        await opts.entrypoint_fnc(ctx)
        if not ctx.sessions:
            raise RuntimeError("the entrypoint returned without starting an AgentSession")
        session = ctx.sessions[-1]
        if voice:
            await _voice_runner()(ctx, session)
        else:
            await _converse(ctx, session, stdin)
    finally:
        if opts.on_session_end is not None and ctx.sessions:
            try:
                await opts.on_session_end(ctx)
            except Exception:
                log.exception("on_session_end failed")
        await ctx._run_shutdown_callbacks()
        for session in ctx.sessions:
            await session.aclose()
        _job._current.reset(token)


def _show(session: Any, out: IO[str]) -> None:
    """Write each message of the conversation as it is added (the user's lines too)."""

    # the speaker is the agent of the last handoff in the history, not current_agent: the old
    # agent's goodbye after a handoff is decided is recorded before the AgentHandoff item
    speaker: list[str] = []

    def added(ev: ConversationItemAddedEvent) -> None:
        item = ev.item
        if isinstance(item, AgentHandoff):
            speaker[:] = [item.new_agent_id]
        if isinstance(item, ChatMessage) and item.role in ("assistant", "user"):
            who = "you" if item.role == "user" else (speaker or [session.current_agent.id])[0]
            out.write(f"[{who}] {item.text_content}\n")
            out.flush()

    session.on("conversation_item_added", added)


async def _converse(ctx: JobContext, session: Any, stdin: IO[str]) -> None:
    # the call ends when the job shuts down or the session closes (``session.shutdown()``,
    # an ``end_call`` tool): the lines still unread are never sent
    closed = asyncio.Event()
    session.on("close", lambda _ev: closed.set())
    while not (ctx._shutdown.is_set() or closed.is_set()):
        reader = asyncio.ensure_future(asyncio.to_thread(stdin.readline))
        stop = asyncio.ensure_future(ctx._shutdown.wait())
        ended = asyncio.ensure_future(closed.wait())
        await asyncio.wait({reader, stop, ended}, return_when=asyncio.FIRST_COMPLETED)
        stop.cancel()
        ended.cancel()
        if not reader.done() or closed.is_set() or ctx._shutdown.is_set():
            return  # the call ended while waiting for input; the reader thread ends with stdin
        line = reader.result()
        if not line:
            return
        if line.strip():
            await session.run(user_input=line.strip())


def _voice_runner() -> Any:
    found = [ep for ep in entry_points(group="voxfsm.job_runners") if ep.name == "voice"]
    if not found:
        raise RuntimeError(
            "no voice runner is installed (entry point voxfsm.job_runners:voice); install "
            "voxfsm[voice] or drop --voice to use the text console"
        )
    return found[0].load()
