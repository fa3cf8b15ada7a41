"""Random conversations through a four-agent workflow, checked against the handoff invariants.

A hypothesis state machine plays the user: each step is one turn whose words make the scripted
LLM call a tool (valid, invalid, or several at once, including one that awaits an
``AgentTask``), or just chat, or a programmatic ``update_agent``, or arms the next
``on_enter``/``on_exit`` to raise.  After every step the session must satisfy the
invariants of API.md §4 and land on the agent a small model predicts.
"""

from __future__ import annotations

import asyncio
import itertools
import sys
from collections import Counter
from collections.abc import Sequence
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

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

pytestmark = pytest.mark.skipif(sys.version_info < (3, 11), reason="uses asyncio.Runner")


@attrs.define(eq=False)
class Journal:
    """Shared by every agent of one conversation (it is the session's userdata)."""

    log: list[tuple[str, Any, Any]] = attrs.field(factory=list)
    """("enter", agent, None) / ("exit", agent, None) / ("handoff", old_id, new_id)."""
    executed: list[tuple[Agent, Agent]] = attrs.field(factory=list)
    """(agent owning the tool, session.current_agent) for every tool body that ran."""
    userdata_seen: list[object] = attrs.field(factory=list)
    fresh_on_first_entry: list[bool] = attrs.field(factory=list)
    hub: Agent | None = None
    fail_next: str | None = None
    """"enter" or "exit": the next such hook of a plain agent raises (then disarms)."""


class PlannedFailure(RuntimeError):
    """Raised by a hook on purpose; must reach the awaiting run() and nothing else."""


class Base(Agent):
    def __init__(self, instructions: str) -> None:
        super().__init__(instructions=instructions)
        self.entries = 0

    def _journal(self) -> Journal:
        journal: Journal = self.session.userdata
        return journal

    async def on_enter(self) -> None:
        journal = self._journal()
        if self.entries == 0:
            journal.fresh_on_first_entry.append(len(self.chat_ctx.items) == 1)
        self.entries += 1
        journal.log.append(("enter", self, None))
        self.session.say(f"{self.id} here")
        if journal.fail_next == "enter":
            journal.fail_next = None
            raise PlannedFailure(f"{self.id}.on_enter failed on purpose")

    async def on_exit(self) -> None:
        journal = self._journal()
        journal.log.append(("exit", self, None))
        if journal.fail_next == "exit":
            journal.fail_next = None
            raise PlannedFailure(f"{self.id}.on_exit failed on purpose")

    def _ran(self, ctx: RunContext[Journal]) -> None:
        ctx.userdata.executed.append((self, ctx.session.current_agent))
        ctx.userdata.userdata_seen.append(ctx.userdata)


class Hub(Base):
    def __init__(self) -> None:
        super().__init__("hub")

    @function_tool
    async def go_sales(self, ctx: RunContext[Journal]) -> Sales:
        """To sales."""
        self._ran(ctx)
        return Sales()

    @function_tool
    async def go_support(self, ctx: RunContext[Journal]) -> tuple[Support, str]:
        """To support, with a word."""
        self._ran(ctx)
        return Support(), "over to support"

    @function_tool
    async def start_task(self, ctx: RunContext[Journal]) -> str:
        """Ask for confirmation first."""
        self._ran(ctx)
        answer = await Confirm()
        return f"confirmed {answer}"

    @function_tool
    async def note(self, ctx: RunContext[Journal], text: str) -> str:
        """Take a note."""
        self._ran(ctx)
        return f"noted {text}"

    @function_tool
    async def fail(self, ctx: RunContext[Journal]) -> None:
        """Always fails."""
        self._ran(ctx)
        raise ToolError("hub failed on purpose")


class Sales(Base):
    def __init__(self) -> None:
        super().__init__("sales")

    @function_tool
    async def go_billing(self, ctx: RunContext[Journal]) -> Billing:
        """To billing."""
        self._ran(ctx)
        return Billing()

    @function_tool
    async def back_to_hub(self, ctx: RunContext[Journal]) -> Hub:
        """Back to the very hub we started with."""
        self._ran(ctx)
        assert ctx.userdata.hub is not None
        return ctx.userdata.hub

    @function_tool
    async def note(self, ctx: RunContext[Journal], text: str) -> str:
        """Take a note."""
        self._ran(ctx)
        return f"sales noted {text}"

    @function_tool
    async def fail(self, ctx: RunContext[Journal]) -> None:
        """Crashes."""
        self._ran(ctx)
        raise RuntimeError("sales crashed")


class Support(Base):
    def __init__(self) -> None:
        super().__init__("support")

    @function_tool
    async def go_billing(self, ctx: RunContext[Journal]) -> tuple[Billing, str]:
        """To billing, with a word."""
        self._ran(ctx)
        return Billing(), "billing will help"

    @function_tool
    async def back_to_hub(self, ctx: RunContext[Journal]) -> Hub:
        """Back to the hub."""
        self._ran(ctx)
        assert ctx.userdata.hub is not None
        return ctx.userdata.hub

    @function_tool
    async def note(self, ctx: RunContext[Journal], text: str) -> None:
        """Take a note silently."""
        self._ran(ctx)


class Billing(Base):
    def __init__(self) -> None:
        super().__init__("billing")

    @function_tool
    async def go_sales(self, ctx: RunContext[Journal]) -> Sales:
        """To sales."""
        self._ran(ctx)
        return Sales()

    @function_tool
    async def back_to_hub(self, ctx: RunContext[Journal]) -> Hub:
        """Back to the hub."""
        self._ran(ctx)
        assert ctx.userdata.hub is not None
        return ctx.userdata.hub

    @function_tool
    async def fail(self, ctx: RunContext[Journal]) -> None:
        """Fails."""
        self._ran(ctx)
        raise ToolError("billing failed on purpose")


class Confirm(AgentTask[bool]):
    def __init__(self) -> None:
        super().__init__(instructions="confirm")
        self.entries = 0

    async def on_enter(self) -> None:
        journal: Journal = self.session.userdata
        journal.fresh_on_first_entry.append(len(self.chat_ctx.items) == 1)
        self.entries += 1
        journal.log.append(("enter", self, None))
        await self.session.generate_reply(instructions="ask to confirm")

    async def on_exit(self) -> None:
        journal: Journal = self.session.userdata
        journal.log.append(("exit", self, None))

    @function_tool
    async def confirm(self, ctx: RunContext[Journal]) -> None:
        """The user confirms."""
        ctx.userdata.executed.append((self, ctx.session.current_agent))
        self.complete(True)

    @function_tool
    async def deny(self, ctx: RunContext[Journal]) -> None:
        """The user refuses."""
        ctx.userdata.executed.append((self, ctx.session.current_agent))
        self.complete(ToolError("the user said no"))


# --------------------------------------------------------------------------- the model

HANDOFF_TARGETS: dict[str, type[Agent]] = {
    "go_sales": Sales,
    "go_support": Support,
    "go_billing": Billing,
    "back_to_hub": Hub,
    "start_task": Confirm,
}
TOOL_NAMES = sorted(
    {t.name for cls in (Hub, Sales, Support, Billing) for t in cls().tools}
    | {"confirm", "deny", "no_such_tool", "note!bad"}
)


def to_call(name: str) -> Any:
    if name == "note!bad":
        return call("note", color="blue")  # fails the schema
    if name == "note":
        return call("note", text="x")
    return call(name)


def script(chat_ctx: ChatContext, tools: Sequence[Any]) -> Any:
    """Turns the user's coded words into calls; everything else gets a short reply."""
    last = chat_ctx.items[-1]
    if isinstance(last, ChatMessage) and last.role == "user":
        words = last.text_content
        if words.startswith("do:"):
            calls = [to_call(n) for n in words[3:].split(",")]
            return calls[0] if len(calls) == 1 else calls
        return reply(f"you said {words}")
    if isinstance(last, FunctionCallOutput):
        return reply("done")
    if isinstance(last, ChatMessage) and last.text_content == "ask to confirm":
        return reply("Please confirm")
    return reply("hm")


def owned(agent: Agent) -> set[str]:
    return {t.name for t in agent.tools}


# --------------------------------------------------------------------------- the machine


class Conversation(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.runner = asyncio.Runner()  # type: ignore[attr-defined,unused-ignore]
        self.journal = Journal()
        self.session: AgentSession[Journal] | None = None
        self.caller: Agent | None = None  # the hub while it awaits a Confirm task
        self.expected: Agent | type[Agent] | None = None
        self.after_task: Agent | type[Agent] | None = None
        self.waiting_calls: list[str] = []  # calls of the step that awaits a running task
        self.history_ids: list[str] = []
        self.hub_ctx_ids: list[str] = []

    @initialize()
    def start(self) -> None:
        hub = Hub()
        self.journal.hub = hub

        async def go() -> AgentSession[Journal]:
            session: AgentSession[Journal] = AgentSession(
                llm=ScriptedLLM(script), userdata=self.journal
            )

            def note_handoff(event: Any) -> None:
                if isinstance(event.item, AgentHandoff):
                    item = event.item
                    self.journal.log.append(("handoff", item.old_agent_id, item.new_agent_id))

            session.on("conversation_item_added", note_handoff)
            await session.start(hub)
            return session

        self.session = self.runner.run(go())
        self.expected = hub

    def teardown(self) -> None:
        self.journal.fail_next = None
        try:
            if self.session is not None:
                self.runner.run(self.session.aclose())
        finally:
            self.runner.close()

    # ------------------------------------------------------------------ helpers

    @property
    def s(self) -> AgentSession[Journal]:
        assert self.session is not None
        return self.session

    def landing(self, current: Agent, valid: list[str]) -> Agent | type[Agent]:
        """Where a step of valid calls (no task among them) leaves the conversation."""
        handoffs = [n for n in valid if n in HANDOFF_TARGETS]
        if len(handoffs) != 1:
            return current  # none, or a conflict: nobody moves
        target = HANDOFF_TARGETS[handoffs[0]]
        if target is Hub:
            assert self.journal.hub is not None
            return self.journal.hub
        return target

    def predict(self, names: list[str]) -> None:
        """Where the turn should end, from the current agent and the tools called."""
        current = self.s.current_agent
        valid = [n for n in names if n in owned(current)]
        if isinstance(current, Confirm):
            if any(n in ("confirm", "deny") for n in valid):
                self.expected, self.caller = self.after_task, None
                self.waiting_calls = []
            else:
                self.expected = current
            return
        if "start_task" in valid:
            # the step finishes only when the task does; its other calls take effect then
            self.after_task = self.landing(current, [n for n in valid if n != "start_task"])
            self.caller = current
            self.expected = Confirm
            self.waiting_calls = [n.split("!")[0] for n in names]
            return
        self.expected = self.landing(current, valid)

    def turn(self, words: str) -> None:
        armed = self.journal.fail_next
        try:
            self.runner.run(self._turn(words))
        except PlannedFailure:
            # only a hook that was armed may fail a run, and it disarms itself
            assert armed is not None and self.journal.fail_next is None

    async def _turn(self, words: str) -> None:
        await self.s.run(user_input=words)

    # ------------------------------------------------------------------ rules

    @rule(name=st.sampled_from(TOOL_NAMES))
    def call_one_tool(self, name: str) -> None:
        self.predict([name])
        self.turn(f"do:{name}")

    @rule(
        names=st.lists(st.sampled_from(TOOL_NAMES), min_size=2, max_size=3).filter(
            lambda names: names.count("start_task") <= 1
        )
    )
    def call_tools_in_parallel(self, names: list[str]) -> None:
        self.predict(names)
        self.turn("do:" + ",".join(names))

    @rule(words=st.sampled_from(["hello", "what now?", "thanks"]))
    def chat(self, words: str) -> None:
        self.expected = self.s.current_agent
        self.turn(words)

    @rule(hook=st.sampled_from(["enter", "exit"]))
    def make_the_next_hook_fail(self, hook: str) -> None:
        self.journal.fail_next = hook

    @precondition(lambda self: self.caller is None)
    @rule(agent_class=st.sampled_from([Sales, Support, Billing]))
    def switch_programmatically(self, agent_class: type[Agent]) -> None:
        new = agent_class()

        async def swap() -> None:
            self.s.update_agent(new)
            assert self.s.current_agent is new  # synchronous switch
            await self.s.say("switched")  # queued behind the swap

        self.runner.run(swap())  # an armed hook failing in this background swap is only logged
        self.expected = new

    @precondition(
        lambda self: (
            self.caller is None
            and self.session is not None
            and self.session.current_agent is not self.journal.hub
        )
    )
    @rule()
    def switch_back_to_the_first_hub(self) -> None:
        hub = self.journal.hub
        assert hub is not None

        async def swap() -> None:
            assert self.s.update_agent(hub) is None
            await self.s.say("back at the hub")

        self.runner.run(swap())
        self.expected = hub

    # ------------------------------------------------------------------ invariants

    @invariant()
    def lands_where_the_model_says(self) -> None:
        if self.session is None:
            return
        current = self.s.current_agent
        if isinstance(self.expected, type):
            assert type(current) is self.expected, (current, self.expected)
        else:
            assert current is self.expected, (current, self.expected)

    @invariant()
    def one_active_agent_and_it_is_the_machine_state(self) -> None:
        if self.session is None:
            return
        current = self.s.current_agent
        assert self.s.machine.state == current.id
        balance: Counter[int] = Counter()
        agents: dict[int, Agent] = {}
        for kind, agent, _ in self.journal.log:
            if kind in ("enter", "exit"):
                balance[id(agent)] += 1 if kind == "enter" else -1
                agents[id(agent)] = agent
        active = {agents[k] for k, v in balance.items() if v == 1}
        assert all(v in (0, 1) for v in balance.values())
        expected_active = {current} | ({self.caller} if self.caller is not None else set())
        assert active == expected_active

    @invariant()
    def hooks_and_handoff_records_interlock(self) -> None:
        log = self.journal.log
        for n, (kind, a, b) in enumerate(log):
            if kind == "enter":
                prev = log[n - 1]
                assert prev[0] == "handoff" and prev[2] == a.id, (n, log)
            if kind != "handoff":
                continue
            old_id, new_id = a, b
            if n == 0:
                assert old_id is None
                continue
            assert old_id is not None
            if new_id == "confirm":  # caller paused, not exited
                assert not (log[n - 1][0] == "exit" and log[n - 1][1].id == old_id)
                assert log[n + 1][0] == "enter"
            elif old_id == "confirm":  # task returns: caller resumed, not entered
                assert log[n - 1][0] == "exit" and log[n - 1][1].id == "confirm"
                assert n + 1 == len(log) or log[n + 1][0] != "enter" or log[n + 1][1].id != new_id
            else:
                assert log[n - 1][0] == "exit" and log[n - 1][1].id == old_id, (n, log)
                assert log[n + 1][0] == "enter" and log[n + 1][1].id == new_id, (n, log)

    @invariant()
    def handoff_records_chain(self) -> None:
        if self.session is None:
            return
        handoffs = [i for i in self.s.history.items if isinstance(i, AgentHandoff)]
        assert handoffs[0].old_agent_id is None
        for before, after in itertools.pairwise(handoffs):
            assert after.old_agent_id == before.new_agent_id
        assert handoffs[-1].new_agent_id == self.s.current_agent.id
        for agent in self.s.visited_agents.values():
            assert not any(isinstance(i, AgentHandoff) for i in agent.chat_ctx.items)
        enters = sum(1 for k, _, _ in self.journal.log if k == "enter")
        returns = sum(1 for h in handoffs if h.old_agent_id == "confirm")
        assert len(handoffs) == enters + returns

    @invariant()
    def hooks_alternate_per_instance(self) -> None:
        per_agent: dict[int, list[str]] = {}
        for kind, agent, _ in self.journal.log:
            if kind in ("enter", "exit"):
                per_agent.setdefault(id(agent), []).append(kind)
        for kinds in per_agent.values():
            assert kinds == ["enter", "exit"] * (len(kinds) // 2) + ["enter"] * (len(kinds) % 2)

    @invariant()
    def only_the_active_agent_runs_tools(self) -> None:
        for owner, current in self.journal.executed:
            # a sibling of `start_task` in the same step may start after the task took over
            assert owner is current or (isinstance(current, Confirm) and owner is self.journal.hub)

    @invariant()
    def userdata_survives(self) -> None:
        if self.session is None:
            return
        assert self.s.userdata is self.journal
        assert all(seen is self.journal for seen in self.journal.userdata_seen)

    @invariant()
    def new_agents_start_fresh(self) -> None:
        assert all(self.journal.fresh_on_first_entry)

    @invariant()
    def every_call_has_exactly_one_output(self) -> None:
        if self.session is None:
            return
        items = self.s.history.items
        calls = Counter(i.call_id for i in items if isinstance(i, FunctionCall))
        outputs = Counter(i.call_id for i in items if isinstance(i, FunctionCallOutput))
        assert all(n == 1 for n in calls.values())
        assert all(n == 1 for n in outputs.values())
        unanswered = [
            i.name for i in items if isinstance(i, FunctionCall) and i.call_id not in outputs
        ]
        # only the step awaiting a running task may still wait for its outputs
        assert unanswered == self.waiting_calls
        assert set(outputs) <= set(calls)

    @invariant()
    def history_only_grows(self) -> None:
        if self.session is None:
            return
        ids = [i.id for i in self.s.history.items]
        assert ids[: len(self.history_ids)] == self.history_ids
        self.history_ids = ids

    @invariant()
    def the_hub_keeps_its_context_across_re_entries(self) -> None:
        hub = self.journal.hub
        if hub is None:
            return
        ids = [i.id for i in hub.chat_ctx.items]
        assert ids[0] == "voxfsm.instructions"
        assert ids[: len(self.hub_ctx_ids)] == self.hub_ctx_ids
        self.hub_ctx_ids = ids


Conversation.TestCase.settings = settings(
    max_examples=100,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestConversation = Conversation.TestCase
