"""``voxfsm check APP [--examples N] [--steps N] [--seed N]``: validate and property-test.

First the static graph and ``check_graph``; then N generated conversations through the app's
own session (``make_session()``, its LLM replaced by the generated choices) with every
handoff invariant of ``voxfsm.agents.testing``.  Edges seen at run time are merged into the
graph before the findings are printed, so an undeclared handoff is a finding.  Exit 0 when
nothing is found, 1 when anything is, 2 on usage errors.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
from collections.abc import Iterator

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from voxfsm.agents.testing import (
    Coverage,
    WorkflowReport,
    WorkflowUsageError,
    check_workflow,
    format_edge,
)
from voxfsm.fsm import render as fsm_render
from voxfsm.fsm.checks import Finding, check_graph
from voxfsm.fsm.graph import WorkflowGraph, overlay
from voxfsm.io.cli.app import App, AppError, load_app
from voxfsm.io.cli.graph import app_graph


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("app", metavar="APP", help="path/to/file.py or package.module, with :NAME")
    parser.add_argument(
        "--examples",
        type=int,
        default=100,
        metavar="N",
        help="generated conversations to run (default 100; 0 = static checks only)",
    )
    parser.add_argument(
        "--steps", type=int, default=30, metavar="N", help="steps per conversation (default 30)"
    )
    parser.add_argument(
        "--seed", type=int, default=None, metavar="N", help="make the run repeatable"
    )
    parser.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="also draw the graph with the transitions the runs took highlighted and counted "
        "(format from the suffix: .svg .png .dot .mmd .txt)",
    )
    parser.add_argument(
        "--step-timeout",
        type=float,
        default=5.0,
        metavar="S",
        help="seconds one step may take before it counts as a deadlock (default 5)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="split the examples into N independent runs (own seeds) on a local Ray runtime",
    )
    parser.add_argument(
        "--address", metavar="ADDR", help="run them on an existing Ray cluster (ray://host:10001)"
    )


def run(args: argparse.Namespace) -> int:
    if args.examples < 0 or args.steps < 1 or args.step_timeout <= 0 or args.workers < 1:
        raise AppError(
            "--examples must be 0 or more, --steps and --workers at least 1 and --step-timeout "
            "positive"
        )
    console = Console(highlight=False)
    app = load_app(args.app)
    graph = app_graph(app)
    report: WorkflowReport | None = None
    if args.examples:
        report = _property_run(app, args, console, graph)
        graph = _merged(app, graph, report.coverage)
    findings = check_graph(graph)
    if args.output:
        try:
            fsm_render.render(graph, args.output)
        except (ValueError, fsm_render.GraphvizNotFound) as exc:
            raise AppError(str(exc)) from exc
        console.print(f"wrote {args.output}")
    _print_findings(console, findings)
    if report is not None:
        _print_summary(console, report, findings)
        if report.failure is not None:
            _print_failure(console, report)
    found = bool(findings) or (report is not None and report.failure is not None)
    console.print(
        Text("problems found", style="bold red") if found else Text("no problems found", "green")
    )
    return 1 if found else 0


def _property_run(
    app: App, args: argparse.Namespace, console: Console, graph: WorkflowGraph
) -> WorkflowReport:
    if args.workers > 1 or args.address:
        return _distributed_run(args, console)
    make = app.make_session
    app_expr = f"load_app({args.app!r})"
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=True) as progress, _quiet(args):
        task = progress.add_task("conversations", total=args.examples)

        def tick(done: int) -> None:
            if done > args.examples:  # hypothesis is replaying a failure to shrink it
                progress.update(task, description="shrinking a failure", total=None)
            progress.update(task, completed=done)

        try:
            return check_workflow(
                app.entry,
                session_factory=make,
                examples=args.examples,
                steps=args.steps,
                seed=args.seed,
                step_timeout=args.step_timeout,
                progress=tick,
                entry_import="from voxfsm.io.cli.app import load_app",
                entry_expr=f"{app_expr}.entry",
                replay_kwargs=f"session_factory={app_expr}.make_session" if make else "",
            )
        except WorkflowUsageError as exc:
            raise AppError(f"{args.app}: {exc}") from None


def _distributed_run(args: argparse.Namespace, console: Console) -> WorkflowReport:
    from voxfsm.io.eval.backends import EvalError, choose_backend
    from voxfsm.io.eval.parallel_check import run_check_shards, shards_for

    try:
        backend = choose_backend("auto", args.workers, args.address)
    except EvalError as exc:
        raise AppError(str(exc)) from None
    shards = shards_for(
        args.app, args.examples, args.steps, args.seed, args.step_timeout, args.workers
    )
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=console, transient=True) as progress, _quiet(args):
        task = progress.add_task(f"conversations ({backend})", total=args.examples)
        return run_check_shards(
            shards,
            backend=backend,
            workers=args.workers,
            address=args.address,
            on_shard=lambda part: progress.update(task, advance=part["examples"]),
        )


@contextlib.contextmanager
def _quiet(args: argparse.Namespace) -> Iterator[None]:
    """Tools raising on purpose would print a traceback per step; -v keeps them."""
    engine = logging.getLogger("voxfsm.agents")
    propagate = engine.propagate
    if not getattr(args, "verbose", 0):
        # records are still made (the checker reads them), just not printed
        engine.propagate = False
    try:
        yield
    finally:
        engine.propagate = propagate


def _merged(app: App, graph: WorkflowGraph, coverage: Coverage) -> WorkflowGraph:
    # the runs drawn over the workflow's own graph; update_agent() swaps the tester made up
    # are no part of the workflow, so they are left out
    try:
        return overlay(graph, coverage.steps, swaps=False)
    except (TypeError, ValueError) as exc:
        raise AppError(f"cannot merge the observed transitions into the graph: {exc}") from exc


def _print_findings(console: Console, findings: list[Finding]) -> None:
    if not findings:
        console.print("graph: no findings")
        return
    table = Table(title="graph findings", show_lines=False)
    for col in ("level", "agent", "tool", "finding", "code"):
        table.add_column(col)
    for f in findings:
        style = "red" if f.level == "error" else "yellow"
        table.add_row(
            Text(f.level, style=style), f.agent or "", f.tool or "", escape(f.message), f.code
        )
    console.print(table)


def _print_summary(console: Console, report: WorkflowReport, findings: list[Finding]) -> None:
    cov = report.coverage
    table = Table(title="generated conversations", show_header=False)
    table.add_column("what")
    table.add_column("value")
    table.add_row("conversations", str(report.examples))
    table.add_row("steps", f"{report.steps} ({report.steps_per_second:.0f}/s)")
    table.add_row(
        "transitions covered", f"{len(cov.covered)}/{len(cov.declared)} ({cov.ratio:.0%})"
    )
    table.add_row("graph findings", str(len(findings)))
    table.add_row(
        "invariant failure",
        Text(report.failure.check, "red") if report.failure else Text("none", "green"),
    )
    console.print(table)
    edges = Table(title="transition coverage")
    for col in ("edge", "taken", "guard outcomes of the tool"):
        edges.add_column(col)
    for edge in sorted({*cov.declared, *cov.extra}, key=lambda e: (e[0], e[1], e[2] or "")):
        outcomes = ", ".join(sorted(cov.guard_outcomes(edge[0], edge[1]))) or "-"
        taken = cov.hits[edge]
        edges.add_row(format_edge(edge), Text(str(taken), "green" if taken else "yellow"), outcomes)
    console.print(edges)


def _print_failure(console: Console, report: WorkflowReport) -> None:
    failure = report.failure
    assert failure is not None
    console.print(Text(f"\nFAILED [{failure.check}] {failure.message}", style="bold red"))
    console.print(f"\nsmallest failing conversation ({len(failure.steps)} step(s)):")
    console.print(escape(failure.conversation), soft_wrap=True)
    console.print("\nregression test (paste into a test file):\n")
    console.print(escape(failure.regression_test), soft_wrap=True)
