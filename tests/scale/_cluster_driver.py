"""Driver for the cluster test: keeps a Ray cluster up while `voxfsm eval --address` joins it.

Argv: the report folder, then the scenario paths.  Exits with the command's exit code.
"""

from __future__ import annotations

import subprocess
import sys

import ray

out, *scenarios = sys.argv[1:]
ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
try:
    address = ray.get_runtime_context().gcs_address
    cmd = [sys.executable, "-m", "voxfsm.io.cli", "eval", ".", *scenarios]
    cmd += ["--workers", "2", "--address", address, "--out", out]
    code = subprocess.run(cmd, timeout=400).returncode
finally:
    ray.shutdown()
sys.exit(code)
