"""Checking that an output file can be written, before the work that produces it."""

from __future__ import annotations

import tempfile
from pathlib import Path

__all__ = ["writable_problem"]


def writable_problem(path: str | Path) -> str | None:
    """Why ``path`` cannot be written (``None`` when it can): a folder, a missing folder, no
    permission. The folder is not created; a test file is made in it and removed again."""
    path = Path(path)
    folder = path.parent
    if path.is_dir():
        return "is a folder; name a file to write"
    if not folder.is_dir():
        return f"the folder {folder} does not exist; create it first"
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".voxfsm-write-test-"):
            pass
    except OSError as exc:
        return f"cannot write in {folder} ({exc.strerror})"
    return None
