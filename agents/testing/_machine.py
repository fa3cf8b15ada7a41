"""The hypothesis ``RuleBasedStateMachine`` whose rules come from the workflow.

Rules only *choose* a step (which tool, which arguments, which words); the driver runs it
through the real session.  Choices depend on the active agent, so each rule's step is drawn
by a strategy that reads what the driver says is possible right now.  One machine instance
= one conversation = one driver.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from typing import Any, ClassVar

from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from voxfsm.agents.tools import FunctionTool

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
    UpdateAgent,
    UpdateDuringTool,
)
from ._coverage import Coverage
from ._driver import Driver, DriverConfig
from ._probe import is_probe_step
from ._schema import arguments_now, index_of, use_words

UNKNOWN_TOOLS = ("no_such_tool", "transfer_to_human", "lookup")
_WORDS = st.text(alphabet="abcdefghijklmnopqrstuvwxyz ?", min_size=1, max_size=16)

# The conversation whose next step is being drawn.  Step strategies are built once per
# process and read it when drawing: building (and having hypothesis validate) strategies
# for every step cost more than the step itself.
_DRIVER: ContextVar[Driver] = ContextVar("voxfsm_testing_driver")


def _tool(draw: st.DrawFn, tools: Sequence[FunctionTool]) -> FunctionTool:
    return tools[draw(index_of(len(tools)), label="tool")]


def _call(draw: st.DrawFn, tool: FunctionTool, kind: str = "valid") -> CallTool:
    schema = tool.info.parameters
    if kind != "invalid" and not schema.get("properties"):
        return CallTool(tool.name, {})  # nothing to choose: no draw
    return CallTool(tool.name, draw(arguments_now(schema, kind), label="arguments"))


_PICKS: dict[tuple[int, int, int], st.SearchStrategy[list[int]]] = {}


def _picks(n: int, lo: int, hi: int) -> st.SearchStrategy[list[int]]:
    """``lo``..``hi`` indexes below ``n`` (built once per shape)."""
    found = _PICKS.get((n, lo, hi))
    if found is None:
        found = _PICKS[(n, lo, hi)] = st.lists(index_of(n), min_size=lo, max_size=hi)
    return found


def _enter_calls(
    draw: st.DrawFn, tools: Sequence[FunctionTool], min_size: int = 0
) -> tuple[CallTool, ...]:
    """Up to two calls the replies asked outside a turn (on_enter greetings) make."""
    if not tools:
        return ()
    picked = draw(_picks(len(tools), min_size, 2), label="greeting calls")
    return tuple(_call(draw, tools[i], "plain") for i in picked)


@st.composite
def _start(draw: st.DrawFn) -> Start:
    d = _DRIVER.get()
    return Start(_enter_calls(draw, d.config.entry_tools))


# Each kind of step: ``fn(draw, driver) -> step``.  ``WorkflowMachine`` draws each through
# its own rule's strategy, ``CheckMachine`` calls them from one (no nested strategy).


def _call_tool(draw: st.DrawFn, d: Driver) -> CallTool:
    return _call(draw, _tool(draw, d.tools()))


def _call_chain(draw: st.DrawFn, d: Driver) -> CallChain:
    tools = d.tools()
    picked = draw(_picks(len(tools), 2, 5), label="tools")
    return CallChain(tuple(_call(draw, tools[i]) for i in picked))


def _call_badly(draw: st.DrawFn, d: Driver) -> CallTool:
    return _call(draw, _tool(draw, d.tools()), "invalid")


def _call_wrong(draw: st.DrawFn, d: Driver) -> CallTool:
    foreign = d.foreign_tools()
    i = draw(index_of(len(foreign) + len(UNKNOWN_TOOLS)), label="tool")
    if i >= len(foreign):
        return CallTool(UNKNOWN_TOOLS[i - len(foreign)], {})
    return _call(draw, foreign[i], "plain")


def _say(draw: st.DrawFn, d: Driver) -> Say:
    return Say(draw(_WORDS, label="text"))


def _say_during(draw: st.DrawFn, d: Driver) -> SayDuring:
    call = _call(draw, _tool(draw, d.tools()))
    return SayDuring(call, draw(_WORDS, label="text"))


def _swap(draw: st.DrawFn, d: Driver) -> UpdateAgent:
    targets = d.swap_targets()
    return targets[draw(index_of(len(targets)), label="swap")]


_ERROR = st.sampled_from(ERRORS)


def _tool_raises(draw: st.DrawFn, d: Driver) -> ToolRaises:
    call = _call(draw, _tool(draw, d.tools()))
    return ToolRaises(call.tool, call.arguments, draw(_ERROR, label="error"))


def _two_calls(draw: st.DrawFn, d: Driver) -> CallParallel:
    pool = d.handoff_tools() or d.tools()
    picked = draw(_picks(len(pool), 2, 2), label="tools")
    return CallParallel(tuple(_call(draw, pool[i]) for i in picked))


_BOOL = st.booleans()


def _round_trip(draw: st.DrawFn, d: Driver) -> TaskRoundTrip:
    call = _call(draw, _tool(draw, d.tools()))
    fail = draw(_BOOL, label="fail")
    on_enter = draw(_BOOL, label="on_enter")
    return TaskRoundTrip(call.tool, call.arguments, fail, on_enter)


def _handoff_with_greeting(draw: st.DrawFn, d: Driver) -> CallTool:
    tool = _tool(draw, d.handoff_tools())
    call = _call(draw, tool)
    calls = _enter_calls(draw, d.target_tools(tool), 1)
    return CallTool(call.tool, call.arguments, calls)


def _update_during_tool(draw: st.DrawFn, d: Driver) -> UpdateDuringTool:
    call = _call(draw, _tool(draw, d.tools()))
    targets = d.swap_targets()
    return UpdateDuringTool(call, targets[draw(index_of(len(targets)), label="swap")])


def _strategy(kind: Callable[[st.DrawFn, Driver], Action]) -> st.SearchStrategy[Any]:
    """One kind of step as a strategy (a rule's argument) for the current conversation."""

    @st.composite
    def step(draw: st.DrawFn) -> Action:
        d = _DRIVER.get()
        use_words(d.words)  # what free-text arguments drawn now may mention
        return kind(draw, d)

    return step()


def _has_tools(d: Driver) -> bool:
    return bool(d.tools())


def _can_hand_off(d: Driver) -> bool:
    return bool(d.handoff_tools())


def _can_swap(d: Driver) -> bool:
    return d.can_swap()


def _can_swap_during_tool(d: Driver) -> bool:
    return bool(d.tools()) and d.can_swap()


class Conversation(RuleBasedStateMachine):
    """One generated conversation: the driver, its start, the checks after every step.

    :class:`WorkflowMachine` adds the start, one rule per kind of step and the checks as an
    invariant; :class:`CheckMachine` (what ``check_workflow`` runs) one rule for all.
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
        _DRIVER.set(self.driver)

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

    def begin(self, step: Start) -> None:
        """``session.start``; the entry's greeting may call its tools (awaited in on_enter)."""
        try:
            self.driver.start(step)
        except BaseException:
            self.failed = True
            raise

    def check(self) -> None:
        """Every built-in handoff invariant and the user's own (see voxfsm.agents.testing)."""
        try:
            self.driver.check()
        except BaseException:
            self.failed = True
            raise

    def _has_tools(self) -> bool:
        return _has_tools(self.driver)


_KINDS = (
    # (rule name, when it can happen, the step it draws); in rule order (by name)
    ("call_tool", _has_tools, _call_tool),
    ("call_tool_badly", _has_tools, _call_badly),
    ("call_tools_in_rounds", _has_tools, _call_chain),
    ("call_wrong_tool", None, _call_wrong),
    ("handoff_with_greeting_calls", _can_hand_off, _handoff_with_greeting),
    ("say", None, _say),
    ("say_during_turn", _has_tools, _say_during),
    ("task_round_trip", _has_tools, _round_trip),
    ("tool_raises", _has_tools, _tool_raises),
    ("two_calls", _has_tools, _two_calls),
    ("update_agent", _can_swap, _swap),
    ("update_agent_during_tool", _can_swap_during_tool, _update_during_tool),
)


def _possible(d: Driver) -> list[Callable[[st.DrawFn, Driver], Action]]:
    exclude = d.config.exclude
    known: dict[Any, bool] = {None: True}  # each condition asked once
    out: list[Callable[[st.DrawFn, Driver], Action]] = []
    for name, can, draw in _KINDS:
        if name in exclude:
            continue
        ok = known.get(can)
        if ok is None:
            ok = known[can] = bool(can(d))  # type: ignore[misc]
        if ok:
            out.append(draw)
    return out


@st.composite
def _any_step(draw: st.DrawFn) -> Action:
    """The start, or any step possible now: the kind first (as ``WorkflowMachine`` picks a
    rule), then the step."""
    d = _DRIVER.get()
    if d.session is None:
        return Start(_enter_calls(draw, d.config.entry_tools))
    kinds = d.option("kinds", _possible)
    if not kinds:
        raise ValueError(
            f"every kind of step is excluded ({sorted(d.config.exclude)}): nothing to generate"
        )
    use_words(d.words)
    return kinds[draw(index_of(len(kinds)), label="kind")](draw, d)


class WorkflowMachine(Conversation):
    """Base class; :func:`~voxfsm.agents.testing.workflow_state_machine` subclasses it per workflow.

    One hypothesis rule per kind of step (see :data:`~voxfsm.agents.testing.RULES`).
    Subclass it further to add ``@rule``/``@invariant`` methods: ``self.driver.session`` is
    the running session, ``self.perform(step)`` runs a step.
    """

    @initialize(step=_start())
    def start(self, step: Start) -> None:
        """``session.start``; the entry's greeting may call its tools (awaited in on_enter)."""
        self.begin(step)

    @invariant()
    def workflow_invariants(self) -> None:
        """Every built-in handoff invariant and the user's own (see voxfsm.agents.testing)."""
        self.check()

    # ------------------------------------------------------------------ rules
    # Rules only say *which kind* of step; each step is drawn whole by one strategy that
    # reads the conversation (see the strategies above).

    @precondition(Conversation._has_tools)
    @rule(step=_strategy(_call_tool))
    def call_tool(self, step: CallTool) -> None:
        """The LLM calls one of the active agent's tools with valid arguments.

        Rules are drawn by index and hypothesis favours low ones, so the one rule that moves
        the workflow comes first (rules sort by name) and covers handoff and staying tools.
        """
        self.perform(step)

    @precondition(Conversation._has_tools)
    @rule(step=_strategy(_call_chain))
    def call_tools_in_rounds(self, step: CallChain) -> None:
        """Several tool rounds in one turn, past ``max_tool_steps`` at times."""
        self.perform(step)

    @precondition(Conversation._has_tools)
    @rule(step=_strategy(_call_badly))
    def call_tool_badly(self, step: CallTool) -> None:
        """The LLM sends broken JSON, wrong types, or missing / unknown argument names."""
        self.perform(step)

    @rule(step=_strategy(_call_wrong))
    def call_wrong_tool(self, step: CallTool) -> None:
        """The LLM calls another agent's tool, or one nobody has (it must be refused)."""
        self.perform(step)

    @precondition(Conversation._has_tools)
    @rule(step=_strategy(_say_during))
    def say_during_turn(self, step: SayDuring) -> None:
        """The user speaks again while a tool call (maybe a handoff) is still running."""
        self.perform(step)

    @rule(text=_WORDS)
    def say(self, text: str) -> None:
        """The user speaks; the LLM answers without tools."""
        self.perform(Say(text))

    @precondition(lambda self: _can_swap(self.driver))
    @rule(step=_strategy(_swap))
    def update_agent(self, step: UpdateAgent) -> None:
        """Program code swaps the agent (a new one, or an earlier one re-entering)."""
        self.perform(step)

    @precondition(Conversation._has_tools)
    @rule(step=_strategy(_tool_raises))
    def tool_raises(self, step: ToolRaises) -> None:
        """A tool of the active agent raises ToolError, StopResponse or another exception."""
        self.perform(step)

    @precondition(Conversation._has_tools)
    @rule(step=_strategy(_two_calls))
    def two_calls(self, step: CallParallel) -> None:
        """Two tool calls in one step, preferring handoff tools (two handoffs at once)."""
        self.perform(step)

    @precondition(Conversation._has_tools)
    @rule(step=_strategy(_round_trip))
    def task_round_trip(self, step: TaskRoundTrip) -> None:
        """A tool awaits an AgentTask completed (or failed) by the next turn or its on_enter."""
        self.perform(step)

    @precondition(lambda self: _can_hand_off(self.driver))
    @rule(step=_strategy(_handoff_with_greeting))
    def handoff_with_greeting_calls(self, step: CallTool) -> None:
        """A handoff whose new agent's on_enter reply calls its tools (chains and loops)."""
        self.perform(step)

    @precondition(lambda self: _can_swap_during_tool(self.driver))
    @rule(step=_strategy(_update_during_tool))
    def update_agent_during_tool(self, step: UpdateDuringTool) -> None:
        """Program code swaps the agent while a tool (maybe a handing-off one) runs."""
        self.perform(step)


class CheckMachine(Conversation):
    """What ``check_workflow`` runs: the same steps and checks as :class:`WorkflowMachine`,
    with the kind of each step drawn inside one rule.

    Hypothesis's per-step rule selection (swarm flags, preconditions of every rule) and its
    per-conversation set-up of initialize rules cost more than drawing a step; here the
    first step drawn is the start, the kind of each later one is one index among the kinds
    possible now (in the same order as the rules), and the checks run inside the rule.
    Its ``stateful_step_count`` is one more than the steps after the start.
    """

    @rule(step=_any_step())
    def step(self, step: Action) -> None:
        """The start, then one generated step of any kind; the checks after each."""
        if isinstance(step, Start):
            self.begin(step)
        else:
            self.perform(step)
        self.check()
