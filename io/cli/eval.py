"""``voxfsm eval APP SCENARIOS... [--workers N] [--address ray://HOST:PORT]``.

Runs every scenario as its own session, prints a progress bar then the failures with their
reasons, and writes ``report.json`` and ``report.html`` (``--out``, default ``voxfsm-eval``).
With ``--workers N > 1`` the scenarios run as tasks on a local Ray runtime started for the
run (plain asyncio concurrency when Ray is not installed); ``--address`` joins a cluster.
Exit 0 when every scenario passed, 1 when any failed, 2 on usage errors.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import attrs
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from voxfsm.io.cli.app import AppError, load_app
from voxfsm.io.eval.backends import EvalError, choose_backend, run_asyncio, run_ray
from voxfsm.io.eval.report import EvalReport
from voxfsm.io.eval.runner import EvalOptions, quiet_engine
from voxfsm.io.eval.scenario import ScenarioError, load_scenarios


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "app",
        metavar="APP",
        help="path/to/file.py or package.module, with :NAME; it replaces the `app` the "
        "scenario files name. `.` runs each file against the app it names",
    )
    parser.add_argument(
        "scenarios",
        metavar="SCENARIOS",
        nargs="+",
        help="scenario files (.toml) or folders of them",
    )
    parser.add_argument(
        "--workers", type=int, default=1, metavar="N", help="scenarios run at once (default 1)"
    )
    parser.add_argument(
        "--address",
        metavar="ADDR",
        help="run on an existing Ray cluster (ray://host:10001, or auto) instead of a local one",
    )
    parser.add_argument(
        "--backend",
        choices=("auto", "ray", "asyncio"),
        default="auto",
        help="auto (default): Ray when --workers > 1 or --address and Ray is installed",
    )
    parser.add_argument(
        "--out", default="voxfsm-eval", metavar="DIR", help="report folder (default voxfsm-eval)"
    )
    parser.add_argument(
        "--turn-timeout",
        type=float,
        default=30.0,
        metavar="S",
        help="seconds one turn may take (default 30)",
    )
    parser.add_argument(
        "--timeout", type=float, default=3600.0, metavar="S", help="seconds for the whole run"
    )
    parser.add_argument("--judge-llm", metavar="URL", help="OpenAI-compatible server for judges")
    parser.add_argument("--judge-model", metavar="NAME", help="model name for --judge-llm")
    parser.add_argument("--caller-llm", metavar="URL", help="server for goal-driven callers")
    parser.add_argument("--caller-model", metavar="NAME", help="model name for --caller-llm")


def run(args: argparse.Namespace) -> int:
    if args.workers < 1 or args.turn_timeout <= 0 or args.timeout <= 0:
        raise AppError("--workers must be at least 1; --turn-timeout and --timeout positive")
    try:
        scenarios = load_scenarios(*args.scenarios)
        backend = choose_backend(args.backend, args.workers, args.address)
    except (ScenarioError, EvalError) as exc:
        raise AppError(str(exc)) from None
    if args.app != ".":
        scenarios = [attrs.evolve(sc, app=args.app) for sc in scenarios]
    missing = [sc.name for sc in scenarios if not sc.app]
    if missing:
        raise AppError(
            f"APP is `.` but scenario {missing[0]!r} names no app; give APP or add `app = ...` "
            "to its file"
        )
    for spec in {sc.app for sc in scenarios if sc.app}:
        load_app(spec)  # fail early, with the loader's message, before any worker starts
    options = EvalOptions(
        turn_timeout=args.turn_timeout,
        judge_url=args.judge_llm,
        judge_model=args.judge_model,
        caller_url=args.caller_llm,
        caller_model=args.caller_model,
    )
    console = Console(highlight=False)
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[failed]} failed"),
        TimeElapsedColumn(),
    )
    begin = time.perf_counter()
    restore = quiet_engine() if not args.verbose else (lambda: None)
    try:
        with Progress(*columns, console=console, transient=True) as progress:
            task = progress.add_task("scenarios", total=len(scenarios), failed=0)
            failed = 0

            def tick(result: dict[str, Any]) -> None:
                nonlocal failed
                failed += not result["passed"]
                progress.update(task, advance=1, failed=failed)

            if backend == "ray":
                progress.update(task, description="starting Ray")
                results = run_ray(
                    args.app,
                    scenarios,
                    options,
                    workers=args.workers,
                    address=args.address,
                    on_result=tick,
                    timeout=args.timeout,
                )
            else:
                results = run_asyncio(
                    args.app,
                    scenarios,
                    options,
                    workers=args.workers,
                    on_result=tick,
                    timeout=args.timeout,
                )
    except EvalError as exc:
        raise AppError(str(exc)) from None
    finally:
        restore()
    report = EvalReport(args.app, results, backend, args.workers, time.perf_counter() - begin)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    report.write_json(out / "report.json")
    report.write_html(out / "report.html")
    _print(console, report, out)
    return 1 if report.failed else 0


def _print(console: Console, report: EvalReport, out: Path) -> None:
    if report.failed:
        table = Table(title="failed scenarios")
        table.add_column("scenario", style="red")
        table.add_column("reasons")
        for r in report.failed:
            table.add_row(escape(r["name"]), escape("\n".join(r["reasons"])))
        console.print(table)
    lat = Table(title="latency per stage (ms)")
    for col in ("stage", "p50", "p95", "samples"):
        lat.add_column(col)
    for stage, v in report.latencies().items():
        lat.add_row(stage, f"{v['p50_ms']:.1f}", f"{v['p95_ms']:.1f}", str(v["count"]))
    console.print(lat)
    for app, summary in report.apps.items():
        cov = summary.to_json()
        console.print(
            f"{app}: {cov['edges_covered']}/{cov['edges_declared']} declared handoff edges taken"
        )
    passed = len(report.results) - len(report.failed)
    style = "green" if not report.failed else "bold red"
    console.print(
        Text(f"{passed}/{len(report.results)} scenarios passed", style=style),
        f"in {report.seconds:.1f} s ({report.backend}, {report.workers} worker(s));",
        f"reports in {out}/report.json and {out}/report.html",
    )
