"""An agent's llm_node and transcription_node overrides shape its replies."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator

from voxfsm.agents import Agent, AgentSession, ModelSettings, function_tool
from voxfsm.agents.llm import ChatChunk, ChatContext, ChoiceDelta, FunctionTool, ScriptedLLM, reply


class Shouty(Agent):
    """Post-processes what the LLM says, keeping the default generation."""

    def __init__(self) -> None:
        super().__init__(instructions="shout")

    async def llm_node(
        self, chat_ctx: ChatContext, tools: list[FunctionTool], model_settings: ModelSettings
    ) -> AsyncIterator[str]:
        async for chunk in Agent.default.llm_node(self, chat_ctx, tools, model_settings):
            if chunk.delta.content:
                yield chunk.delta.content.upper()


class Canned(Agent):
    """Never asks the model: yields ChatChunks of its own."""

    def __init__(self) -> None:
        super().__init__(instructions="canned")

    async def llm_node(
        self, chat_ctx: ChatContext, tools: list[FunctionTool], model_settings: ModelSettings
    ) -> AsyncIterator[ChatChunk]:
        yield ChatChunk(delta=ChoiceDelta(content="We are "))
        yield ChatChunk(delta=ChoiceDelta(content="closed."))

    @function_tool
    async def noop(self) -> None:
        """Does nothing."""


class Polite(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="polite")

    async def transcription_node(
        self, text: AsyncIterable[str], model_settings: ModelSettings
    ) -> AsyncIterator[str]:
        async for piece in text:
            yield piece.replace("darn", "****")


async def test_an_llm_node_override_rewrites_the_reply() -> None:
    llm = ScriptedLLM({"hi": reply("hello there")})
    async with AgentSession(llm=llm) as session:
        await session.start(Shouty())
        result = await session.run(user_input="hi")
        assert (
            result.expect.next_event().is_message(role="assistant").event().item.text_content
            == "HELLO THERE"
        )


async def test_an_llm_node_may_replace_the_model_entirely() -> None:
    llm = ScriptedLLM({"hi": reply("never said")})
    async with AgentSession(llm=llm) as session:
        await session.start(Canned())
        result = await session.run(user_input="hi")
        msg = result.expect.next_event().is_message(role="assistant").event().item
        assert msg.text_content == "We are closed."
        assert llm.requests == []


async def test_a_transcription_node_changes_what_is_recorded() -> None:
    llm = ScriptedLLM({"hi": reply("oh darn")})
    async with AgentSession(llm=llm) as session:
        await session.start(Polite())
        result = await session.run(user_input="hi")
        assert result.expect.next_event().event().item.text_content == "oh ****"
        assert session.history.items[-1].text_content == "oh ****"
