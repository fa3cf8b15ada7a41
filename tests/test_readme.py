"""The README's quick start is run as written, so it cannot rot."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def _python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_the_quick_start_runs_and_its_assertions_hold(tmp_path: Path) -> None:
    quick_start = next(b for b in _python_blocks() if "asyncio.run(main())" in b)
    script = tmp_path / "quick_start.py"
    script.write_text(quick_start + "\nprint('quick start ok')\n")
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "quick start ok" in out.stdout


def test_the_set_up_commands_match_what_ci_runs() -> None:
    text = README.read_text()
    ci = (README.parent / ".ci" / "run").read_text()
    test_command = ".venv/bin/python -m pytest"
    assert f"\n{test_command}" in text and f"\n{test_command}\n" in ci
    assert "bash .ci/install && .venv/bin/voxfsm demo" in text
