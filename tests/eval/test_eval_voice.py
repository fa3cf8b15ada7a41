"""Voice mode: a scenario's caller speaks through the real voice loop (Piper → Whisper)."""

from __future__ import annotations

import asyncio

import pytest

from voxfsm.io.eval import EvalOptions, Expect, Scenario, run_scenario

pytestmark = pytest.mark.voice


def test_a_voice_scenario_goes_through_speech_recognition_and_is_judged_the_same() -> None:
    sc = Scenario(
        "voice-takeaway",
        mode="voice",
        lines=("Hi, I'd like to order takeaway please.", "Two pizzas and a coffee please."),
        expect=Expect(
            path=("greeter", "takeaway"),
            tools=("add_to_order",),
            userdata={"order.pizza": 2, "order.coffee": 1},
        ),
    )
    r = asyncio.run(run_scenario("voxfsm.examples.restaurant", sc, EvalOptions(turn_timeout=60)))
    # what recognition heard comes first in the message: the whole transcript gets truncated
    heard = [e["text"].lower() for e in r.transcript if e["kind"] == "user"]
    assert r.passed, (heard, r.reasons, r.transcript)
    assert r.turns == 2
    assert "takeaway" in heard[0].replace(" ", "") and "pizza" in heard[1]
    # the voice loop's per-turn timings are in the latencies beside the LLM's
    assert {"voice_stt_final", "voice_tts_first_audio"} <= set(r.latencies), r.latencies
    assert len(r.latencies["voice_tts_first_audio"]) >= 2
