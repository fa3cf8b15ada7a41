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


# ---------------------------------------------------------------- LiveKit's names and options


def test_prebuilt_tasks_accept_livekit_constructor_parameters() -> None:
    wf = beta.workflows
    # parameters real LiveKit code passes: never a TypeError
    wf.GetNameTask(True, True, False, name_format="{last_name}, {first_name}", verify_spelling=True)
    wf.GetPhoneNumberTask("Digits only.", require_confirmation=False, require_explicit_ask=True)
    wf.GetDOBTask("Be brief.", True, allow_interruptions=True, turn_detection="vad")
    wf.GetEmailTask(instructions="Get the email.", require_explicit_ask=True)
    wf.GetAddressTask(instructions="Get the address.", require_confirmation=True)
    wf.GetDtmfTask(num_digits=4, dtmf_input_timeout=2.0, extra_instructions="Say 4 digits.")
    wf.GetCreditCardTask(require_confirmation=False, extra_instructions="Card for the deposit.")


def test_the_llm_sees_livekits_tool_names() -> None:
    wf = beta.workflows

    def names(task: object) -> set[str]:
        return {t.name for t in task.tools}  # type: ignore[attr-defined]

    assert {"update_name", "confirm_name", "decline_name_capture"} <= names(wf.GetNameTask())
    assert {
        "update_phone_number",
        "confirm_phone_number",
        "decline_phone_number_capture",
    } <= names(wf.GetPhoneNumberTask())
    assert names(wf.GetDOBTask()) == {"update_dob", "confirm_dob", "decline_dob_capture"}
    assert "update_time" in names(wf.GetDOBTask(include_time=True))


async def test_require_explicit_ask_hides_the_update_tool_from_the_greeting() -> None:
    llm = ScriptedLLM({"Ask the user for their phone number.": reply("Your number?")})
    async with AgentSession(llm=llm) as sess:
        await sess.start(beta.workflows.GetPhoneNumberTask(require_explicit_ask=True))
        greeting = llm.requests[-1]
        assert "update_phone_number" not in greeting.tools
        await sess.run(user_input="hello")
        assert "update_phone_number" in llm.requests[-1].tools


async def test_a_spoken_name_is_confirmed_with_confirm_name() -> None:
    llm = ScriptedLLM(
        [
            ("Ada Lovelace", call("update_name", first_name="Ada", last_name="Lovelace")),
            (re.compile("^The name is Lovelace, Ada"), reply("Lovelace, Ada. Right?")),
            ("right", call("confirm_name")),
        ]
    )
    task = beta.workflows.GetNameTask(last_name=True, name_format="{last_name}, {first_name}")
    async with AgentSession(llm=llm) as sess:
        await sess.start(task)
        first = await sess.run(user_input="Ada Lovelace", input_modality="audio")
        first.expect.contains_message(role="assistant")
        done = await sess.run(
            user_input="right", input_modality="audio", output_type=beta.workflows.GetNameResult
        )
        assert done.final_output == beta.workflows.GetNameResult("Ada", None, "Lovelace")


async def test_date_and_time_of_birth_with_include_time() -> None:
    llm = ScriptedLLM(
        {
            "born 3 March 1990 at 6:30": [
                call("update_time", hour=6, minute=30),
                call("update_dob", year=1990, month=3, day=3),
            ]
        }
    )
    async with AgentSession(llm=llm) as sess:
        await sess.start(beta.workflows.GetDOBTask(include_time=True))
        result = await sess.run(
            user_input="born 3 March 1990 at 6:30", output_type=beta.workflows.GetDOBResult
        )
        assert result.final_output.date_of_birth.isoformat() == "1990-03-03"
        assert result.final_output.time_of_birth.isoformat() == "06:30:00"


async def test_the_time_of_birth_stays_optional_and_two_digit_years_are_read_as_recent() -> None:
    llm = ScriptedLLM(
        {"3 March 90, no idea of the time": call("update_dob", year=90, month=3, day=3)}
    )
    async with AgentSession(llm=llm) as sess:
        await sess.start(beta.workflows.GetDOBTask(include_time=True))
        result = await sess.run(
            user_input="3 March 90, no idea of the time", output_type=beta.workflows.GetDOBResult
        )
        assert result.final_output.date_of_birth.year == 1990
        assert result.final_output.time_of_birth is None


async def test_keypad_input_ends_after_dtmf_input_timeout_without_a_key() -> None:
    async with AgentSession(llm=ScriptedLLM({})) as sess:
        task = beta.workflows.GetDtmfTask(num_digits=4, dtmf_input_timeout=0.05)
        await sess.start(task)
        task.press("12")
        assert not task.done()
        for _ in range(200):  # bounded: 2 s
            if task.done():
                break
            await asyncio.sleep(0.01)
        # the task the session runs directly holds its outcome (nobody awaits it)
        with pytest.raises(ToolError, match="expected 4 single digits"):
            task._outcome.result()  # type: ignore[union-attr]


async def test_keypad_digits_complete_the_task_before_the_timeout() -> None:
    async with AgentSession(llm=ScriptedLLM({})) as sess:
        task = beta.workflows.GetDtmfTask(num_digits=3, dtmf_input_timeout=0.05)
        await sess.start(task)
        task.press("4")
        task.press("56")
        assert task.done()
        await asyncio.sleep(0.1)  # the cancelled timer does not fire afterwards
        assert task._outcome.result() == beta.workflows.GetDtmfResult("4 5 6")  # type: ignore[union-attr]


# ---------------------------------------------------------------- GetCreditCardTask

VISA = "4111 1111 1111 1111"


class Cashier(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="You take payments.")

    @function_tool
    async def take_payment(self) -> str:
        """Take a card payment."""
        card = await beta.workflows.GetCreditCardTask()
        ending = card.card_number[-4:]
        return f"{card.issuer} ending {ending}, {card.expiration_date}, {card.cardholder_name}"


CARD_LLM = [
    ("pay", call("take_payment")),
    (VISA, call("update_card_number", card_number=VISA)),
    ("4111 1111 1111 1112", call("update_card_number", card_number="4111 1111 1111 1112")),
    ("repeat " + VISA, call("confirm_card_number", repeated_card_number=VISA)),
    ("December 2030", call("update_expiration_date", expiration_month=12, expiration_year=30)),
    (
        "repeat December 2030",
        call("confirm_expiration_date", repeated_expiration_month=12, repeated_expiration_year=30),
    ),
    ("code 042", call("update_security_code", security_code="042")),
    ("repeat code 042", call("confirm_security_code", repeated_security_code="042")),
    ("Ada Lovelace", call("update_name", first_name="Ada", last_name="Lovelace")),
    ("yes that's the name", call("confirm_name")),
    ("other card", call("restart_card_collection", reason="another card")),
    ("no card", call("decline_card_capture", reason="no card at hand")),
]


async def test_a_typed_card_is_collected_in_four_steps() -> None:
    async with AgentSession(llm=ScriptedLLM(CARD_LLM)) as sess:
        await sess.start(Cashier())
        await sess.run(user_input="pay")
        steps = []
        for line in (VISA, "December 2030", "code 042", "Ada Lovelace"):
            steps.append(type(sess.current_agent).__name__)
            result = await sess.run(user_input=line)
        assert steps == [
            "GetCardNumberTask",
            "GetExpirationDateTask",
            "GetSecurityCodeTask",
            "GetNameTask",
        ]
        result.expect.contains_function_call_output(output="Visa ending 1111, 12/30, Ada Lovelace")
        assert isinstance(sess.current_agent, Cashier)


async def test_spoken_card_details_are_repeated_by_the_user_never_read_back() -> None:
    llm = ScriptedLLM(CARD_LLM, default=reply("Please repeat it."))
    async with AgentSession(llm=llm) as sess:
        await sess.start(Cashier())
        await sess.run(user_input="pay", input_modality="audio")
        first = await sess.run(user_input=VISA, input_modality="audio")
        output = first.expect.contains_function_call_output().event().item.output
        assert "repeat" in output and "4111" not in output
        assert isinstance(sess.current_agent, beta.workflows.credit_card.GetCardNumberTask)
        for line in (
            "repeat " + VISA,
            "December 2030",
            "repeat December 2030",
            "code 042",
            "repeat code 042",
            "Ada Lovelace",
        ):
            await sess.run(user_input=line, input_modality="audio")
        done = await sess.run(user_input="yes that's the name", input_modality="audio")
        done.expect.contains_function_call_output(output="Visa ending 1111, 12/30, Ada Lovelace")


async def test_a_number_failing_the_luhn_check_is_refused_and_the_step_goes_on() -> None:
    async with AgentSession(llm=ScriptedLLM(CARD_LLM)) as sess:
        await sess.start(Cashier())
        await sess.run(user_input="pay")
        bad = await sess.run(user_input="4111 1111 1111 1112")
        bad.expect.contains_function_call_output(
            output="That is not a valid card number; ask the user to check it or use another."
        )
        assert isinstance(sess.current_agent, beta.workflows.credit_card.GetCardNumberTask)


async def test_restarting_collects_the_card_from_the_first_step_again() -> None:
    async with AgentSession(llm=ScriptedLLM(CARD_LLM)) as sess:
        await sess.start(Cashier())
        await sess.run(user_input="pay")
        await sess.run(user_input=VISA)
        await sess.run(user_input="other card")
        assert isinstance(sess.current_agent, beta.workflows.credit_card.GetCardNumberTask)


async def test_declining_the_card_is_the_awaiting_tools_error() -> None:
    async with AgentSession(llm=ScriptedLLM(CARD_LLM)) as sess:
        await sess.start(Cashier())
        await sess.run(user_input="pay")
        result = await sess.run(user_input="no card")
        result.expect.contains_function_call_output(
            output="couldn't get the card details: no card at hand", is_error=True
        )
        assert isinstance(sess.current_agent, Cashier)


# ---------------------------------------------------------------- WarmTransferTask


class Support(Agent):
    def __init__(self, human: object = None) -> None:
        super().__init__(instructions="You help with routers.")
        self.human = human

    @function_tool
    async def transfer_to_human(self) -> str:
        """Transfer the caller to a human."""
        done = await beta.workflows.WarmTransferTask(
            "+15105550123",
            sip_trunk_id="ST_offline",
            ringing_timeout=0.5,
            chat_ctx=self.chat_ctx,
            human_agent=self.human,  # type: ignore[arg-type]
        )
        return f"connected to {done.human_agent_identity}"


async def test_a_handler_plays_the_human_agent_and_gets_the_conversation() -> None:
    offered: list[beta.workflows.TransferRequest] = []

    async def supervisor(request: beta.workflows.TransferRequest) -> str:
        offered.append(request)
        return "supervisor-7"

    llm = ScriptedLLM({"my router is broken, get me a human": call("transfer_to_human")})
    async with AgentSession(llm=llm) as sess:
        await sess.start(Support(supervisor))
        result = await sess.run(user_input="my router is broken, get me a human")
        result.expect.contains_function_call_output(output="connected to supervisor-7")
    assert offered[0].sip_call_to == "+15105550123"
    assert "Caller: my router is broken, get me a human" in offered[0].summary


async def test_a_human_who_declines_or_never_answers_is_a_tool_error() -> None:
    async def busy(_request: object) -> bool:
        return False

    async def away(_request: object) -> None:
        await asyncio.sleep(30)

    for human, text in ((busy, "declined"), (away, "ringing_timeout=0.5")):
        llm = ScriptedLLM({"human please": call("transfer_to_human")})
        async with AgentSession(llm=llm) as sess:
            await sess.start(Support(human))
            result = await sess.run(user_input="human please")
            output = result.expect.contains_function_call_output(is_error=True).event().item
            assert text in output.output


async def test_without_a_handler_the_console_user_is_briefed_as_the_human_agent() -> None:
    llm = ScriptedLLM(
        [
            ("human please", call("transfer_to_human")),
            (re.compile("^Brief the human agent"), reply("A caller needs router help. Take it?")),
            ("yes, put them through", call("connect_to_caller")),
        ]
    )
    async with AgentSession(llm=llm) as sess:
        await sess.start(Support())
        briefing = await sess.run(user_input="human please")
        briefing.expect.contains_message(role="assistant")
        task = sess.current_agent
        assert isinstance(task, beta.workflows.WarmTransferTask)
        assert "Caller: human please" in task.instructions
        done = await sess.run(user_input="yes, put them through")
        done.expect.contains_function_call_output(output="connected to human-agent-sip")


def test_warm_transfer_needs_someone_to_call_and_takes_livekits_older_name() -> None:
    with pytest.raises(ValueError, match="sip_call_to"):
        beta.workflows.WarmTransferTask()
    task = beta.workflows.WarmTransferTask(
        target_phone_number="+12003004000", sip_number="+15005006000", dtmf="ww12#"
    )
    assert task.sip_call_to == "+12003004000"
    assert task.sip_settings == {"sip_number": "+15005006000", "dtmf": "ww12#"}
