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

from voxfsm.io.cli.app import App, load_app
from voxfsm.io.cli.transcript import TranscriptPrinter

DEFAULT_APP = "voxfsm.examples.restaurant"

_SCRIPTED_NOTICE = (
    "LLM: a ScriptedLLM whose patterns tolerate recognition errors (pizza/pizzas, "
    "coffee/cofee, ...), not a language model; use --llm URL --model NAME for a real local one"
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
    parser.add_argument("--llm", metavar="URL", help="OpenAI-compatible server instead")
    parser.add_argument("--model", metavar="NAME", help="model name on that server")
    parser.add_argument(
        "--end-silence-ms",
        type=int,
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
    else:
        console.print(f"[dim]{_SCRIPTED_NOTICE}[/dim]")
    return session


async def _text_call(
    app: App, turns: list[str], args: argparse.Namespace, console: Console
) -> dict[str, Any]:
    session = _session(app, args, console)
    printer = TranscriptPrinter(console)
    printer.attach(session)
    latencies: list[float] = []
    async with session:
        await session.start(app.new_entry())
        for text in turns:
            printer.user(text)
            t0 = time.perf_counter()
            await session.run(user_input=text)
            latencies.append((time.perf_counter() - t0) * 1000)
        record = {
            "mode": "text",
            "turns": [
                {"said": t, "latency_ms": {"turn_done_ms": round(ms, 2)}}
                for t, ms in zip(turns, latencies, strict=True)
            ],
        }
        _write_outputs(session, Path(args.out), record, console)
    console.print(
        f"[dim]{len(turns)} turns, ended with agent {session.current_agent.id!r}; "
        f"turn latency mean {sum(latencies) / len(latencies):.2f} ms, "
        f"max {max(latencies):.2f} ms[/dim]"
    )
    return record


async def _voice_call(
    app: App, turns: list[str], args: argparse.Namespace, console: Console, engines: tuple[Any, Any]
) -> dict[str, Any]:
    from voxfsm.io.sim.demo_call import DemoCall

    stt, caller_voice = engines
    monitor = _speaker(console) if args.speaker else None
    session = _session(app, args, console)
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
        await call.run(app.new_entry())
        out.mkdir(parents=True, exist_ok=True)
        await asyncio.to_thread(call.caller.timeline.write, out / "call.wav")
        record = {
            "mode": "fast voice" if args.fast else "voice",
            "stt": "whisper tiny.en",
            "caller_voice": "piper en-joe",
            "turns": call.turn_records(),
            "segments": [
                {"who": s.who, "start_s": round(s.start, 3), "end_s": round(s.end, 3)}
                for s in call.caller.timeline.segments
            ],
        }
        _write_outputs(session, out, record, console, extra=("call.wav",))
    console.print(f"[dim]{call.summary()}; ended with agent {session.current_agent.id!r}[/dim]")
    return record


def _speaker(console: Console) -> Any:
    from voxfsm.io.audio.devices import AudioDeviceError, Speaker, list_devices

    try:
        if any(d.max_output_channels > 0 for d in list_devices()):
            return Speaker()
        console.print("[yellow]--speaker: no output device; writing files only[/yellow]")
    except AudioDeviceError as exc:
        console.print(f"[yellow]--speaker: {exc}; writing files only[/yellow]")
    return None


def _write_outputs(
    session: Any, out: Path, record: dict[str, Any], console: Console, extra: tuple[str, ...] = ()
) -> None:
    from voxfsm.agents.chat import converter

    out.mkdir(parents=True, exist_ok=True)
    written = [*extra, "transcript.json"]
    data = {
        "workflow": type(session.current_agent).__module__,
        "final_agent": session.current_agent.id,
        **record,
        "history": [converter.unstructure(i) for i in session.history.items],
    }
    (out / "transcript.json").write_text(json.dumps(data, indent=1))
    try:
        from voxfsm.fsm.graph import build_graph

        graph = build_graph(session)
    except ImportError as exc:
        console.print(f"[yellow]no graph: {exc}[/yellow]")
    else:
        suffixes = [".svg", ".mmd"] if shutil.which("dot") else [".mmd"]
        for suffix in suffixes:
            try:
                graph.render(out / f"graph{suffix}")
                written.append(f"graph{suffix}")
            except Exception as exc:  # e.g. a broken Graphviz: the Mermaid file still helps
                console.print(f"[yellow]could not write graph{suffix}: {exc}[/yellow]")
        if ".svg" not in suffixes:
            console.print("[dim]no Graphviz `dot` program: graph.mmd only (apt install graphviz)")
    console.print(f"[dim]wrote {', '.join(f'{out}/{name}' for name in written)}[/dim]")


async def _demo(args: argparse.Namespace) -> int:
    console = Console(highlight=False)
    app = load_app(args.app)
    turns: list[str] = list(getattr(app.module, "DEMO_TURNS", ()))
    if not turns:
        console.print(f"[red]{args.app} has no DEMO_TURNS to play[/red]")
        return 2
    if args.text:
        await _text_call(app, turns, args, console)
        return 0
    from voxfsm.io.sim.demo_call import VoiceUnavailable, voice_engines

    try:
        engines = voice_engines()
    except VoiceUnavailable as exc:
        console.print(f"[yellow]voice demo unavailable: {exc}[/yellow]")
        console.print("[yellow]falling back to the text demo (the same call, typed)[/yellow]")
        await _text_call(app, turns, args, console)
        return 0
    await _voice_call(app, turns, args, console, engines)
    return 0


def run(args: argparse.Namespace) -> int:
    return asyncio.run(_demo(args))
