"""A port of the shape of LiveKit's multi-agent story example: an intro agent gathers the
caller's details into typed userdata, hands off to a storyteller that receives the context,
and the storyteller ends the call."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from voxfsm.agents import Agent, AgentSession, RunContext, function_tool
from voxfsm.agents.chat import item_text
from voxfsm.agents.llm import ChatContext, FunctionTool, ScriptedLLM, call, reply
from voxfsm.agents.llm.scripted import Response


@dataclass
class StoryData:
    name: str | None = None
    location: str | None = None


class IntroAgent(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="Ask the caller's name and where they live.")

    async def on_enter(self) -> None:
        self.session.generate_reply()

    @function_tool
    async def information_gathered(
        self, context: RunContext[StoryData], name: str, location: str
    ):  # no return annotation, as in the original
        """Call once the caller gave their name and location.

        Args:
            name: The caller's name.
            location: Where the caller lives.
        """
        context.userdata.name = name
        context.userdata.location = location
        story_agent = StoryAgent(name, location, chat_ctx=self.chat_ctx)
        return story_agent, "Let's start the story!"


class StoryAgent(Agent):
    def __init__(self, name: str, location: str, *, chat_ctx: ChatContext | None = None) -> None:
        super().__init__(
            instructions=f"Tell {name} from {location} a story.",
            chat_ctx=chat_ctx,
            turn_detection="vad",
            allow_interruptions=True,
        )

    async def on_enter(self) -> None:
        self.session.generate_reply()

    @function_tool
    async def story_finished(self, context: RunContext[StoryData]) -> None:
        """The story is over and the caller wants no more."""
        self.session.interrupt()
        await self.session.generate_reply(
            instructions=f"say goodbye to {context.userdata.name}", allow_interruptions=False
        )
        context.session.shutdown()


SCRIPT = {
    "Ask the caller's name and where they live.": reply("Hi! Who are you?"),
    "I'm Ada from Lyon": call("information_gathered", name="Ada", location="Lyon"),
    "Let's start the story!": reply("Wonderful, here we go."),
    "that was lovely, bye": call("story_finished"),
    "say goodbye to Ada": reply("Goodbye Ada!"),
}


def respond(chat_ctx: ChatContext, tools: Sequence[FunctionTool]) -> Response:
    # like a real model, the storyteller reads its own instructions, not the last line only
    system = chat_ctx.items[0].text_content if chat_ctx.items else ""
    last = item_text(chat_ctx.items[-1]) if chat_ctx.items else ""
    if system.startswith("Tell ") and last == "I'm Ada from Lyon":
        return reply("Once upon a time in Lyon...")
    if last == system:  # a reply with no new input: the agent opens
        return SCRIPT.get(system)
    return SCRIPT.get(last)


def story_llm() -> ScriptedLLM:
    return ScriptedLLM(respond)


async def test_the_story_flow_hands_off_with_context_and_ends_the_call() -> None:
    closed: list[str] = []
    async with story_llm() as llm:
        session = AgentSession[StoryData](llm=llm, userdata=StoryData(), preemptive_generation=True)
        session.on("close", lambda ev: closed.append(ev.reason))
        greeting = await session.start(IntroAgent(), capture_run=True)
        assert greeting is not None
        greeting.expect.next_event().is_agent_handoff(new_agent_type=IntroAgent)
        greeting.expect.next_event().is_message(role="assistant")

        result = await session.run(user_input="I'm Ada from Lyon")
        result.expect.next_event().is_function_call(
            name="information_gathered", arguments={"name": "Ada"}
        )
        result.expect.next_event().is_function_call_output()
        result.expect.next_event().is_message(role="assistant")
        result.expect.next_event().is_agent_handoff(new_agent_type=StoryAgent)
        result.expect.next_event().is_message(role="assistant")
        result.expect.no_more_events()
        assert session.userdata == StoryData("Ada", "Lyon")
        # the storyteller was given the intro's conversation
        story = session.current_agent
        assert any(
            getattr(m, "text_content", "") == "I'm Ada from Lyon" for m in story.chat_ctx.items
        )

        end = await session.run(user_input="that was lovely, bye")
        end.expect.contains_function_call(name="story_finished")
        end.expect.contains_message(role="assistant")
        for _ in range(100):
            if closed:
                break
            await __import__("asyncio").sleep(0.01)
        assert closed == ["closed"]
