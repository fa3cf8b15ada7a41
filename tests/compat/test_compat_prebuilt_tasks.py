"""The prebuilt tasks of ``beta.workflows``, used the way LiveKit's own tests use them."""

from __future__ import annotations

import asyncio
import re

import pytest

from voxfsm.agents import Agent, AgentSession, RunContext, beta, function_tool
from voxfsm.agents.llm import ScriptedLLM, ToolError, call, reply
from voxfsm.agents.voice.run_result import RunResult

EMAIL_LLM = {
    "Ask the user for their email address.": reply("What is your email address?"),
    "My email address is theo at example dot io": call(
        "update_email_address", email="theo@example.io"
    ),
    "I don't want to give my email address": call("decline_email_capture", reason="private"),
    "Yes": call("confirm_email_address"),
}


async def test_an_email_given_in_text_completes_the_task_as_the_runs_final_output() -> None:
    async with ScriptedLLM(EMAIL_LLM) as llm, AgentSession(llm=llm) as sess:
        await sess.start(beta.workflows.GetEmailTask())
        result = await sess.run(
            user_input="My email address is theo at example dot io",
            output_type=beta.workflows.GetEmailResult,
        )
        assert isinstance(result.final_output, beta.workflows.GetEmailResult)
        assert result.final_output.email_address == "theo@example.io"


async def test_spoken_input_needs_a_confirmation_before_the_task_completes() -> None:
    # the tool output asks for a read-back; the model reads the address back
    llm = ScriptedLLM(
        [*EMAIL_LLM.items(), (re.compile("^The email address is"), reply("theo@example.io?"))]
    )
    async with AgentSession(llm=llm) as sess:
        await sess.start(beta.workflows.GetEmailTask())
        first: RunResult[None] = await sess.run(
            user_input="My email address is theo at example dot io", input_modality="audio"
        )
        first.expect.contains_function_call(name="update_email_address")
        first.expect.contains_message(role="assistant")
        assert first.final_output is None
        result = await sess.run(
            user_input="Yes", input_modality="audio", output_type=beta.workflows.GetEmailResult
        )
        assert result.final_output.email_address == "theo@example.io"


async def test_declining_raises_the_tool_error_from_the_run() -> None:
    async with ScriptedLLM(EMAIL_LLM) as llm, AgentSession(llm=llm) as sess:
        await sess.start(beta.workflows.GetEmailTask())
        with pytest.raises(ToolError, match="private"):
            await sess.run(user_input="I don't want to give my email address")


async def test_an_invalid_address_is_a_tool_error_the_llm_sees_and_the_task_goes_on() -> None:
    llm = ScriptedLLM({"it is theo": call("update_email_address", email="theo")})
    async with AgentSession(llm=llm) as sess:
        await sess.start(beta.workflows.GetEmailTask())
        result = await sess.run(user_input="it is theo")
        result.expect.contains_function_call_output(is_error=True)
        assert isinstance(sess.current_agent, beta.workflows.GetEmailTask)


async def test_output_type_fails_the_run_when_no_task_completed() -> None:
    llm = ScriptedLLM({"hello": reply("Hi! What is your email?")})
    async with AgentSession(llm=llm) as sess:
        await sess.start(beta.workflows.GetEmailTask())
        with pytest.raises(RuntimeError, match="GetEmailResult"):
            await sess.run(user_input="hello", output_type=beta.workflows.GetEmailResult)
        # the session stays usable
        await sess.run(user_input="hello")


def dtmf_task(confirm: bool) -> beta.workflows.GetDtmfTask:
    return beta.workflows.GetDtmfTask(num_digits=10, ask_for_confirmation=confirm)


DIGITS = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "0"]


async def test_digits_without_confirmation() -> None:
    llm = ScriptedLLM(
        {"My account number is 1 2 3 4 5 6 7 8 9 0": call("record_inputs", inputs=DIGITS)}
    )
    async with AgentSession(llm=llm) as sess:
        await sess.start(dtmf_task(confirm=False))
        result = await sess.run(
            user_input="My account number is 1 2 3 4 5 6 7 8 9 0",
            output_type=beta.workflows.GetDtmfResult,
        )
        result.expect.contains_function_call(name="record_inputs", arguments={"inputs": DIGITS})
        assert result.final_output.user_input == "1 2 3 4 5 6 7 8 9 0"


async def test_digits_with_confirmation() -> None:
    llm = ScriptedLLM(
        [
            ("My account number is 1 2 3 4 5 6 7 8 9 0", call("record_inputs", inputs=DIGITS)),
            (re.compile("^The digits are"), reply("I have 1 2 3 4 5 6 7 8 9 0, correct?")),
            ("Yes, it's correct", call("confirm_inputs", inputs=DIGITS)),
        ]
    )
    async with AgentSession(llm=llm) as sess:
        await sess.start(dtmf_task(confirm=True))
        first = await sess.run(user_input="My account number is 1 2 3 4 5 6 7 8 9 0")
        first.expect.contains_message(role="assistant")
        result = await sess.run(
            user_input="Yes, it's correct", output_type=beta.workflows.GetDtmfResult
        )
        result.expect.contains_function_call(name="confirm_inputs", arguments={"inputs": DIGITS})
        assert result.final_output.user_input == "1 2 3 4 5 6 7 8 9 0"


async def test_wrong_number_of_digits_is_refused() -> None:
    llm = ScriptedLLM({"1 2 3": call("record_inputs", inputs=["1", "2", "3"])})
    async with AgentSession(llm=llm) as sess:
        await sess.start(dtmf_task(confirm=False))
        result = await sess.run(user_input="1 2 3")
        result.expect.contains_function_call_output(is_error=True)


class Intake(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="You register new patients.")

    @function_tool
    async def collect_details(self, ctx: RunContext) -> str:
        """Collect the caller's email and address."""
        group = beta.workflows.TaskGroup(summarize_chat_ctx=False)
        group.add(lambda: beta.workflows.GetEmailTask(), id="email", description="their email")
        group.add(
            lambda: beta.workflows.GetAddressTask(), id="address", description="their address"
        )
        results = (await group).task_results
        return f"{results['email'].email_address} / {results['address'].address}"


def group_llm() -> ScriptedLLM:
    return ScriptedLLM(
        [
            ("register me", call("collect_details")),
            ("Ask the user for their email address.", reply("Your email?")),
            ("Ask the user for their address.", reply("Your address?")),
            ("a@b.io", call("update_email_address", email="a@b.io")),
            ("c@d.io", call("update_email_address", email="c@d.io")),
            ("wait, my email is wrong", call("out_of_scope", task_ids=["email"])),
            (
                "1 Main St, Springfield, USA",
                call(
                    "update_address",
                    street_address="1 Main St",
                    locality="Springfield",
                    country="USA",
                ),
            ),
            (re.compile("@"), reply("You are registered.")),
        ]
    )


async def test_task_group_runs_its_tasks_in_order_and_returns_every_result() -> None:
    llm = group_llm()
    async with AgentSession(llm=llm) as sess:
        await sess.start(Intake())
        await sess.run(user_input="register me")
        assert isinstance(sess.current_agent, beta.workflows.GetEmailTask)
        await sess.run(user_input="a@b.io")
        assert isinstance(sess.current_agent, beta.workflows.GetAddressTask)
        result = await sess.run(user_input="1 Main St, Springfield, USA")
        result.expect.contains_function_call_output(output="a@b.io / 1 Main St, Springfield, USA")
        assert isinstance(sess.current_agent, Intake)


async def test_task_group_goes_back_to_an_earlier_task_when_the_user_asks() -> None:
    llm = group_llm()
    async with AgentSession(llm=llm) as sess:
        await sess.start(Intake())
        await sess.run(user_input="register me")
        await sess.run(user_input="a@b.io")
        # only the tasks after the first can go back
        assert "out_of_scope" in [t.name for t in sess.current_agent.tools]
        back = await sess.run(user_input="wait, my email is wrong")
        back.expect.contains_function_call(name="out_of_scope", arguments={"task_ids": ["email"]})
        assert isinstance(sess.current_agent, beta.workflows.GetEmailTask)
        await sess.run(user_input="c@d.io")
        assert isinstance(sess.current_agent, beta.workflows.GetAddressTask)
        result = await sess.run(user_input="1 Main St, Springfield, USA")
        result.expect.contains_function_call_output(output="c@d.io / 1 Main St, Springfield, USA")


class Reception(Agent):
    """Shaped like the hotel receptionist example: each detail is a dialog task."""

    def __init__(self) -> None:
        super().__init__(
            instructions=beta.Instructions("You book rooms.", audio="Speak briefly."),
            tools=[beta.EndCallTool(end_instructions="Say goodbye.")],
        )
        self.guest = ""

    @function_tool()
    async def open_name_dialog(self) -> str:
        """Collect the guest's first and last name."""
        r = await beta.workflows.GetNameTask(
            first_name=True, last_name=True, chat_ctx=self.chat_ctx
        )
        self.guest = f"{r.first_name} {r.last_name}"
        return f"name recorded: {self.guest}"

    @function_tool()
    async def open_phone_dialog(self) -> str:
        """Collect the guest's phone number."""
        r = await beta.workflows.GetPhoneNumberTask(extra_instructions="Digits only.")
        return f"phone recorded: {r.phone_number}"

    @function_tool()
    async def open_dob_dialog(self) -> str:
        """Collect the guest's date of birth."""
        r = await beta.workflows.GetDOBTask()
        return f"born {r.date_of_birth.isoformat()}"


async def test_name_phone_and_birth_dialogs_then_the_call_ends() -> None:
    llm = ScriptedLLM(
        [
            ("book me", call("open_name_dialog")),
            ("Ada Lovelace", call("update_name", first_name="Ada", last_name="Lovelace")),
            ("my phone", call("open_phone_dialog")),
            ("555 123 4567", call("update_phone_number", phone_number="555 123 4567")),
            ("my birthday", call("open_dob_dialog")),
            ("born on the tenth of December 1815", call("update_dob", year=1815, month=12, day=10)),
            ("next month", call("update_dob", year=2999, month=1, day=1)),
            ("bye", call("end_call")),
            ("Say goodbye.", reply("Goodbye!")),
        ],
        default=reply("Okay."),
    )
    closed: list[str] = []
    async with AgentSession(llm=llm) as sess:
        sess.on("close", lambda ev: closed.append(ev.reason))
        await sess.start(Reception())
        assert sess.current_agent.instructions == "You book rooms."
        await sess.run(user_input="book me")
        result = await sess.run(user_input="Ada Lovelace")
        result.expect.contains_function_call_output(output="name recorded: Ada Lovelace")
        await sess.run(user_input="my phone")
        result = await sess.run(user_input="555 123 4567")
        result.expect.contains_function_call_output(output="phone recorded: 5551234567")
        await sess.run(user_input="my birthday")
        future = await sess.run(user_input="next month")
        future.expect.contains_function_call_output(is_error=True)
        result = await sess.run(user_input="born on the tenth of December 1815")
        result.expect.contains_function_call_output(output="born 1815-12-10")
        end = await sess.run(user_input="bye")
        end.expect.contains_message(role="assistant")
        for _ in range(100):
            if closed:
                break
            await asyncio.sleep(0.01)
        assert closed == ["closed"]
