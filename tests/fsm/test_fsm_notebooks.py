"""The graph notebooks run headless in a real kernel and show what they promise."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"

pytestmark = pytest.mark.slow


def execute(name: str, cwd: Path) -> Any:
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    assert all(
        not c.get("outputs") and c.get("execution_count") is None
        for c in nb.cells
        if c.cell_type == "code"
    ), f"{name} must be committed without outputs"
    NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": cwd}}
    ).execute()
    return nb


def outputs(nb: Any) -> list[dict[str, Any]]:
    return [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]


def test_draw_workflow_notebook(tmp_path: Path) -> None:
    nb = execute("draw_workflow.ipynb", tmp_path)
    outs = outputs(nb)
    svgs = [o["data"]["image/svg+xml"] for o in outs if "image/svg+xml" in o.get("data", {})]
    assert len(svgs) == 1
    assert all(f">{agent}<" in svgs[0] for agent in ("desk", "billing", "verify"))
    text = "".join(o.get("text", "") for o in outs if o["output_type"] == "stream")
    assert "workflow from desk" in text and "stateDiagram-v2" in text
    assert "agent 'desk', tool 'opening_hours'" in text and "[no-description]" in text
    for name in ("workflow.svg", "workflow.mmd", "workflow.dot"):
        assert (tmp_path / name).stat().st_size > 0


def test_watch_session_notebook_updates_the_view_in_place(tmp_path: Path) -> None:
    nb = execute("watch_session.ipynb", tmp_path)
    outs = outputs(nb)
    live = [o for o in outs if o["output_type"] == "display_data"]
    assert len(live) == 1, "the live view is one output, updated in place"
    svg = live[0]["data"]["image/svg+xml"]  # no longer the not-started placeholder
    assert all(f">{agent}<" in svg for agent in ("desk", "billing", "verify"))
    assert "#ffd8a8" in svg  # the current agent is highlighted
    text = "".join(o.get("text", "") for o in outs if o["output_type"] == "stream")
    # current agent, and one redraw per change: start, task call, task return, to_billing
    assert "billing 4" in text
    assert "▶ billing" in text and "to_billing ×1 → billing" in text
    assert "verify (task) ×1" in text
    assert "[]" in text.splitlines()  # no findings


def test_build_draw_test_notebook(tmp_path: Path) -> None:
    nb = execute("build_draw_test.ipynb", tmp_path)
    outs = outputs(nb)
    svgs = [o["data"]["image/svg+xml"] for o in outs if "image/svg+xml" in o.get("data", {})]
    assert len(svgs) == 2  # the static graph, then the one with the call's path
    for svg in svgs:
        assert all(f">{agent}<" in svg for agent in ("customer_service", "billing", "tech_support"))
    text = "".join(o.get("text", "") for o in outs if o["output_type"] == "stream")
    assert "findings: []" in text
    assert "ended with tech_support" in text
    assert "handoff to billing as expected" in text
    assert "no failure found" in text
