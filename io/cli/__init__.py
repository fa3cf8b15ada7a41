"""The ``voxfsm`` command: one small module per subcommand, imported only when used.

A command module has ``add_arguments(parser)`` and ``run(args) -> int``; add one by listing it
in :data:`COMMANDS`. Failures follow :mod:`voxfsm.io.cli.errors`: one line on stderr, exit 1
(usage 2, interrupted 130), ``--debug`` for the traceback.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
import threading
from collections.abc import Sequence

from voxfsm.io.cli.errors import EXIT_USAGE, report

__all__ = ["COMMANDS", "main", "version"]

# subcommand -> (module with ``add_arguments(parser)`` and ``run(args) -> int``, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "demo": (
        "voxfsm.io.cli.demo",
        "zero set-up offline demo (a simulated caller phones a workflow)",
    ),
    "console": ("voxfsm.io.cli.console", "talk to a workflow by voice, text or audio files"),
    "graph": ("voxfsm.io.cli.graph", "draw a workflow's agent graph"),
    "check": ("voxfsm.io.cli.check", "validate a workflow and property-test it"),
    "models": ("voxfsm.io.cli.models", "list, download and verify speech models"),
    "eval": ("voxfsm.io.cli.eval", "run caller scenarios against a workflow and report"),
}


def version() -> str:
    """The installed voxfsm version (``unknown`` when run from a bare checkout)."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as dist_version

    try:
        return dist_version("voxfsm")
    except PackageNotFoundError:
        return "unknown"


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is the same one line on stderr as every other error."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"{self.prog}: {message} (see {self.prog} --help)\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="voxfsm", description="offline multi-agent voice workflows")
    parser.add_argument("--version", action="version", version=f"voxfsm {version()}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging")
    parser.add_argument(
        "--debug", action="store_true", help="show the traceback of an error (for bug reports)"
    )
    sub = parser.add_subparsers(
        dest="command", metavar="COMMAND", required=True, parser_class=_Parser
    )
    for name, (module, help_text) in COMMANDS.items():
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
            continue  # a command that is not part of this build
        cmd = sub.add_parser(name, help=help_text, description=help_text)
        mod.add_arguments(cmd)
        cmd.set_defaults(_module=mod)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``voxfsm`` command line; returns the exit code."""
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING - 10 * min(args.verbose, 2),
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args._module.run(args))
    except (Exception, KeyboardInterrupt) as exc:
        return report(args.command, exc, debug=args.debug)


def _exit(code: int) -> None:
    """Exit with ``code``, without waiting for worker threads that are stuck (a blocked read,
    a model still loading): the command is over, and a hang would be worse than a lost
    thread."""
    stuck = [t for t in threading.enumerate() if t is not threading.main_thread() and t.is_alive()]
    if not any(not t.daemon for t in stuck):
        sys.exit(code)
    logging.getLogger(__name__).debug("leaving %d stuck thread(s) behind", len(stuck))
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def entry_point() -> None:
    """The ``voxfsm`` console script."""
    _exit(main())
