"""``voxfsm demo``: a scripted caller phones a reference workflow, offline, with no set-up."""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path
from typing import Any

from rich.console import Console

from voxfsm.io.app import load_app
from voxfsm.io.transcript import TranscriptPrinter

DEFAULT_APP = "voxfsm.examples.restaurant"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "app", nargs="?", default=DEFAULT_APP, help=f"workflow (default {DEFAULT_APP})"
    )
    parser.add_argument("--out", default="voxfsm-demo", help="folder for the graph and transcript")
    parser.add_argument("--llm", help="OpenAI-compatible server URL instead of the scripted LLM")
    parser.add_argument("--model", help="model name on that server")


async def _call(app_spec: str, out: Path, llm_url: str | None, model: str | None) -> int:
    console = Console(highlight=False)
    app = load_app(app_spec)
    turns: list[str] = list(getattr(app.module, "DEMO_TURNS", ()))
    if not turns:
        console.print(f"[red]{app_spec} has no DEMO_TURNS to play[/red]")
        return 2
    session = app.new_session()
    if llm_url:
        from voxfsm.agents.llm import OpenAILLM

        session.update_options(llm=OpenAILLM(base_url=llm_url, model=model))
        console.print(f"LLM: {model or '(server default)'} at {llm_url}")
    else:
        console.print(
            "[dim]LLM: a ScriptedLLM whose patterns tolerate recognition errors "
            "(use --llm URL --model NAME for a real local model)[/dim]"
        )
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
        _write_outputs(session, out, console)
    console.print(
        f"[dim]{len(turns)} turns, ended with agent {session.current_agent.id!r}; "
        f"turn latency mean {sum(latencies) / len(latencies):.2f} ms, "
        f"max {max(latencies):.2f} ms[/dim]"
    )
    return 0


def _write_outputs(session: Any, out: Path, console: Console) -> None:
    import json

    from voxfsm.agents.chat import converter

    out.mkdir(parents=True, exist_ok=True)
    (out / "transcript.json").write_text(
        json.dumps([converter.unstructure(i) for i in session.history.items], indent=1)
    )
    try:
        from voxfsm.fsm.graph import build_graph

        graph = build_graph(session)
        written = []
        for suffix in (".svg", ".mmd"):
            try:
                graph.render(out / f"graph{suffix}")
                written.append(f"graph{suffix}")
            except Exception as exc:  # e.g. no `dot` program: the Mermaid file still helps
                console.print(f"[yellow]could not write graph{suffix}: {exc}[/yellow]")
        console.print(f"[dim]wrote {out}/transcript.json and {', '.join(written)}[/dim]")
    except ImportError:
        console.print(f"[dim]wrote {out}/transcript.json[/dim]")


def run(args: argparse.Namespace) -> int:
    return asyncio.run(_call(args.app, Path(args.out), args.llm, args.model))
