"""Offline proof: the demo, the example tests and a notebook run with no network at all.

Each run happens in a fresh network namespace with only loopback (``unshare -n``; CI runs as
root).  ``sitecustomize.py`` from this folder is loaded by every Python process of the run,
kernels included, and records any attempt to reach a non-loopback address.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).parent

pytestmark = pytest.mark.slow


def _offline(tmp_path: Path, *argv: str) -> tuple[int, list[str], list[str], str]:
    """Run ``python argv...`` with no network; returns exit code, attempts, watched pids, output."""
    if shutil.which("unshare") is None:
        pytest.fail("`unshare` (util-linux) is needed for the offline proof")
    report = tmp_path / "net-report.txt"
    env = dict(os.environ, VOXFSM_NET_REPORT=str(report), PYTHONPATH=str(HERE))
    env.pop("OPENAI_BASE_URL", None)
    cmd = " ".join(f'"{a}"' for a in (sys.executable, *argv))
    proc = subprocess.run(
        ["unshare", "-n", "sh", "-c", f"ip link set lo up 2>/dev/null; exec {cmd}"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    attempts = report.read_text().splitlines() if report.exists() else []
    watched = (
        Path(f"{report}.pids").read_text().splitlines() if Path(f"{report}.pids").exists() else []
    )
    return proc.returncode, attempts, watched, proc.stdout + proc.stderr


def test_the_namespace_really_has_no_network(tmp_path: Path) -> None:
    probe = (
        "import socket\n"
        "s = socket.socket(); s.settimeout(2)\n"
        "try:\n    s.connect(('1.1.1.1', 53)); print('CONNECTED')\n"
        "except OSError as e:\n    print('refused', e.errno)\n"
    )
    _, attempts, watched, out = _offline(tmp_path, "-c", probe)
    assert "refused" in out and "CONNECTED" not in out
    # and the recorder sees such an attempt, so an empty record below means something
    assert any("1.1.1.1" in a for a in attempts) and watched


def test_the_demo_runs_offline_and_reaches_for_no_network(tmp_path: Path) -> None:
    code, attempts, watched, out = _offline(
        tmp_path,
        "-m",
        "voxfsm.io.cli",
        "demo",
        "--scripted",
        "--fast",
        "--out",
        str(tmp_path / "demo"),
    )
    assert code == 0, out
    assert attempts == [], attempts
    assert watched
    assert (tmp_path / "demo" / "transcript.json").exists()


def test_the_example_workflow_tests_run_offline(tmp_path: Path) -> None:
    code, attempts, _, out = _offline(
        tmp_path, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(ROOT / "tests" / "examples")
    )
    assert code == 0, out
    assert " passed" in out
    assert attempts == [], attempts


def test_a_notebook_runs_offline(tmp_path: Path) -> None:
    notebook = ROOT / "notebooks" / "draw_workflow.ipynb"
    runner = (
        "import nbformat, sys\n"
        "from nbclient import NotebookClient\n"
        f"nb = nbformat.read({str(notebook)!r}, as_version=4)\n"
        "NotebookClient(nb, timeout=300, kernel_name='python3').execute()\n"
        "print('notebook ok')\n"
    )
    code, attempts, watched, out = _offline(tmp_path, "-c", runner)
    assert code == 0 and "notebook ok" in out, out
    assert attempts == [], attempts
    assert len(watched) >= 2, watched  # the client and its kernel were both watched
