"""Medical office triage: triage, patient support and billing, each able to reach the others.

Graph: a triangle, every agent → each of the other two (``transfer_to_*``).

A transfer announces itself (``say``) and hands the caller over; the agent taking over merges
the last few turns of the one before into its own context and is briefed with what userdata
holds (``examples/_handover.py``).  Agents are reused within a call, so going back to triage
finds it with its earlier turns.  Each agent has its own voice.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

import attrs

from voxfsm.agents import AgentSession, RunContext, ToolError, function_tool
from voxfsm.agents.llm import call, reply
from voxfsm.examples._demo import Rules, demo_llm
from voxfsm.examples._handover import HandoverAgent, reuse
from voxfsm.examples._voices import voice


@attrs.define
class PatientData:
    """What the office's agents share about the caller."""

    reasons: list[str] = attrs.Factory(list)
    refills: list[str] = attrs.Factory(list)
    appointments: list[str] = attrs.Factory(list)
    copay: float = 25.0
    balance_due: float = 60.0

    def summary(self) -> str:
        return (
            f"Reasons for calling so far: {'; '.join(self.reasons) or 'not yet known'}. "
            f"Refills requested: {', '.join(self.refills) or 'none'}. "
            f"Appointments booked: {', '.join(self.appointments) or 'none'}."
        )


Ctx = RunContext[PatientData]

PRIVACY = (
    "Treat everything the caller says as confidential. Keep answers short: they are spoken "
    "aloud. If the caller needs another department, transfer them."
)


class OfficeAgent(HandoverAgent):
    """Shared by the office's agents: the briefing an agent gets when it takes over."""

    department = "the medical office"

    def briefing(self) -> str:
        data: PatientData = self.session.userdata
        return f"You are {self.department}, taking over the call. {data.summary()}"

    async def _announce(self, where: str) -> None:
        # Said before the handover, so the caller hears why the voice changes.
        await self.session.say(f"I'll transfer you to {where} now.")


GREET_TRIAGE = "Greet the caller on behalf of the medical office and ask how you can help."
GREET_TRIAGE_BACK = "Tell the caller you are back at triage and ask what they need."
GREET_SUPPORT = "Introduce yourself as patient support and offer help with what the caller needs."
GREET_BILLING = "Introduce yourself as billing and offer help with the caller's question."


class Triage(OfficeAgent):
    """Finds out what the caller needs and sends them to the right department."""

    department = "triage"

    def __init__(self) -> None:
        super().__init__(
            instructions=(
                "You are the triage agent of a medical office. Find out what the caller needs. "
                "Appointments, prescription refills, medical advice and test results go to "
                "patient support; insurance, copays, bills and payment plans go to billing. "
                f"Ask a clarifying question when it is unclear. {PRIVACY}"
            ),
            tts=voice("medical_triage.triage"),
        )

    def greeting(self) -> str:
        return GREET_TRIAGE if len(self.chat_ctx.items) <= 1 else GREET_TRIAGE_BACK

    @function_tool
    async def note_reason(
        self, ctx: Ctx, reason: Annotated[str, "Why the caller is calling, in a few words"]
    ) -> str:
        """Note why the caller is calling, before transferring them."""
        ctx.userdata.reasons.append(reason.strip())
        return f"Noted: {reason.strip()}."

    @function_tool
    async def transfer_to_support(self) -> Support:
        """Transfer the caller to patient support (appointments, refills, advice, results)."""
        await self._announce("patient support")
        return reuse(self.session, Support).take_over_from(self)

    @function_tool
    async def transfer_to_billing(self) -> Billing:
        """Transfer the caller to billing (insurance, copays, bills, payment plans)."""
        await self._announce("billing")
        return reuse(self.session, Billing).take_over_from(self)


class Support(OfficeAgent):
    """Books appointments and requests prescription refills."""

    department = "patient support"

    def __init__(self) -> None:
        super().__init__(
            instructions=(
                "You are the patient support agent of a medical office. Book appointments and "
                "request prescription refills with your tools. Send billing and insurance "
                f"questions to billing, and anything else back to triage. {PRIVACY}"
            ),
            tts=voice("medical_triage.support"),
        )

    def greeting(self) -> str:
        return GREET_SUPPORT

    @function_tool
    async def request_refill(
        self, ctx: Ctx, medication: Annotated[str, "Medication name and strength"]
    ) -> str:
        """Send a prescription refill request to the caller's pharmacy."""
        medication = medication.strip()
        if not medication:
            raise ToolError("Which medication? Ask the caller for its name and strength.")
        ctx.userdata.refills.append(medication)
        return f"Refill requested: {medication}; the pharmacy will text when it is ready."

    @function_tool
    async def book_appointment(
        self,
        ctx: Ctx,
        day: Literal["monday", "tuesday", "wednesday", "thursday", "friday"],
        reason: Annotated[str, "What the visit is for"],
    ) -> str:
        """Book a visit with the caller's doctor on a weekday morning."""
        booking = f"{day.capitalize()} 9:30 ({reason.strip()})"
        ctx.userdata.appointments.append(booking)
        return f"Appointment booked: {booking}."

    @function_tool
    async def transfer_to_triage(self) -> Triage:
        """Transfer the caller back to triage when it is unclear who can help."""
        await self._announce("triage")
        return reuse(self.session, Triage).take_over_from(self)

    @function_tool
    async def transfer_to_billing(self) -> Billing:
        """Transfer the caller to billing (insurance, copays, bills, payment plans)."""
        await self._announce("billing")
        return reuse(self.session, Billing).take_over_from(self)


class Billing(OfficeAgent):
    """Answers questions about copays, balances and insurance."""

    department = "billing"

    def __init__(self) -> None:
        super().__init__(
            instructions=(
                "You are the billing agent of a medical office. Answer questions about copays "
                "and balances with your tools; never guess amounts. Send appointments and "
                f"refills to patient support, and anything else back to triage. {PRIVACY}"
            ),
            tts=voice("medical_triage.billing"),
        )

    def greeting(self) -> str:
        return GREET_BILLING

    @function_tool
    async def check_copay(self, ctx: Ctx) -> str:
        """Look up the caller's copay per visit and their outstanding balance."""
        data = ctx.userdata
        return f"Copay per visit: ${data.copay:.2f}; outstanding balance: ${data.balance_due:.2f}."

    @function_tool
    async def transfer_to_triage(self) -> Triage:
        """Transfer the caller back to triage when it is unclear who can help."""
        await self._announce("triage")
        return reuse(self.session, Triage).take_over_from(self)

    @function_tool
    async def transfer_to_support(self) -> Support:
        """Transfer the caller to patient support (appointments, refills, advice, results)."""
        await self._announce("patient support")
        return reuse(self.session, Support).take_over_from(self)


entry = Triage

DEMO_TURNS: list[str] = [
    "Hi, I need to refill my prescription.",
    "It's lisinopril, ten milligrams.",
    "I also have a question about my copay.",
    "How much is it?",
    "Thanks, that's everything. Goodbye.",
]


def _demo_script() -> Rules:
    i = re.IGNORECASE
    return [
        (GREET_TRIAGE, reply("Hello, you've reached the medical office. How can I help?")),
        (GREET_TRIAGE_BACK, reply("Triage again. What else do you need?")),
        (GREET_SUPPORT, reply("Hi, patient support here. I can help with that, go ahead.")),
        (GREET_BILLING, reply("Hi, this is billing. What would you like to know?")),
        # triage notes the reason, then (a second tool step) picks the department from it
        (
            re.compile(r"^Noted: .*\b(refill|prescription|appointment)", i),
            call("transfer_to_support"),
        ),
        (re.compile(r"^Noted: .*\b(copay|bill|insurance)", i), call("transfer_to_billing")),
        (
            re.compile(r"^Refill requested"),
            reply("Done, your refill request is in. The pharmacy will text you."),
        ),
        (re.compile(r"^Appointment booked"), reply("You're booked in.")),
        (
            re.compile(r"^Copay per visit"),
            reply("Your copay is $25 a visit, and there's $60 outstanding."),
        ),
        (re.compile(r"\b(good ?bye|bye)\b", i), reply("Take care. Goodbye!")),
        (
            re.compile(r"\b(lisinopril|milligrams?|mg)\b", i),
            call("request_refill", medication="lisinopril 10 mg"),
        ),
        (re.compile(r"\bhow much\b", i), call("check_copay")),
        (
            re.compile(r"\b(co[- ]?pay|insurance|bill|billing|balance)\b", i),
            call("transfer_to_billing"),
        ),
        (
            re.compile(r"\b(refill|prescription)\b", i),
            call("note_reason", reason="prescription refill"),
        ),
        (re.compile(r"\b(not sure|don't know|who)\b", i), call("transfer_to_triage")),
    ]


def make_session() -> AgentSession[PatientData]:
    """A fresh session for one call: default patient data and the scripted demo LLM."""
    llm = demo_llm(_demo_script())
    return AgentSession(llm=llm, userdata=PatientData())
