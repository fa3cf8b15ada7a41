"""``voxfsm demo``: a simulated caller phones a reference workflow, offline, with no set-up.

By voice (the default): the caller's lines are synthesized with Piper, go through the real
voice loop (VAD, endpointing, Whisper tiny.en, the agents, their espeak voices), and the whole
call is written to ``OUT/call.wav``. ``--text`` types the same lines instead (this is also the
fallback, with a notice, when Whisper or Piper is not installed). Either way ``OUT`` gets the
graph with the path taken (``graph.svg`` when Graphviz's ``dot`` exists, and ``graph.mmd``)
and ``transcript.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.text import Text

from voxfsm.io.cli.app import App, load_app, start_session
from voxfsm.io.cli.console import end_silence_ms
from voxfsm.io.cli.errors import CLIError, UsageError, run_async
from voxfsm.io.cli.transcript import TranscriptPrinter
from voxfsm.io.cli.warm import prepare_llm

DEFAULT_APP = "voxfsm.examples.restaurant"

_SCRIPTED_NOTICE = (
    "LLM: a ScriptedLLM whose patterns tolerate recognition errors (pizza/pizzas, "
    "coffee/cofee, ...), not a language model"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "app", nargs="?", default=DEFAULT_APP, help=f"workflow (default {DEFAULT_APP})"
    )
    parser.add_argument(
        "--out", default="voxfsm-demo", help="folder for call.wav, the graph and the transcript"
    )
    parser.add_argument("--text", action="store_true", help="type the caller's lines (no audio)")
    parser.add_argument(
        "--fast", action="store_true", help="voice, but do not wait in real time between lines"
    )
    parser.add_argument(
        "--speaker", action="store_true", help="also play the call on the default output device"
    )
    brain = parser.add_mutually_exclusive_group()
    brain.add_argument(
        "--scripted",
        action="store_true",
        help="the workflow's scripted LLM (the default, see --local)",
    )
    brain.add_argument(
        "--local",
        action="store_true",
        help="the local model in process (LocalLLM) decides every step; it does not yet "
        "complete the restaurant call, so it is not the default",
    )
    parser.add_argument(
        "--call-timeout",
        type=float,
        default=900.0,
        metavar="S",
        help="seconds the whole call may take before it is stopped (default 900)",
    )
    parser.add_argument("--llm", metavar="URL", help="OpenAI-compatible server instead")
    parser.add_argument("--model", metavar="NAME", help="model name on that server")
    parser.add_argument(
        "--end-silence-ms",
        type=end_silence_ms,
        default=500,
        metavar="MS",
        help="silence that ends a caller turn (default 500: the caller pauses up to ~350 ms "
        "inside the card-number line; 400 sometimes cuts it in two)",
    )


def _session(app: App, args: argparse.Namespace, console: Console) -> Any:
    session = app.new_session()
    if args.llm:
        from voxfsm.agents.llm import OpenAILLM

        session.update_options(llm=OpenAILLM(base_url=args.llm, model=args.model))
        console.print(f"LLM: {args.model or '(server default)'} at {args.llm}")
        return session
    from voxfsm.agents.llm.local import default_llm

    # The scripted LLM stays the default until the local model completes the demo's call
    # (its takeaway agent answers instead of calling add_to_order): the main job must succeed.
    llm, notice = default_llm(scripted=not args.local)
    if llm is None:
        why = notice if args.local or args.scripted else "--local for the local model"
        console.print(Text(f"{_SCRIPTED_NOTICE} ({why})", style="dim"))
    else:
        session.update_options(llm=llm)
        console.print(Text(notice, style="dim"))
    return session


async def _text_call(
    app: App, turns: list[str], args: argparse.Namespace, console: Console
) -> dict[str, Any]:
    session = _session(app, args, console)
    await prepare_llm(session, console, app)
    printer = TranscriptPrinter(console)
    printer.attach(session)
    latencies: list[float] = []
    async with session:
        try:
            await start_session(session, app.new_entry())
            for text in turns:
                printer.user(text)
                t0 = time.perf_counter()
                await session.run(user_input=text)
                latencies.append((time.perf_counter() - t0) * 1000)
        finally:  # also when interrupted: the transcript so far is written
            record = {
                "mode": "text",
                "complete": len(latencies) == len(turns),
                "turns": [
                    {"said": t, "latency_ms": {"turn_done_ms": round(ms, 2)}}
                    for t, ms in zip(turns, latencies, strict=False)
                ],
            }
            _write_outputs(session, Path(args.out), record, console)
    console.print(
        Text(
            f"{len(turns)} turns, ended with agent {session.current_agent.id!r}; "
            f"turn latency mean {sum(latencies) / len(latencies):.2f} ms, "
            f"max {max(latencies):.2f} ms",
            style="dim",
        )
    )
    return record


async def _voice_call(
    app: App, turns: list[str], args: argparse.Namespace, console: Console, engines: tuple[Any, Any]
) -> dict[str, Any]:
    from voxfsm.io.sim.demo_call import DemoCall

    stt, caller_voice = engines
    monitor = _speaker(console) if args.speaker else None
    session = _session(app, args, console)
    await prepare_llm(session, console, app)
    console.print(
        "[dim]voice: the caller speaks with Piper en-joe, agents with espeak voices; "
        f"speech recognition: Whisper tiny.en; {'fast' if args.fast else 'real-time'} call[/dim]"
    )
    if args.fast:
        console.print(
            "[dim]--fast: audio goes in faster than real time, so the latencies shown are not "
            "what a caller would wait (run without --fast for those)[/dim]"
        )
    call = DemoCall(
        session,
        turns,
        stt,
        caller_voice,
        console,
        fast=args.fast,
        monitor=monitor,
        end_silence_ms=args.end_silence_ms,
    )
    out = Path(args.out)
    async with session:
        done = False
        try:
            await call.run(app.new_entry())
            done = True
        finally:  # also when interrupted: the call so far is written
            await asyncio.to_thread(call.caller.timeline.write, out / "call.wav")
            record = {
                "mode": "fast voice" if args.fast else "voice",
                "complete": done,
                "stt": "whisper tiny.en",
                "caller_voice": "piper en-joe",
                "turns": call.turn_records(),
                "segments": [
                    {"who": s.who, "start_s": round(s.start, 3), "end_s": round(s.end, 3)}
                    for s in call.caller.timeline.segments
                ],
            }
            _write_outputs(session, out, record, console, extra=("call.wav",))
    console.print(
        Text(f"{call.summary()}; ended with agent {session.current_agent.id!r}", style="dim")
    )
    return record


def _speaker(console: Console) -> Any:
    from voxfsm.io.audio.devices import AudioDeviceError, Speaker, list_devices

    try:
        if any(d.max_output_channels > 0 for d in list_devices()):
            return Speaker()
        console.print(Text("--speaker: no output device; writing files only", style="yellow"))
    except AudioDeviceError as exc:
        console.print(Text(f"--speaker: {exc}; writing files only", style="yellow"))
    return None


def _write_outputs(
    session: Any, out: Path, record: dict[str, Any], console: Console, extra: tuple[str, ...] = ()
) -> None:
    from voxfsm.agents.chat import converter

    out.mkdir(parents=True, exist_ok=True)
    written = [*extra, "transcript.json"]
    try:
        agent = session.current_agent
    except RuntimeError:  # interrupted before the first agent started
        agent = None
    record["path"] = [
        i.new_agent_id for i in session.history.items if getattr(i, "type", "") == "agent_handoff"
    ]
    data = {
        "workflow": type(agent).__module__ if agent is not None else None,
        "final_agent": agent.id if agent is not None else None,
        **record,
        "history": [converter.unstructure(i) for i in session.history.items],
    }
    (out / "transcript.json").write_text(json.dumps(data, indent=1))
    try:
        from voxfsm.fsm.graph import build_graph

        graph = build_graph(session)
    except ImportError as exc:
        console.print(Text(f"no graph: {exc}", style="yellow"))
    else:
        suffixes = [".svg", ".mmd"] if shutil.which("dot") else [".mmd"]
        for suffix in suffixes:
            try:
                graph.render(out / f"graph{suffix}")
                written.append(f"graph{suffix}")
            except Exception as exc:  # e.g. a broken Graphviz: the Mermaid file still helps
                console.print(Text(f"could not write graph{suffix}: {exc}", style="yellow"))
        if ".svg" not in suffixes:
            console.print(
                Text("no Graphviz `dot` program: graph.mmd only (apt install graphviz)", "dim")
            )
    console.print(Text(f"wrote {', '.join(f'{out}/{name}' for name in written)}", style="dim"))


def _check_out(out: Path) -> None:
    """The output folder exists (it is created) and takes files, before the call starts."""
    from voxfsm.io._paths import writable_problem

    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CLIError(f"--out {out}: cannot create the folder ({exc.strerror})") from None
    problem = writable_problem(out / "transcript.json")
    if problem is not None:
        raise CLIError(f"--out {out}: {problem}")


def _engines(console: Console) -> tuple[Any, Any] | None:
    """Whisper and Piper, or None (after saying why) when the voice demo cannot run here."""
    try:
        from voxfsm.io.sim.demo_call import VoiceUnavailable, voice_engines
    except ImportError as exc:  # a base install: no numpy, no audio stack
        reason = f"{exc}; install it with `pip install 'voxfsm[voice,whisper,piper]'`"
    else:
        try:
            return voice_engines()
        except VoiceUnavailable as exc:
            reason = str(exc)
    console.print(Text(f"voice demo unavailable: {reason}", style="yellow"))
    console.print(Text("falling back to the text demo (the same call, typed)", style="yellow"))
    return None


async def _demo(args: argparse.Namespace) -> int:
    console = Console(highlight=False)
    app = load_app(args.app)
    turns: list[str] = list(getattr(app.module, "DEMO_TURNS", ()))
    if not turns:
        raise UsageError(
            f"{args.app} has no DEMO_TURNS to play; give the module a list of caller lines "
            "named DEMO_TURNS, or use `voxfsm console` to talk to it yourself"
        )
    _check_out(Path(args.out))
    if args.call_timeout <= 0:
        raise UsageError(
            f"--call-timeout must be a positive number of seconds, not {args.call_timeout:g}"
        )
    engines = None if args.text else _engines(console)
    call = (
        _text_call(app, turns, args, console)
        if engines is None
        else _voice_call(app, turns, args, console, engines)
    )
    try:
        record = await asyncio.wait_for(call, args.call_timeout)
    except asyncio.TimeoutError:
        raise CLIError(
            f"the call did not finish within {args.call_timeout:g} s (--call-timeout); what "
            f"was said so far is in {args.out}/; the machine may be busy: raise "
            "--call-timeout, or --scripted for the workflow's scripted LLM"
        ) from None
    expected: list[str] = list(getattr(app.module, "DEMO_PATH", ()))
    path: list[str] = record.get("path", [])
    if expected and path != expected:
        raise CLIError(
            f"the call did not complete: the agents went {' → '.join(path) or 'nowhere'}, "
            f"not {' → '.join(expected)}; see {args.out}/transcript.json "
            "(--scripted plays the call with the workflow's scripted LLM)"
        )
    if expected:
        console.print(Text(f"call complete: {' → '.join(path)}", style="green"))
    return 0


def run(args: argparse.Namespace) -> int:
    return run_async(_demo(args))
