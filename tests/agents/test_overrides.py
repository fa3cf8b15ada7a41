"""Per-agent plugin overrides: inherit the session's, use your own, or switch it off."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest

from voxfsm.agents import NOT_GIVEN, Agent, AgentSession, function_tool
from voxfsm.agents.llm import ScriptedLLM, call, reply


class Expert(Agent):
    def __init__(self, llm: Any = NOT_GIVEN) -> None:
        super().__init__(instructions="expert", llm=llm)

    @function_tool
    async def back(self) -> Generalist:
        """Back to the generalist."""
        return Generalist()


class Generalist(Agent):
    def __init__(self, expert_llm: Any = NOT_GIVEN) -> None:
        super().__init__(instructions="generalist")
        self.expert_llm = expert_llm

    @function_tool
    async def ask_expert(self) -> tuple[Expert, str]:
        """Hand the question to the expert."""
        return Expert(llm=self.expert_llm), "asking the expert"


def session_llm() -> ScriptedLLM:
    return ScriptedLLM(
        {
            "hard question": call("ask_expert"),
            "asking the expert": reply("Let me get the expert"),
            "thanks": call("back"),
        },
        default=reply("generalist answer"),
    )


def instructions_seen(llm: ScriptedLLM) -> list[str]:
    return [r.chat_ctx.items[0].text_content for r in llm.requests]


async def test_an_agents_own_llm_is_used_only_while_it_is_active() -> None:
    shared = session_llm()
    own = ScriptedLLM({"thanks": call("back")}, default=reply("expert answer"))
    async with AgentSession(llm=shared) as session:
        await session.start(Generalist(expert_llm=own))
        await session.run(user_input="hard question")
        result = await session.run(user_input="what is entropy?")
        assert result.expect.next_event().is_message().event().item.text_content == (
            "expert answer"
        )
        await session.run(user_input="thanks")
        result = await session.run(user_input="and now?")
        assert result.expect.next_event().is_message().event().item.text_content == (
            "generalist answer"
        )

    assert set(instructions_seen(own)) == {"expert"}
    assert set(instructions_seen(shared)) == {"generalist"}
    # the generalist's follow-up to its own handoff used the generalist's (session) LLM
    assert "asking the expert" in [r.last_text for r in shared.requests]


async def test_not_given_inherits_the_sessions_llm() -> None:
    shared = session_llm()
    async with AgentSession(llm=shared) as session:
        await session.start(Generalist())
        await session.run(user_input="hard question")
        await session.run(user_input="what is entropy?")
    assert instructions_seen(shared)[-1] == "expert"
    assert Expert().llm is NOT_GIVEN


async def test_none_disables_the_llm_for_that_agent() -> None:
    shared = session_llm()
    async with AgentSession(llm=shared) as session:
        await session.start(Generalist(expert_llm=None))
        await session.run(user_input="hard question")
        before = len(shared.requests)
        expert = session.current_agent
        assert expert.llm is None
        with contextlib.suppress(RuntimeError):  # no LLM may also be reported as an error
            await session.run(user_input="what is entropy?")
        assert len(shared.requests) == before
        assert not [m for m in expert.chat_ctx.messages() if m.role == "assistant"]


@pytest.mark.parametrize(
    ("kind", "spec"),
    [
        ("tts", "elevenlabs:rachel"),
        ("stt", "deepgram/nova-2"),
        ("llm", "anthropic/claude:fast"),
        ("vad", "deepgram-vad"),
    ],
)
def test_an_unknown_provider_fails_at_construction_listing_the_known_ones(
    kind: str, spec: str
) -> None:
    with pytest.raises(ValueError) as failure:
        Agent(instructions="x", **{kind: spec})
    message = str(failure.value)
    assert spec.split(":")[0].split("/")[0] in message
    for known in ("pyttsx3", "vosk"):
        assert known in message


def test_an_unknown_provider_on_the_session_fails_too() -> None:
    with pytest.raises(ValueError, match="pyttsx3"):
        AgentSession(tts="azure:jenny")


def test_a_known_provider_string_resolves_to_an_instance() -> None:
    from voxfsm.agents.llm import OpenAILLM

    agent = Agent(instructions="x", llm="llamacpp/qwen2.5-0.5b-instruct")
    assert isinstance(agent.llm, OpenAILLM)


def test_instances_are_kept_as_given() -> None:
    llm = ScriptedLLM({})
    marker = object()
    agent = Agent(instructions="x", llm=llm, tts=marker, stt=None)
    assert agent.llm is llm
    assert agent.tts is marker
    assert agent.stt is None
    assert agent.vad is NOT_GIVEN
