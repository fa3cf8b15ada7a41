"""``AgentTask``: a temporary handoff that returns a result to the agent that awaited it."""

from __future__ import annotations

from typing import Any

import pytest

from voxfsm.agents import (
    Agent,
    AgentHandoff,
    AgentSession,
    AgentTask,
    ChatContext,
    ChatMessage,
    FunctionCall,
    FunctionCallOutput,
    RunContext,
    ToolError,
    function_tool,
)
from voxfsm.agents.llm import ScriptedLLM, call, reply


class CollectEmail(AgentTask[str]):
    def __init__(self, log: list[str]) -> None:
        super().__init__(instructions="collect the caller's email")
        self.log = log

    async def on_enter(self) -> None:
        self.log.append("task.on_enter")
        await self.session.generate_reply(instructions="ask for the email")

    async def on_exit(self) -> None:
        self.log.append("task.on_exit")

    @function_tool
    async def email_given(self, email: str) -> None:
        """The caller told us their email."""
        self.log.append("task.email_given")
        self.complete(email)

    @function_tool
    async def caller_refused(self) -> None:
        """The caller will not give an email."""
        self.complete(ToolError("the caller refused to give an email"))

    @function_tool
    async def give_up(self) -> None:
        """Something broke."""
        self.complete(RuntimeError("mail server exploded"))


class Signup(Agent):
    def __init__(self, log: list[str]) -> None:
        super().__init__(instructions="sign people up")
        self.log = log
        self.result: Any = None

    async def on_enter(self) -> None:
        self.log.append("caller.on_enter")

    async def on_exit(self) -> None:
        self.log.append("caller.on_exit")

    @function_tool
    async def register(self) -> str:
        """Register the caller; needs their email first."""
        self.log.append("caller.register.start")
        email = await CollectEmail(self.log)
        self.log.append("caller.register.resumed")
        self.result = email
        return f"registered {email}"


def signup_llm() -> ScriptedLLM:
    return ScriptedLLM(
        {
            "sign me up": call("register"),
            "ask for the email": reply("What is your email?"),
            "ada@example.org": call("email_given", email="ada@example.org"),
            "no way": call("caller_refused"),
            "oops": call("give_up"),
            "registered ada@example.org": reply("You are registered"),
        },
        default=reply("Sorry about that"),
    )


def labels(items: list[Any]) -> list[str]:
    out = []
    for item in items:
        if isinstance(item, ChatMessage):
            out.append(f"{item.role}:{item.text_content}")
        elif isinstance(item, FunctionCall):
            out.append(f"call:{item.name}")
        elif isinstance(item, FunctionCallOutput):
            out.append(f"output:{item.name}={item.output}")
        elif isinstance(item, AgentHandoff):
            out.append(f"handoff:{item.old_agent_id}->{item.new_agent_id}")
    return out


async def test_the_run_that_starts_a_task_completes_once_the_task_has_entered() -> None:
    log: list[str] = []
    async with AgentSession(llm=signup_llm()) as session:
        caller = Signup(log)
        await session.start(caller)
        result = await session.run(user_input="sign me up")

        assert labels([ev.item for ev in result.events]) == [
            "call:register",
            "handoff:signup->collect_email",
            "assistant:What is your email?",
        ]
        assert log == ["caller.on_enter", "caller.register.start", "task.on_enter"]
        task = session.current_agent
        assert isinstance(task, CollectEmail)
        assert session.machine.state == "collect_email"
        # the caller is paused, not exited: it cannot be activated meanwhile
        with pytest.raises(RuntimeError):
            session.update_agent(caller)
        assert session.current_agent is task


async def test_completing_the_task_returns_control_and_the_result_to_the_caller() -> None:
    log: list[str] = []
    async with AgentSession(llm=signup_llm()) as session:
        caller = Signup(log)
        await session.start(caller)
        await session.run(user_input="sign me up")
        log.clear()
        result = await session.run(user_input="ada@example.org")

        assert labels([ev.item for ev in result.events]) == [
            "call:email_given",
            "output:email_given=",
            "handoff:collect_email->signup",
            "output:register=registered ada@example.org",
            "assistant:You are registered",
        ]
        # the task exits before the caller resumes; the caller is not entered again
        assert log == ["task.email_given", "task.on_exit", "caller.register.resumed"]
        assert caller.result == "ada@example.org"
        assert session.current_agent is caller
        assert session.machine.state == "signup"


async def test_the_tasks_messages_merge_into_the_caller_without_its_function_calls() -> None:
    log: list[str] = []
    async with AgentSession(llm=signup_llm()) as session:
        caller = Signup(log)
        await session.start(caller)
        await session.run(user_input="sign me up")
        await session.run(user_input="ada@example.org")

        mine = labels(caller.chat_ctx.items)
        assert mine == [
            "system:sign people up",
            "user:sign me up",
            "call:register",
            "assistant:What is your email?",
            "user:ada@example.org",
            "output:register=registered ada@example.org",
            "assistant:You are registered",
        ]
        assert "call:email_given" not in mine
        assert "system:collect the caller's email" not in mine
        assert sum(1 for i in caller.chat_ctx.items if i.id == "voxfsm.instructions") == 1

        handoffs = [
            (h.old_agent_id, h.new_agent_id)
            for h in session.history.items
            if isinstance(h, AgentHandoff)
        ]
        assert handoffs == [
            (None, "signup"),
            ("signup", "collect_email"),
            ("collect_email", "signup"),
        ]
        # history keeps everything, including the task's own tool call
        assert "call:email_given" in labels(session.history.items)


@pytest.mark.parametrize(
    ("utterance", "output"),
    [
        ("no way", "the caller refused to give an email"),
        ("oops", "An internal error occurred"),
    ],
    ids=["tool-error", "other-exception"],
)
async def test_a_task_completed_with_an_exception_becomes_the_awaiting_tools_error(
    utterance: str, output: str
) -> None:
    log: list[str] = []
    async with AgentSession(llm=signup_llm()) as session:
        caller = Signup(log)
        await session.start(caller)
        await session.run(user_input="sign me up")
        result = await session.run(user_input=utterance)

        result.expect.next_event().is_function_call()
        result.expect.next_event().is_function_call_output()
        result.expect.next_event().is_agent_handoff(new_agent_type=Signup)
        result.expect.next_event().is_function_call_output(output=output, is_error=True)
        result.expect.next_event().is_message(role="assistant")
        result.expect.no_more_events()
        assert "caller.register.resumed" not in log
        assert session.current_agent is caller


async def test_awaiting_a_task_outside_a_session_is_an_error() -> None:
    with pytest.raises(RuntimeError):
        await CollectEmail([])


async def test_a_task_completes_only_once() -> None:
    task = CollectEmail([])
    task.complete("first")
    assert task.done()
    with pytest.raises(RuntimeError):
        task.complete("second")


class Survey(Agent):
    """Starts a task straight from on_enter."""

    def __init__(self, log: list[str]) -> None:
        super().__init__(instructions="survey")
        self.log = log
        self.email: str | None = None

    async def on_enter(self) -> None:
        self.log.append("survey.on_enter")
        self.email = await CollectEmail(self.log)
        self.log.append("survey.got_email")


async def test_a_task_awaited_in_on_enter_returns_its_result_there() -> None:
    log: list[str] = []
    async with AgentSession(llm=signup_llm()) as session:
        survey = Survey(log)
        await session.start(survey)
        assert isinstance(session.current_agent, CollectEmail)
        result = await session.run(user_input="ada@example.org")

        result.expect.next_event().is_function_call(name="email_given")
        result.expect.next_event().is_function_call_output()
        result.expect.next_event().is_agent_handoff(new_agent_type=Survey)
        assert survey.email == "ada@example.org"
        assert session.current_agent is survey
        assert log.count("survey.on_enter") == 1
        assert log[-1] == "survey.got_email"


# --------------------------------------------------------------------------- tasks that go wrong


class BrokenTask(AgentTask[str]):
    def __init__(self) -> None:
        super().__init__(instructions="broken task")

    async def on_enter(self) -> None:
        raise ToolError("the form could not be opened")


class FormFiller(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="form filler")
        self.entries = 0

    async def on_enter(self) -> None:
        self.entries += 1

    @function_tool(handoff=BrokenTask)
    async def open_form(self) -> str:
        """Open the form."""
        return await BrokenTask()


async def test_a_task_that_raises_in_on_enter_returns_an_error_to_the_caller() -> None:
    llm = ScriptedLLM({"form": call("open_form")}, default=reply("Sorry, no form today"))
    async with AgentSession(llm=llm) as session:
        filler = FormFiller()
        await session.start(filler)
        result = await session.run(user_input="form")

        result.expect.next_event().is_function_call(name="open_form")
        result.expect.next_event().is_agent_handoff(new_agent_type=BrokenTask)
        result.expect.next_event().is_agent_handoff(new_agent_type=FormFiller)
        result.expect.next_event().is_function_call_output(
            output="the form could not be opened", is_error=True
        )
        result.expect.next_event().is_message(role="assistant")
        result.expect.no_more_events()
        assert session.current_agent is filler
        assert session.machine.state == "form_filler"
        assert filler.entries == 1
        assert filler.session is session


# --------------------------------------------------------------------------- nesting


class InnerTask(AgentTask[str]):
    def __init__(self) -> None:
        super().__init__(instructions="inner")

    async def on_enter(self) -> None:
        self.session.say("inner here")

    @function_tool
    async def finish_inner(self) -> None:
        """Done with the inner task."""
        self.complete("inner result")


class OuterTask(AgentTask[str]):
    def __init__(self) -> None:
        super().__init__(instructions="outer")

    async def on_enter(self) -> None:
        self.session.say("outer here")

    @function_tool(handoff=InnerTask)
    async def go_inner(self) -> str:
        """Needs the inner task."""
        return f"inner gave {await InnerTask()}"

    @function_tool
    async def finish_outer(self) -> None:
        """Done with the outer task."""
        self.complete("outer result")

    @function_tool
    async def back_to_caller(self, ctx: RunContext) -> Agent:
        """Try to hand off to the paused caller (not allowed)."""
        caller: Agent = ctx.userdata
        return caller


class Boss(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="boss")

    @function_tool(handoff=OuterTask)
    async def delegate(self) -> str:
        """Delegate to the outer task."""
        return f"outer gave {await OuterTask()}"


def nesting_llm() -> ScriptedLLM:
    return ScriptedLLM(
        {
            "delegate": call("delegate"),
            "go inner": call("go_inner"),
            "inner done": call("finish_inner"),
            "outer done": call("finish_outer"),
            "go back": call("back_to_caller"),
        },
        default=reply("ok"),
    )


async def test_tasks_can_nest_and_unwind_one_level_at_a_time() -> None:
    boss = Boss()
    async with AgentSession(llm=nesting_llm(), userdata=boss) as session:
        await session.start(boss)
        await session.run(user_input="delegate")
        await session.run(user_input="go inner")
        assert isinstance(session.current_agent, InnerTask)

        result = await session.run(user_input="inner done")
        assert labels([ev.item for ev in result.events]) == [
            "call:finish_inner",
            "output:finish_inner=",
            "handoff:inner_task->outer_task",
            "output:go_inner=inner gave inner result",
            "assistant:ok",
        ]
        assert isinstance(session.current_agent, OuterTask)

        result = await session.run(user_input="outer done")
        assert labels([ev.item for ev in result.events]) == [
            "call:finish_outer",
            "output:finish_outer=",
            "handoff:outer_task->boss",
            "output:delegate=outer gave outer result",
            "assistant:ok",
        ]
        assert session.current_agent is boss
        assert "assistant:inner here" in labels(boss.chat_ctx.items)


async def test_a_task_cannot_hand_off_to_its_paused_caller() -> None:
    boss = Boss()
    async with AgentSession(llm=nesting_llm(), userdata=boss) as session:
        await session.start(boss)
        await session.run(user_input="delegate")
        task = session.current_agent
        result = await session.run(user_input="go back")

        result.expect.next_event().is_function_call(name="back_to_caller")
        result.expect.next_event().is_function_call_output(is_error=True)
        assert not [ev for ev in result.events if ev.type == "agent_handoff"]
        assert session.current_agent is task
        # and the task still finishes normally afterwards
        result = await session.run(user_input="outer done")
        result.expect.contains_function_call_output(output="outer gave outer result")
        assert session.current_agent is boss


# ----------------------------------------------------------------- a task in a parallel step


class Booker(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="booker")

    @function_tool(handoff=CollectEmail)
    async def book(self) -> str:
        """Book, after collecting an email."""
        return f"booked for {await CollectEmail([])}"

    @function_tool
    async def price(self) -> str:
        """The price."""
        return "40 euros"


async def test_a_task_started_next_to_another_call_waits_for_the_user() -> None:
    llm = ScriptedLLM(
        {
            "book and price": [call("book"), call("price")],
            "ask for the email": reply("What is your email?"),
            "ada@example.org": call("email_given", email="ada@example.org"),
        },
        default=reply("Booked, 40 euros"),
    )
    async with AgentSession(llm=llm) as session:
        booker = Booker()
        await session.start(booker)
        first = await session.run(user_input="book and price")

        assert labels([ev.item for ev in first.events]) == [
            "call:book",
            "call:price",
            "handoff:booker->collect_email",
            "assistant:What is your email?",
        ]
        assert isinstance(session.current_agent, CollectEmail)

        second = await session.run(user_input="ada@example.org")
        assert labels([ev.item for ev in second.events]) == [
            "call:email_given",
            "output:email_given=",
            "handoff:collect_email->booker",
            "output:book=booked for ada@example.org",
            "output:price=40 euros",
            "assistant:Booked, 40 euros",
        ]
        assert session.current_agent is booker


class Quiz(AgentTask[str]):
    def __init__(self, chat_ctx: ChatContext | None = None) -> None:
        super().__init__(instructions="quiz", chat_ctx=chat_ctx)

    async def on_enter(self) -> None:
        await self.session.generate_reply(instructions="ask the question")

    @function_tool
    async def answered(self) -> None:
        """The user answered."""
        self.complete("42")


class Teacher(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="teacher")

    @function_tool(handoff=Quiz)
    async def quiz(self) -> str:
        """Quiz the student, who keeps the conversation so far."""
        return f"answer was {await Quiz(chat_ctx=self.chat_ctx)}"


async def test_a_task_with_the_callers_context_merges_back_without_duplicates() -> None:
    llm = ScriptedLLM(
        {
            "quiz me": call("quiz"),
            "ask the question": reply("What is six times seven?"),
            "42": call("answered"),
        },
        default=reply("ok"),
    )
    async with AgentSession(llm=llm) as session:
        teacher = Teacher()
        await session.start(teacher)
        await session.run(user_input="hello")
        await session.run(user_input="quiz me")

        quiz_request = llm.requests[-1]
        assert quiz_request.chat_ctx.items[0].text_content == "quiz"
        assert "user:hello" in labels(quiz_request.chat_ctx.items)

        await session.run(user_input="42")
        assert session.current_agent is teacher
        ids = [i.id for i in teacher.chat_ctx.items]
        assert len(ids) == len(set(ids))
        mine = labels(teacher.chat_ctx.items)
        assert mine.count("user:hello") == 1
        assert "assistant:What is six times seven?" in mine
        assert "user:42" in mine
        assert mine[0] == "system:teacher"
