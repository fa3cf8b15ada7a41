"""Plugin strings of the wrong kind fail when the agent or session is built, naming the kind."""

from __future__ import annotations

import pytest

from voxfsm.agents import Agent, AgentSession


@pytest.mark.parametrize(
    ("kind", "value", "provides"),
    [("llm", "pyttsx3", "tts"), ("tts", "vosk", "stt"), ("stt", "webrtc", "vad")],
)
def test_a_provider_of_another_kind_is_refused_at_construction(
    kind: str, value: str, provides: str
) -> None:
    with pytest.raises(ValueError, match=f"'{value}' is a {provides} provider, not a {kind} one"):
        Agent(instructions="x", **{kind: value})
    with pytest.raises(ValueError, match=f"{kind} providers: "):
        AgentSession(**{kind: value})


def test_the_right_kind_still_resolves() -> None:
    from voxfsm.io.vad import WebRtcVAD

    assert isinstance(Agent(instructions="x", vad="webrtc").vad, WebRtcVAD)
