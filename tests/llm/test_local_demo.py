"""``voxfsm demo`` with the real model: Qwen2.5-Coder-1.5B decides every step of the call.

The simulated caller says the fixed lines of ``restaurant.DEMO_TURNS``; the model must route
them through the whole call — greeter → takeaway (two items added) → checkout (card saved,
payment confirmed) → greeter. Slow (a few minutes on 2 idle cores, much longer on a busy
machine); needs ``bash .ci/install`` (llama-cpp-python and the assembled model).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from voxfsm.agents.llm.local import local_llm_unavailable
from voxfsm.io.cli import main

pytestmark = [pytest.mark.llama, pytest.mark.slow]

HANDOFFS = [
    (None, "greeter"),
    ("greeter", "takeaway"),
    ("takeaway", "checkout"),
    ("checkout", "greeter"),
]


def test_the_real_model_completes_the_restaurant_call(tmp_path: Path) -> None:
    why = local_llm_unavailable()
    if why:
        pytest.fail(f"{why} (or deselect with -m 'not llama')")
    assert main(["demo", "--text", "--out", str(tmp_path)]) == 0
    data = json.loads((tmp_path / "transcript.json").read_text())
    history = data["history"]
    handoffs = [
        (i["old_agent_id"], i["new_agent_id"]) for i in history if i.get("type") == "agent_handoff"
    ]
    assert handoffs == HANDOFFS
    ran = [i["name"] for i in history if "output" in i and not i.get("is_error")]
    for tool in ("to_takeaway", "add_to_order", "to_checkout", "update_credit_card"):
        assert tool in ran, ran
    assert ran.count("confirm_checkout") == 1
    assert data["final_agent"] == "greeter"
