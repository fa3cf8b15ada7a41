"""The layering is a contract: examples above io above agents above fsm (import-linter).

``setup.cfg``'s ``[importlinter]`` section declares the layers with the installed module
names (``voxfsm.fsm``, ...).  The folders are mapped to those names by ``package_dir``, which
import-linter (it reads import statements from files) cannot follow, so this test lays the
package out as installed — a temporary ``voxfsm/`` whose subpackages are links to the
folders — and runs ``lint-imports`` against it.  A lower layer importing a higher one, even
inside a function, fails the README's test command.
"""

from __future__ import annotations

import configparser
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def installed_layout(tmp: Path, extra: dict[str, str] | None = None) -> Path:
    """``tmp/voxfsm`` with one link per top-level package of ``package_dir``; returns tmp.

    ``extra`` adds modules (``"fsm/_x.py": source``): that package becomes a folder of links
    to its files plus the new ones, so the repository itself is never written to.
    """
    extra = extra or {}
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    mapping = dict(
        line.split("=", 1)
        for line in config["options"]["package_dir"].strip().splitlines()
        if "=" in line
    )
    mapping = {k.strip(): v.strip() for k, v in mapping.items()}
    package = tmp / "voxfsm"
    package.mkdir()
    (package / "__init__.py").write_text("")
    for name, folder in mapping.items():
        parts = name.split(".")
        if parts[0] != "voxfsm" or len(parts) == 1:  # the root only holds __main__
            continue
        if len(parts) == 2:
            added = {k.split("/", 1)[1]: v for k, v in extra.items() if k.split("/")[0] == parts[1]}
            link_package(ROOT / folder, package / parts[1], added)
            continue
        # a nested package must sit where its parent's folder says, or links would lie
        parent = mapping[".".join(parts[:-1])]
        assert Path(folder) == Path(parent) / parts[-1], (
            f"setup.cfg maps {name} to {folder}, not inside {parent}/; keep subpackages in "
            "their parent's folder (or teach tests/test_layers.py the new layout)"
        )
    return tmp


def link_package(source: Path, target: Path, added: dict[str, str]) -> None:
    if not added:
        target.symlink_to(source, target_is_directory=True)
        return
    target.mkdir()
    for entry in source.iterdir():
        (target / entry.name).symlink_to(entry, target_is_directory=entry.is_dir())
    for name, text in added.items():
        (target / name).write_text(text)


def lint_imports(
    tmp_path: Path, extra: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    pytest.importorskip("importlinter", reason="pip install import-linter (the test extra)")
    env = {**os.environ, "PYTHONPATH": str(installed_layout(tmp_path, extra))}
    code = "from importlinter.cli import lint_imports_command; lint_imports_command()"
    return subprocess.run(
        [sys.executable, "-c", code, "--no-cache"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_layers_contract_is_kept(tmp_path: Path) -> None:
    result = lint_imports(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "voxfsm layers" in result.stdout and "KEPT" in result.stdout


def test_the_contract_catches_a_lower_layer_importing_a_higher_one(tmp_path: Path) -> None:
    """The check is live: a function-level ``import voxfsm.agents`` in fsm/ breaks it."""
    late_import = "def late():\n    import voxfsm.agents\n"
    result = lint_imports(tmp_path, {"fsm/_layer_probe_for_test.py": late_import})
    assert result.returncode == 1, result.stdout + result.stderr
    assert "BROKEN" in result.stdout
    assert "voxfsm.fsm._layer_probe_for_test -> voxfsm.agents" in result.stdout
