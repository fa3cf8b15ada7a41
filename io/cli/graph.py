"""``voxfsm graph APP [-o FILE] [--check]``: draw a workflow's agent graph, optionally check it."""

from __future__ import annotations

import argparse
import sys
from types import ModuleType
from typing import Any

from voxfsm.agents._spec import shared_transitions
from voxfsm.fsm import render as fsm_render
from voxfsm.fsm.checks import check_graph
from voxfsm.fsm.graph import WorkflowGraph, build_graph
from voxfsm.io._paths import writable_problem
from voxfsm.io.cli.app import App, AppError, load_app
from voxfsm.io.cli.errors import CLIError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("app", metavar="APP", help="path/to/file.py or package.module, with :NAME")
    parser.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="write the graph to FILE; the suffix picks the format (.svg .png .dot .mmd .txt). "
        "Without it the graph is printed as text",
    )
    parser.add_argument(
        "-f",
        "--format",
        choices=sorted(fsm_render.FORMATS),
        help="format to use instead of the one the suffix implies (dot, mermaid and text print "
        "to the terminal when -o is omitted)",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="also print check_graph findings; exit 1 when there are any",
    )
    parser.add_argument(
        "--entry-only",
        action="store_true",
        help="draw only what the entry reaches (by default every agent class defined in the "
        "APP module is included, so unreachable ones show up)",
    )


def module_agents(module: ModuleType) -> list[type]:
    """Agent classes defined (not imported) in ``module``, without private names and bases.

    A class that another agent class of the module subclasses is taken for a shared base,
    not a state of its own (it is still drawn when some handoff leads to it).
    """
    found = [
        obj
        for name, obj in vars(module).items()
        if isinstance(obj, type)
        and not name.startswith("_")
        and obj.__module__ == module.__name__
        and hasattr(obj, "__fsm_state__")
    ]
    return [c for c in found if not any(o is not c and issubclass(o, c) for o in found)]


def app_graph(app: App, *, entry_only: bool = False) -> WorkflowGraph:
    """The graph of a loaded app; classes are drawn without being instantiated."""
    entry: Any = app.entry
    if not hasattr(entry, "__fsm_state__"):
        if not callable(entry):
            raise AppError(
                f"{app.name} is {type(entry).__name__}, not an Agent class or instance; point "
                "APP:NAME at the entry agent (or a zero-argument function returning one)"
            )
        entry = app.new_entry()  # a factory: the only way to learn what it builds
    include = [] if entry_only else module_agents(app.module)
    # the session's own tools are every agent's too (make_session() builds no agent)
    shared = shared_transitions(app.new_session().tools) if app.make_session else ()
    try:
        return build_graph(entry, include=include, shared=shared)
    except TypeError as exc:
        raise AppError(str(exc)) from exc


def run(args: argparse.Namespace) -> int:
    app = load_app(args.app)
    graph = app_graph(app, entry_only=args.entry_only)
    try:
        fmt = fsm_render.get_format(args.format) if args.format else None
        if args.output:
            fmt = fmt or fsm_render.format_for(args.output)
            if (problem := writable_problem(args.output)) is not None:
                raise CLIError(f"-o {args.output}: {problem}")
            fsm_render.render(graph, args.output, format=fmt.name)
            print(f"wrote {args.output} ({len(graph.states)} agents, {len(graph.edges)} edges)")
        else:
            out = (fmt or fsm_render.get_format("text")).fn(graph)
            if isinstance(out, bytes):
                raise ValueError(f"the {fmt and fmt.name} format is binary; write it with -o FILE")
            sys.stdout.write(out)
    except (ValueError, fsm_render.GraphvizNotFound) as exc:
        raise AppError(str(exc)) from exc
    if not args.check:
        return 0
    findings = check_graph(graph)
    if not args.output:
        print()  # keep the findings apart from the graph printed above
    for finding in findings:
        print(finding)
    print(
        f"{len(findings)} finding{'s' if len(findings) != 1 else ''}" if findings else "no findings"
    )
    return 1 if findings else 0
