"""The ``voxfsm`` command: one small module per subcommand, imported only when used."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from voxfsm.io.cli.app import AppError

# subcommand -> module with ``add_arguments(parser)`` and ``run(args) -> int``
COMMANDS: dict[str, tuple[str, str]] = {
    "demo": (
        "voxfsm.io.cli.demo",
        "zero set-up offline demo (a simulated caller phones a workflow)",
    ),
    "console": ("voxfsm.io.cli.console", "talk to a workflow by voice, text or WAV files"),
    "graph": ("voxfsm.io.cli.graph", "draw a workflow's agent graph"),
    "check": ("voxfsm.io.cli.check", "validate a workflow and property-test it"),
    "models": ("voxfsm.io.cli.models", "list, download and verify speech models"),
    "eval": ("voxfsm.io.cli.eval", "run caller scenarios against a workflow and report"),
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="voxfsm", description="offline multi-agent voice workflows"
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module, help_text) in COMMANDS.items():
        cmd = sub.add_parser(name, help=help_text, description=help_text)
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
            continue  # subcommand not built yet
        mod.add_arguments(cmd)
        cmd.set_defaults(_module=mod)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING - 10 * min(args.verbose, 2),
        format="%(levelname)s %(name)s: %(message)s",
    )
    module = getattr(args, "_module", None)
    if module is None:
        parser.error(f"the {args.command!r} command is not available in this build")
    try:
        return int(module.run(args))
    except AppError as exc:
        print(f"voxfsm {args.command}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
