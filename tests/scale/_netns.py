"""Run a Python command in a network namespace that has only loopback, watched for sockets.

Ray and redis-server started inside bind to 127.0.0.1 (a plain local Ray runtime binds to the
machine's address).  ``tests/offline/sitecustomize.py`` is loaded by every Python process of
the run — the driver, Ray's raylet-spawned workers and its dashboard process — and records any
attempt to reach a non-loopback address.  ``HOME`` is a temp folder holding an (empty,
local-provider) ``ray_bootstrap_config.yaml``: without one, Ray's dashboard asks cloud
metadata services (169.254.169.254) which cloud it is on, even with usage stats disabled.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import attrs
import pytest

ROOT = Path(__file__).resolve().parents[2]
WATCH = ROOT / "tests" / "offline"


@attrs.frozen
class Isolated:
    code: int
    output: str
    attempts: list[str]
    watched: list[str]


def loopback_only(
    tmp_path: Path, *argv: str, timeout: float = 420.0, env: dict[str, str] | None = None
) -> Isolated:
    if shutil.which("unshare") is None:
        pytest.fail("`unshare` (util-linux) is needed to run Ray with loopback only")
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    (home / "ray_bootstrap_config.yaml").write_text("provider:\n  type: local\n")
    report = tmp_path / "net-report.txt"
    full_env = dict(
        os.environ,
        VOXFSM_NET_REPORT=str(report),
        PYTHONPATH=os.pathsep.join([str(WATCH), str(Path(__file__).parent)]),
        HOME=str(home),
        RAY_USAGE_STATS_ENABLED="0",
        **(env or {}),
    )
    full_env.pop("OPENAI_BASE_URL", None)
    full_env.pop("RAY_ADDRESS", None)
    cmd = " ".join(f'"{a}"' for a in (sys.executable, *argv))
    try:
        proc = subprocess.run(
            ["unshare", "-n", "sh", "-c", f"ip link set lo up 2>/dev/null; exec {cmd}"],
            cwd=tmp_path,
            env=full_env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"{argv} did not finish within {timeout:g} s: {exc.stdout!r} {exc.stderr!r}")
    pids = Path(f"{report}.pids")
    return Isolated(
        proc.returncode,
        proc.stdout + proc.stderr,
        report.read_text().splitlines() if report.exists() else [],
        pids.read_text().splitlines() if pids.exists() else [],
    )
