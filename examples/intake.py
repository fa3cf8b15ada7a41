"""Intake: collect the caller's name and age, then hand over to the service agent.

Graph: Intake → Service (``finish_intake``, only once both name and age are known).
Service is the end state (``terminal = True``): it recommends classes suited to the caller.
"""

from __future__ import annotations

import re
from typing import Annotated

import attrs

from voxfsm.agents import Agent, AgentSession, RunContext, ToolError, function_tool
from voxfsm.agents.llm import call, reply
from voxfsm.examples._demo import Rules, demo_llm


@attrs.define
class IntakeData:
    """What intake collects; ``None`` until the caller has said it."""

    name: str | None = None
    age: int | None = None

    def missing(self) -> list[str]:
        return [field for field in ("name", "age") if getattr(self, field) is None]


Ctx = RunContext[IntakeData]

# Classes of the community sports centre, with the ages they accept.
CLASSES: dict[str, tuple[int, int]] = {
    "junior swimming": (5, 12),
    "teen climbing": (13, 17),
    "adult yoga": (18, 120),
    "masters swimming": (50, 120),
}

GREET_INTAKE = "Welcome the caller to the sports centre and ask for their name and age."
GREET_SERVICE = "Greet the caller by name and offer to suggest classes suited to their age."


class Intake(Agent):
    """Collects the caller's name and age."""

    def __init__(self) -> None:
        super().__init__(
            instructions=(
                "You register callers for the Riverside sports centre. Ask for their name and "
                "their age, record each with its tool as soon as you hear it, and when both are "
                "recorded finish the intake. Keep answers short: they are spoken aloud."
            )
        )

    async def on_enter(self) -> None:
        await self.session.generate_reply(instructions=GREET_INTAKE)

    @function_tool
    async def record_name(self, ctx: Ctx, name: Annotated[str, "The caller's name"]) -> str:
        """Record the caller's name."""
        if not name.strip():
            raise ToolError("The name is empty; ask the caller for their name.")
        ctx.userdata.name = name.strip()
        return _progress(ctx.userdata, f"Recorded the name {ctx.userdata.name}.")

    @function_tool
    async def record_age(self, ctx: Ctx, age: Annotated[int, "The caller's age in years"]) -> str:
        """Record the caller's age."""
        if not 1 <= age <= 120:
            raise ToolError(f"{age} is not a plausible age; ask the caller again.")
        ctx.userdata.age = age
        return _progress(ctx.userdata, f"Recorded the age {age}.")

    @function_tool
    async def finish_intake(self, ctx: Ctx) -> tuple[Service, str]:
        """Hand the caller to the service agent once their name and age are recorded."""
        missing = ctx.userdata.missing()
        if missing:
            raise ToolError(
                f"Cannot finish the intake: the caller's {' and '.join(missing)} "
                f"{'is' if len(missing) == 1 else 'are'} not recorded yet. Ask for "
                f"{'it' if len(missing) == 1 else 'them'} first."
            )
        return Service(), "Intake complete. Transferring to the service desk."


def _progress(data: IntakeData, done: str) -> str:
    # Tell the LLM what is still needed so it does not finish the intake too early.
    missing = data.missing()
    still = f" Still needed: {' and '.join(missing)}." if missing else " Name and age are known."
    return done + still


class Service(Agent):
    """Helps a registered caller choose classes; the end of this workflow."""

    terminal = True

    def __init__(self) -> None:
        super().__init__(
            instructions=(
                "You help registered callers of the Riverside sports centre choose classes. "
                "Use your tool to find classes for their age; never offer a class it does not "
                "list. Keep answers short: they are spoken aloud."
            )
        )

    async def on_enter(self) -> None:
        await self.session.generate_reply(instructions=GREET_SERVICE)

    @function_tool
    async def suggest_classes(self, ctx: Ctx) -> str:
        """List the classes the caller's age allows."""
        age = ctx.userdata.age
        if age is None:  # reachable only if userdata was changed behind intake's back
            raise ToolError("The caller's age is unknown; ask for it.")
        fits = [name for name, (low, high) in CLASSES.items() if low <= age <= high]
        if not fits:
            return f"No class fits age {age}."
        return f"Classes for age {age}: {', '.join(fits)}."


entry = Intake

DEMO_TURNS: list[str] = [
    "Hello, my name is Priya Shah.",
    "I'm 54.",
    "Yes, what classes can I take?",
    "Great, thanks, bye!",
]


def _demo_script() -> Rules:
    i = re.IGNORECASE
    return [
        (GREET_INTAKE, reply("Welcome to Riverside sports centre! May I have your name and age?")),
        (GREET_SERVICE, reply("Hi Priya, you're registered. Shall I suggest some classes?")),
        (re.compile(r"^Recorded .*Still needed"), reply("Thanks. And how old are you?")),
        (re.compile(r"^Recorded .*are known"), call("finish_intake")),
        (re.compile(r"^Intake complete"), reply("You're all set, let me pass you on.")),
        (re.compile(r"^Classes for age"), reply("You could join adult yoga or masters swimming.")),
        (re.compile(r"\b(good ?bye|bye)\b", i), reply("Enjoy your classes. Goodbye!")),
        (
            re.compile(r"\b(my name is|this is|call me)\b", i),
            call("record_name", name="Priya Shah"),
        ),
        # an age as digits or as the words a recognizer writes ("fifty four")
        (
            re.compile(r"\b(\d+|(twen|thir|for|fif|six|seven|eigh|nine)ty|years? old)\b", i),
            call("record_age", age=54),
        ),
        (re.compile(r"\b(class|classes|yes|sure)\b", i), call("suggest_classes")),
    ]


def make_session() -> AgentSession[IntakeData]:
    """A fresh session for one call: empty userdata and the scripted demo LLM."""
    llm = demo_llm(_demo_script())
    return AgentSession(llm=llm, userdata=IntakeData())
