"""The hypothesis ``RuleBasedStateMachine`` whose rules come from the workflow.

Rules only *choose* a step (which tool, which arguments, which words); the driver runs it
through the real session.  Choices depend on the active agent, so rules draw with
``st.data()`` from what the driver says is possible right now.  One machine instance = one
conversation = one driver = one event loop.
"""

from __future__ import annotations

import contextlib
from typing import Any, ClassVar

from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from voxfsm.agents import Agent
from voxfsm.agents.agent import class_tools

from ._actions import (
    ERRORS,
    Action,
    CallChain,
    CallParallel,
    CallTool,
    Say,
    SayDuring,
    Start,
    TaskRoundTrip,
    ToolRaises,
    UpdateDuringTool,
)
from ._coverage import Coverage
from ._driver import Driver, DriverConfig
from ._probe import is_probe_step
from ._schema import invalid_arguments, valid_arguments

UNKNOWN_TOOLS = ("no_such_tool", "transfer_to_human", "lookup")
_WORDS = st.text(alphabet="abcdefghijklmnopqrstuvwxyz ?", min_size=1, max_size=16)


class WorkflowMachine(RuleBasedStateMachine):
    """Base class; :func:`~voxfsm.agents.testing.workflow_state_machine` subclasses it per workflow.

    Subclass it further to add ``@rule``/``@invariant`` methods: ``self.driver.session`` is
    the running session, ``self.perform(step)`` runs a step.
    """

    config: ClassVar[DriverConfig]
    coverage: ClassVar[Coverage]
    last_driver: ClassVar[Driver | None] = None
    on_conversation: ClassVar[Any] = None  # callback(driver) after each conversation

    def __init__(self) -> None:
        super().__init__()
        self.driver = Driver(self.config, self.coverage)
        self.failed = False
        type(self).last_driver = self.driver

    def perform(self, action: Action) -> None:
        try:
            self.driver.perform(action)
        except BaseException:
            self.failed = True
            raise

    def teardown(self) -> None:
        driver = self.driver
        try:
            if not self.failed:  # after a failure, closing must not mask the real error
                driver.close()
            else:  # the failing run's moves still belong on the drawing (check -o)
                with contextlib.suppress(Exception):  # never mask the failure itself
                    steps = driver.steps()
                    driver.coverage.record_steps(s for s in steps if not is_probe_step(s))
        finally:
            driver.dispose()
            if self.on_conversation is not None:
                self.on_conversation(driver)

    # ------------------------------------------------------------------ rules

    @initialize(data=st.data())
    def start(self, data: st.DataObject) -> None:
        """``session.start``; the entry's greeting may call its tools (awaited in on_enter)."""
        entry = self.config.described
        cls = type(entry) if isinstance(entry, Agent) else entry
        tools = [t for _, t in class_tools(cls)] if isinstance(cls, type) else []
        calls = data.draw(self._enter_calls(tools), label="greeting calls")
        try:
            self.driver.start(Start(calls))
        except BaseException:
            self.failed = True
            raise

    def _enter_calls(
        self, tools: list[Any], min_size: int = 0
    ) -> st.SearchStrategy[tuple[CallTool, ...]]:
        if not tools:
            return st.just(())
        one = st.sampled_from(tools).flatmap(
            lambda t: valid_arguments(t.info.parameters).map(lambda a: CallTool(t.name, a))
        )
        return st.lists(one, min_size=min_size, max_size=2).map(tuple)

    def _has_tools(self) -> bool:
        return bool(self.driver.tools())

    @precondition(_has_tools)
    @rule(data=st.data())
    def call_tool(self, data: st.DataObject) -> None:
        """The LLM calls one of the active agent's tools with valid arguments.

        Rules are drawn by index and hypothesis favours low ones, so the one rule that moves
        the workflow comes first (rules sort by name) and covers handoff and staying tools.
        """
        tool = data.draw(st.sampled_from(self.driver.tools()), label="tool")
        args = data.draw(
            valid_arguments(tool.info.parameters, self.driver.words()), label="arguments"
        )
        self.perform(CallTool(tool.name, args))

    @precondition(_has_tools)
    @rule(data=st.data())
    def call_tools_in_rounds(self, data: st.DataObject) -> None:
        """Several tool rounds in one turn, past ``max_tool_steps`` at times."""
        picked = data.draw(
            st.lists(st.sampled_from(self.driver.tools()), min_size=2, max_size=5), label="tools"
        )
        words = self.driver.words()
        calls = tuple(
            CallTool(
                t.name, data.draw(valid_arguments(t.info.parameters, words), label="arguments")
            )
            for t in picked
        )
        self.perform(CallChain(calls))

    @precondition(_has_tools)
    @rule(data=st.data())
    def call_tool_badly(self, data: st.DataObject) -> None:
        """The LLM sends broken JSON, wrong types, or missing / unknown argument names."""
        tool = data.draw(st.sampled_from(self.driver.tools()), label="tool")
        args = data.draw(
            invalid_arguments(tool.info.parameters, self.driver.words()), label="arguments"
        )
        self.perform(CallTool(tool.name, args))

    @rule(data=st.data())
    def call_wrong_tool(self, data: st.DataObject) -> None:
        """The LLM calls another agent's tool, or one nobody has (it must be refused)."""
        foreign = self.driver.foreign_tools()
        names = [t.name for t in foreign] + list(UNKNOWN_TOOLS)
        name = data.draw(st.sampled_from(names), label="tool")
        tool = next((t for t in foreign if t.name == name), None)
        args = {} if tool is None else data.draw(valid_arguments(tool.info.parameters))
        self.perform(CallTool(name, args))

    @precondition(_has_tools)
    @rule(data=st.data(), text=_WORDS)
    def say_during_turn(self, data: st.DataObject, text: str) -> None:
        """The user speaks again while a tool call (maybe a handoff) is still running."""
        tool = data.draw(st.sampled_from(self.driver.tools()), label="tool")
        args = data.draw(
            valid_arguments(tool.info.parameters, self.driver.words()), label="arguments"
        )
        self.perform(SayDuring(CallTool(tool.name, args), text))

    @rule(text=_WORDS)
    def say(self, text: str) -> None:
        """The user speaks; the LLM answers without tools."""
        self.perform(Say(text))

    @precondition(lambda self: bool(self.driver.swap_targets()))
    @rule(data=st.data())
    def update_agent(self, data: st.DataObject) -> None:
        """Program code swaps the agent (a new one, or an earlier one re-entering)."""
        self.perform(data.draw(st.sampled_from(self.driver.swap_targets()), label="swap"))

    @precondition(_has_tools)
    @rule(data=st.data(), error=st.sampled_from(ERRORS))
    def tool_raises(self, data: st.DataObject, error: str) -> None:
        """A tool of the active agent raises ToolError, StopResponse or another exception."""
        tool = data.draw(st.sampled_from(self.driver.tools()), label="tool")
        args = data.draw(
            valid_arguments(tool.info.parameters, self.driver.words()), label="arguments"
        )
        self.perform(ToolRaises(tool.name, args, error))

    @precondition(_has_tools)
    @rule(data=st.data())
    def two_calls(self, data: st.DataObject) -> None:
        """Two tool calls in one step, preferring handoff tools (two handoffs at once)."""
        pool = self.driver.handoff_tools() or self.driver.tools()
        picked = data.draw(st.lists(st.sampled_from(pool), min_size=2, max_size=2), label="tools")
        calls = tuple(
            CallTool(
                t.name,
                data.draw(
                    valid_arguments(t.info.parameters, self.driver.words()), label="arguments"
                ),
            )
            for t in picked
        )
        self.perform(CallParallel(calls))

    @precondition(_has_tools)
    @rule(data=st.data(), fail=st.booleans(), on_enter=st.booleans())
    def task_round_trip(self, data: st.DataObject, fail: bool, on_enter: bool) -> None:
        """A tool awaits an AgentTask completed (or failed) by the next turn or its on_enter."""
        tool = data.draw(st.sampled_from(self.driver.tools()), label="tool")
        args = data.draw(
            valid_arguments(tool.info.parameters, self.driver.words()), label="arguments"
        )
        self.perform(TaskRoundTrip(tool.name, args, fail, on_enter))

    @precondition(lambda self: bool(self.driver.handoff_tools()))
    @rule(data=st.data())
    def handoff_with_greeting_calls(self, data: st.DataObject) -> None:
        """A handoff whose new agent's on_enter reply calls its tools (chains and loops)."""
        tool = data.draw(st.sampled_from(self.driver.handoff_tools()), label="tool")
        args = data.draw(
            valid_arguments(tool.info.parameters, self.driver.words()), label="arguments"
        )
        targets = self.driver.target_tools(tool)
        calls = data.draw(self._enter_calls(targets, 1), label="greeting calls")
        self.perform(CallTool(tool.name, args, calls))

    @precondition(lambda self: bool(self.driver.tools() and self.driver.swap_targets()))
    @rule(data=st.data())
    def update_agent_during_tool(self, data: st.DataObject) -> None:
        """Program code swaps the agent while a tool (maybe a handing-off one) runs."""
        tool = data.draw(st.sampled_from(self.driver.tools()), label="tool")
        args = data.draw(
            valid_arguments(tool.info.parameters, self.driver.words()), label="arguments"
        )
        swap = data.draw(st.sampled_from(self.driver.swap_targets()), label="swap")
        self.perform(UpdateDuringTool(CallTool(tool.name, args), swap))

    # ------------------------------------------------------------------ invariants

    @invariant()
    def workflow_invariants(self) -> None:
        """Every built-in handoff invariant and the user's own (see voxfsm.agents.testing)."""
        try:
            self.driver.check()
        except BaseException:
            self.failed = True
            raise
