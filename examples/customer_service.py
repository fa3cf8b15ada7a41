"""Customer service: a front line agent that hands callers to billing or technical support.

Graph: CustomerService → Billing | TechSupport;  Billing → CustomerService;
TechSupport → CustomerService.

Every transfer builds the next agent from the current conversation (``chat_ctx=self.chat_ctx``),
so nobody asks the caller to repeat themselves, and returns ``(agent, message)``: the agent
handing over says one transition sentence before the next one speaks.  ``record_name`` stores
the caller's name in the shared userdata; every agent has it.
"""

from __future__ import annotations

import re
from typing import Annotated

import attrs

from voxfsm.agents import (
    Agent,
    AgentSession,
    ChatContext,
    RunContext,
    ToolError,
    function_tool,
)
from voxfsm.agents.llm import call, reply
from voxfsm.examples._demo import Rules, demo_llm


@attrs.define
class CustomerData:
    """What the agents of one call share."""

    name: str | None = None
    balance_due: float = 42.50
    due_date: str = "1 December"
    tickets: list[str] = attrs.Factory(list)


Ctx = RunContext[CustomerData]


@function_tool
async def record_name(ctx: Ctx, name: Annotated[str, "The caller's full name"]) -> str:
    """Record the caller's name once they have told you."""
    name = name.strip()
    if not name:
        raise ToolError("The name is empty; ask the caller for their name.")
    ctx.userdata.name = name
    return f"Recorded the caller's name: {name}."


def _first_name(ctx: Ctx) -> str:
    name = ctx.userdata.name
    return name.split()[0] if name else "the caller"


GREET_NEW = "Greet the caller on behalf of Acme customer service and ask for their name."
GREET_BACK = "Welcome the caller back by name and ask what else you can help with."
GREET_BILLING = "Introduce yourself as billing and ask how you can help with their bill."
GREET_TECH = "Introduce yourself as technical support and ask what is not working."


class CustomerService(Agent):
    """The first agent a caller talks to: learns who they are and routes them."""

    def __init__(self, *, chat_ctx: ChatContext | None = None) -> None:
        super().__init__(
            instructions=(
                "You are the customer service agent of Acme Broadband, on the phone. Ask for "
                "the caller's name and record it. You do not handle bills or technical "
                "problems yourself: transfer anything about money, bills, payments or payment "
                "cards to billing, and anything about the internet, wifi or equipment to "
                "technical support. Answer greetings, 'can you hear me', and simple questions "
                "yourself, in one or two short sentences: they are spoken aloud."
            ),
            chat_ctx=chat_ctx,
            tools=[record_name],
        )

    async def on_enter(self) -> None:
        known = self.session.userdata.name is not None
        await self.session.generate_reply(instructions=GREET_BACK if known else GREET_NEW)

    @function_tool
    async def transfer_to_billing(self, ctx: Ctx) -> tuple[Billing, str]:
        """Transfer the caller to billing: bills, charges, payments, payment cards, refunds,
        fees, invoices, balances, due dates, direct debits."""
        return Billing(chat_ctx=self.chat_ctx), f"Transferring {_first_name(ctx)} to billing."

    @function_tool
    async def transfer_to_tech_support(self, ctx: Ctx) -> tuple[TechSupport, str]:
        """Transfer the caller to technical support: internet, wifi, broadband, router or modem
        problems, slow, dropping or no connection."""
        target = TechSupport(chat_ctx=self.chat_ctx)
        return target, f"Transferring {_first_name(ctx)} to technical support."


class Billing(Agent):
    """Answers questions about the caller's bill."""

    def __init__(self, *, chat_ctx: ChatContext | None = None) -> None:
        super().__init__(
            instructions=(
                "You are Acme Broadband's billing agent. Answer questions about the caller's "
                "balance and due date with your tools; never guess amounts. When the caller "
                "has nothing more for billing, transfer them back to customer service."
            ),
            chat_ctx=chat_ctx,
            tools=[record_name],
        )

    async def on_enter(self) -> None:
        await self.session.generate_reply(instructions=GREET_BILLING)

    @function_tool
    async def check_balance(self, ctx: Ctx) -> str:
        """Look up how much the caller owes and when it is due."""
        data = ctx.userdata
        if data.balance_due <= 0:
            return "Nothing is due: the account is paid up."
        return f"Balance due: ${data.balance_due:.2f} by {data.due_date}."

    @function_tool
    async def transfer_back(self, ctx: Ctx) -> tuple[CustomerService, str]:
        """Transfer the caller back to customer service when billing is done."""
        return CustomerService(chat_ctx=self.chat_ctx), "Transferring back to customer service."


class TechSupport(Agent):
    """Diagnoses connection problems and opens repair tickets."""

    def __init__(self, *, chat_ctx: ChatContext | None = None) -> None:
        super().__init__(
            instructions=(
                "You are Acme Broadband's technical support agent. Test the caller's line, "
                "explain the result simply, and open a ticket when something must be repaired "
                "or replaced. When the caller has nothing more for you, transfer them back."
            ),
            chat_ctx=chat_ctx,
            tools=[record_name],
        )

    async def on_enter(self) -> None:
        await self.session.generate_reply(instructions=GREET_TECH)

    @function_tool
    async def run_line_test(self) -> str:
        """Test the caller's line and router remotely."""
        return "Line test: no fault on the line; the router dropped its connection 12 times today."

    @function_tool
    async def open_ticket(
        self, ctx: Ctx, summary: Annotated[str, "One sentence: what is wrong and what is needed"]
    ) -> str:
        """Open a repair ticket once the caller agrees to it."""
        if not summary.strip():
            raise ToolError("The ticket needs a summary of the problem.")
        ticket = f"TS-{1001 + len(ctx.userdata.tickets)}"
        ctx.userdata.tickets.append(ticket)
        return f"Opened ticket {ticket}: {summary.strip()}"

    @function_tool
    async def transfer_back(self, ctx: Ctx) -> tuple[CustomerService, str]:
        """Transfer the caller back to customer service when the problem is handled."""
        return CustomerService(chat_ctx=self.chat_ctx), "Transferring back to customer service."


entry = CustomerService

DEMO_TURNS: list[str] = [
    "Hi, this is Alex Morgan.",
    "I've got a question about my bill.",
    "How much do I owe?",
    "Okay, that's all for billing, thanks.",
    "My internet keeps dropping out.",
    "Can you check my line?",
    "Yes please, open a ticket.",
    "No, that's it. Bye!",
]


def _demo_script() -> Rules:
    i = re.IGNORECASE
    return [
        (GREET_NEW, reply("Hello, you've reached Acme customer service. May I have your name?")),
        (GREET_BACK, reply("Welcome back, Alex. What else can I help you with?")),
        (GREET_BILLING, reply("Hi Alex, this is billing. What can I do for you?")),
        (GREET_TECH, reply("Hi Alex, technical support here. Let's get that fixed.")),
        (re.compile(r"^Recorded the caller's name"), reply("Thanks, Alex! How can I help?")),
        (re.compile(r"^Transferring .* to billing"), reply("I'll put you through to billing.")),
        (re.compile(r"^Transferring .* technical support"), reply("Connecting you to support.")),
        (re.compile(r"^Transferring back"), reply("I'll hand you back to customer service.")),
        (re.compile(r"^Balance due"), reply("You owe $42.50, due by the first of December.")),
        (
            re.compile(r"^Line test"),
            reply(
                "Your line is fine, the router keeps dropping. Shall I open a ticket for a new one?"
            ),
        ),
        (re.compile(r"^Opened ticket"), reply("Done, a new router ships tomorrow. Anything else?")),
        (re.compile(r"\b(good ?bye|bye)\b", i), reply("Thanks for calling Acme. Goodbye!")),
        (
            re.compile(r"\b(my name is|this is|i am|i'm)\b", i),
            call("record_name", name="Alex Morgan"),
        ),
        (re.compile(r"\b(that's all|that is all|nothing else|done)\b", i), call("transfer_back")),
        (re.compile(r"\b(owe|balance|how much|due)\b", i), call("check_balance")),
        (
            re.compile(r"\b(bill|billing|invoice|payment|charged?)\b", i),
            call("transfer_to_billing"),
        ),
        (
            re.compile(r"\b(internet|connection|wi-?fi|router|broadband)\b", i),
            call("transfer_to_tech_support"),
        ),
        (re.compile(r"\b(check|test)\b.*\bline\b", i), call("run_line_test")),
        (
            re.compile(r"\bticket\b", i),
            call(
                "open_ticket", summary="Router keeps dropping the connection; replacement needed."
            ),
        ),
    ]


def make_session() -> AgentSession[CustomerData]:
    """A fresh session for one call: default account data and the scripted demo LLM."""
    llm = demo_llm(_demo_script())
    return AgentSession(llm=llm, userdata=CustomerData())
