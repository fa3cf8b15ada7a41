"""What a user installs and reads: the sdist (with the tests and the licence), the metadata,
the API reference built by pdoc with no warnings and every public name documented, and a
user program that is ``mypy --strict`` clean against the public API."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("fsm", "agents", "io", "examples")

# Walks every public module (no ``_`` in its dotted name), resolves lazily exported names,
# checks each has a docstring, then builds the reference with pdoc, warnings recorded.
_PDOC_SCRIPT = r"""
import importlib, inspect, pkgutil, sys, warnings
out = sys.argv[1]
modules = []
for top in ["voxfsm.fsm", "voxfsm.agents", "voxfsm.io", "voxfsm.examples"]:
    modules.append(top)
    for info in pkgutil.walk_packages(importlib.import_module(top).__path__, top + "."):
        if any(part.startswith("_") for part in info.name.split(".")):
            continue
        try:
            importlib.import_module(info.name)
        except ImportError as exc:
            if "moved to" in str(exc):  # a stub pointing at the new home of a module
                continue
            raise
        modules.append(info.name)
undocumented = []
for name in modules:
    module = importlib.import_module(name)
    if not (module.__doc__ or "").strip():
        undocumented.append(name)
    for attr in getattr(module, "__all__", ()):
        obj = getattr(module, attr)
        # a lazily exported name becomes a module attribute, as on first use, so pdoc sees it
        vars(module).setdefault(attr, obj)
        if (inspect.isclass(obj) or inspect.isfunction(obj)) and not (obj.__doc__ or "").strip():
            undocumented.append(f"{name}.{attr}")
import pdoc, pdoc.extract
specs, included = [], set()
for name in modules:  # a package brings the submodules it shows; name each page once
    if name not in included:
        specs.append(name)
        included.update(pdoc.extract.walk_specs([name]))
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    pdoc.pdoc(*specs, output_directory=__import__("pathlib").Path(out))
for w in caught:
    print("WARNING", w.message)
for name in sorted(set(undocumented)):
    print("UNDOCUMENTED", name)
print("MODULES", len(modules))
"""


def test_api_reference_builds_with_no_warnings_and_every_public_name_documented(
    tmp_path: Path,
) -> None:
    out = subprocess.run(
        [sys.executable, "-c", _PDOC_SCRIPT, str(tmp_path / "api")],
        capture_output=True,
        text=True,
        timeout=900,
    )

    assert out.returncode == 0, out.stderr[-3000:]
    problems = [line for line in out.stdout.splitlines() if line.startswith(("WARN", "UNDOC"))]
    assert problems == []
    assert int(out.stdout.split("MODULES")[-1]) > 50
    page = (tmp_path / "api" / "voxfsm" / "io" / "audio" / "files.html").read_text()
    assert "read_audio" in page and "AudioFileError" in page
    assert (tmp_path / "api" / "voxfsm" / "agents" / "session.html").is_file()


def _copy_source(dest: Path) -> Path:
    """The project's source tree without venvs, caches and build output."""
    ignore = shutil.ignore_patterns(
        ".venv", ".git", "__pycache__", "*.egg-info", ".mypy_cache", ".ruff_cache",
        ".pytest_cache", ".hypothesis", "build", "dist", "voxfsm-demo",
    )  # fmt: skip
    shutil.copytree(ROOT, dest, ignore=ignore, symlinks=True)
    return dest


def test_sdist_holds_the_tests_the_licence_and_complete_metadata(tmp_path: Path) -> None:
    src = _copy_source(tmp_path / "src")
    built = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from setuptools import build_meta as b; print(b.build_sdist(sys.argv[1]))",
            str(tmp_path / "dist"),
        ],
        cwd=src,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert built.returncode == 0, built.stderr[-3000:]
    sdist = tmp_path / "dist" / built.stdout.strip().splitlines()[-1]

    with tarfile.open(sdist) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
        info = tar.extractfile(next(n for n in tar.getnames() if n.endswith("/PKG-INFO")))
        assert info is not None
        pkg_info = info.read().decode()

    assert {"LICENSE", "README.md", "setup.cfg", "pyproject.toml", ".ci/install"} <= names
    assert "tests/io/test_cli_contract.py" in names
    assert any(n.startswith("tests/packaging/") for n in names)
    assert not any(n.endswith(".pyc") or "__pycache__" in n for n in names)
    assert "Apache" in pkg_info and "License-File: LICENSE" in pkg_info
    for classifier in (
        "License :: OSI Approved :: Apache Software License",
        "Programming Language :: Python :: 3.10",
        "Programming Language :: Python :: 3.12",
        "Topic :: Multimedia :: Sound/Audio :: Speech",
    ):
        assert f"Classifier: {classifier}" in pkg_info
    assert "Requires-Python: >=3.10" in pkg_info
    assert (ROOT / "LICENSE").read_text().lstrip().startswith("Apache License")


def test_a_user_program_is_mypy_strict_clean(tmp_path: Path) -> None:
    """``mypy --strict`` on tests/packaging/user_program.py: typed ``@session.on`` listeners,
    typed tools and userdata, ``AgentSession()`` with no userdata and no annotation."""
    pytest.importorskip("mypy")
    # mypy cannot follow setuptools' editable-install hook: show it the package as folders
    root = tmp_path / "site"
    (root / "voxfsm").mkdir(parents=True)
    for name in PACKAGES:
        os.symlink(ROOT / name, root / "voxfsm" / name)
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--config-file=",
            "--follow-imports=silent",  # voxfsm's own code is checked by its own config
            f"--cache-dir={tmp_path / 'cache'}",
            str(ROOT / "tests" / "packaging" / "user_program.py"),
        ],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=tmp_path,
        env={**os.environ, "MYPYPATH": str(root)},
    )

    assert out.returncode == 0, out.stdout + out.stderr
    assert "Success: no issues found in 1 source file" in out.stdout
