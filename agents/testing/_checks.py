"""The handoff invariants, as functions over a driver's session and what it recorded.

Each check raises :class:`WorkflowFailure` naming the rule, what was seen, and what to fix.
They read the session's public state (history, trace, current agent, machine state) plus
the driver's recordings (hooks, tool executions, constructions); ``status`` is the one
engine-private attribute read, because "active" and "paused" are not exposed otherwise.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NoReturn

from voxfsm.agents import AgentHandoff, FunctionCall, FunctionCallOutput
from voxfsm.agents.run_result import FunctionCallEvent, FunctionCallOutputEvent
from voxfsm.fsm.spec import Step

from ._report import WorkflowFailure

if TYPE_CHECKING:
    from voxfsm.agents import Agent

    from ._actions import CallTool, TaskRoundTrip
    from ._driver import Driver
    from ._probe import Execution

UNSET: Any = object()
INTERNAL_ERROR = "An internal error occurred"  # API.md, tool outcome table


def _fail(check: str, message: str) -> NoReturn:
    raise WorkflowFailure(check, message)


def userdata_of(session: Any) -> Any:
    try:
        return session.userdata
    except ValueError:
        return UNSET


def shape(value: Any) -> frozenset[str]:
    """Keys (dict) or attribute names (objects) of userdata: what must never disappear."""
    if value is UNSET or value is None:
        return frozenset()
    if isinstance(value, dict):
        return frozenset(str(k) for k in value)
    names = getattr(value, "__dict__", None)
    return frozenset(names) if isinstance(names, dict) else frozenset()


def open_task_triggers(steps: Sequence[Step]) -> list[str | None]:
    """Triggers of AgentTask calls that have not returned yet (innermost last)."""
    stack: list[str | None] = []
    for step in steps:
        if step.kind == "task":
            stack.append(step.trigger)
        elif step.kind == "return" and stack:
            stack.pop()
    return stack


# --------------------------------------------------------------------------- invariants


def check_all(d: Driver) -> None:
    one_active_agent(d)
    handoff_chain(d)
    hooks_in_order(d, closed=False)
    only_active_tools_run(d)
    userdata_survives(d)
    fresh_contexts(d)
    calls_have_one_output(d)
    history_only_grows(d)
    no_undeclared_handoff(d)
    user_invariants(d)


def one_active_agent(d: Driver) -> None:
    s = d.session
    current = s.current_agent
    active = [a for a in d.agents if a.status == "active"]
    if len(active) != 1 or active[0] is not current:
        other = [a.id if a is current else f"{a.id} (another instance)" for a in active]
        _fail(
            "one-active-agent",
            f"expected exactly the current agent {current.id!r} to be active, found {other}",
        )
    if s.machine.state != current.id:
        _fail(
            "machine-state",
            f"session.machine.state is {s.machine.state!r} but current_agent is {current.id!r}",
        )
    paused = [a for a in d.agents if a.status == "paused"]
    waiting = open_task_triggers(d.steps())
    if len(paused) != len(waiting):
        _fail(
            "one-active-agent",
            f"{len(paused)} paused agent(s) {[a.id for a in paused]} but {len(waiting)} "
            "AgentTask(s) still running; only a caller awaiting a task may be paused",
        )


def handoff_chain(d: Driver) -> None:
    s = d.session
    handoffs = [it for it in s.history.items if isinstance(it, AgentHandoff)]
    steps = d.steps()
    pairs = [(h.old_agent_id, h.new_agent_id) for h in handoffs]
    want = [(None, d.entry.id if d.entry else None)] + [(st.source, st.target_id) for st in steps]
    if pairs != want:
        _fail(
            "handoff-records",
            "history must hold one AgentHandoff per activation, starting with "
            f"(None -> entry) and chained; history has {pairs}, transitions taken were {want}",
        )
    committed = [(c.old_agent_id, c.new_agent_id) for c, _ in d.commits]
    if committed != pairs:
        _fail(
            "handoff-records",
            f"the session committed {committed} but history records {pairs}; every change "
            "of the active agent must leave exactly one AgentHandoff",
        )
    for a, b in itertools.pairwise(pairs):
        if a[1] != b[0]:
            _fail("handoff-records", f"AgentHandoff {b} does not continue from {a}")
    if pairs and pairs[-1][1] != s.current_agent.id:
        _fail(
            "handoff-records",
            f"the last AgentHandoff leads to {pairs[-1][1]!r} but current_agent is "
            f"{s.current_agent.id!r}",
        )


def _expected_hooks(d: Driver, closed: bool) -> list[tuple[str, Any]]:
    # each commit the listener saw, with the agent it made current
    out: list[tuple[str, Any]] = []
    stack: list[Any] = []
    for commit, new in d.commits:
        if commit.kind == "start" or not stack:
            out.append(("enter", new))
            stack = [new]
        elif commit.kind == "task":
            out.append(("enter", new))
            stack.append(new)
        elif commit.kind == "return":
            out.append(("exit", stack.pop() if len(stack) > 1 else stack[-1]))
        else:
            out.append(("exit", stack[-1]))
            out.append(("enter", new))
            stack[-1] = new
    if closed and stack:
        out.append(("exit", stack[-1]))
    return out


def hooks_in_order(d: Driver, *, closed: bool) -> None:
    want = _expected_hooks(d, closed)
    got = d.hooks
    if len(got) != len(want) or any(
        g[0] != w[0] or g[1] is not w[1] for g, w in zip(got, want, strict=False)
    ):
        names = {id(a): f"{a.id}#{n}" for n, (_, a) in enumerate(d.commits)}
        show = lambda seq: ", ".join(f"{k} {names.get(id(a), a.id)}" for k, a in seq)  # noqa: E731
        _fail(
            "hooks",
            "on_enter must run once per start or re-entry (never on an AgentTask resume) and "
            f"on_exit once per exit, in order.\n  expected: {show(want)}\n  ran:      {show(got)}",
        )


def only_active_tools_run(d: Driver) -> None:
    for ex in d.executions:
        if not ex.while_active:
            _fail(
                "only-active-tools",
                f"tool {ex.tool!r} of agent {ex.owner!r} ran while that agent was not active",
            )


def userdata_survives(d: Driver) -> None:
    now = userdata_of(d.session)
    if now is not d.userdata:
        _fail(
            "userdata",
            f"session.userdata was replaced ({type(d.userdata).__name__} -> "
            f"{type(now).__name__}); mutate the object instead of assigning a new one",
        )
    lost = d.userdata_shape - shape(now)
    if lost:
        _fail(
            "userdata",
            f"userdata lost {sorted(lost)} (cleared or deleted); keep the fields the session "
            "started with and reset their values instead",
        )


def fresh_contexts(d: Driver) -> None:
    if d.not_fresh:
        _fail(
            "fresh-context",
            d.not_fresh[0] + "; a new agent must start with only its instructions unless "
            "chat_ctx= is passed",
        )


class OutputLedger:
    """Calls and outputs seen in a session's history, read incrementally (it only grows;
    when it did not, it is read again from the start and ``history-grows`` reports it)."""

    def __init__(self) -> None:
        self.seen = 0
        self.last: Any = None
        self.calls: dict[str, str] = {}
        self.outputs: Counter[str] = Counter()
        self.open_groups: list[list[str]] = []  # calls emitted together, some without output
        self.doubled: list[str] = []
        self.orphan: str | None = None  # an output that came before or without its call

    def read(self, items: Sequence[Any]) -> OutputLedger:
        n = len(items)
        if n < self.seen or (self.seen and items[self.seen - 1] is not self.last):
            return OutputLedger().read(items)
        previous = self.last
        calls, outputs = self.calls, self.outputs
        for item in items[self.seen :]:
            if isinstance(item, FunctionCall):
                calls[item.call_id] = item.name
                if not isinstance(previous, FunctionCall):
                    self.open_groups.append([])
                self.open_groups[-1].append(item.call_id)
            elif isinstance(item, FunctionCallOutput):
                if item.call_id not in calls and self.orphan is None:
                    self.orphan = item.name
                outputs[item.call_id] += 1
                if outputs[item.call_id] == 2:
                    self.doubled.append(calls.get(item.call_id, item.name))
            previous = item
        self.seen, self.last = n, previous
        return self


def calls_have_one_output(d: Driver) -> None:
    ledger = d.output_ledger = d.output_ledger.read(d.session.history.items)
    if ledger.orphan is not None:
        _fail("call-output", f"output for {ledger.orphan!r} comes before or without its call")
    if ledger.doubled:
        _fail("call-output", f"tool call(s) {ledger.doubled} got more than one output")
    outputs, calls = ledger.outputs, ledger.calls
    # groups whose outputs all arrived never reopen: keep only the others
    ledger.open_groups = [g for g in ledger.open_groups if not all(outputs[c] for c in g)]
    if not ledger.open_groups:
        return
    # a step's outputs are recorded together once all its tools finish, so a step with a
    # tool awaiting a running AgentTask has no outputs yet; any other missing one is a bug
    waiting: Counter[str] = Counter(t for t in open_task_triggers(d.steps()) if t is not None)
    for group in ledger.open_groups:
        pending = [c for c in group if not outputs[c]]
        awaiting = next((calls[c] for c in pending if waiting[calls[c]] > 0), None)
        if awaiting is None:
            _fail(
                "call-output",
                f"tool call(s) {[calls[c] for c in pending]} have no output, and no AgentTask "
                "they could be waiting for is running",
            )
        waiting[awaiting] -= 1


def history_only_grows(d: Driver) -> None:
    items = d.session.history.items
    before = d.history_seen
    if len(items) < len(before) or any(a is not b for a, b in zip(before, items, strict=False)):
        _fail("history-grows", "session.history lost or reordered items it already had")
    d.history_seen = list(items)


def no_undeclared_handoff(d: Driver) -> None:
    for step in d.steps():
        if not step.declared and "voxfsm_probe_task" not in (step.source, step.target_id):
            cls = step.target if isinstance(step.target, type) else type(step.target)
            target = cls.__name__
            _fail(
                "undeclared-handoff",
                f"tool {step.trigger!r} of agent {step.source!r} handed off to {step.target_id!r},"
                f" which it does not declare; add handoff={target} to its @function_tool or "
                f"annotate it `-> {target}`",
            )


def user_invariants(d: Driver) -> None:
    for inv in d.config.invariants:
        name = getattr(inv, "__name__", repr(inv))
        try:
            ok = inv(d.session)
        except AssertionError as exc:
            _fail(f"invariant:{name}", str(exc) or f"{name} failed")
        if ok is False:
            _fail(f"invariant:{name}", f"{name}(session) returned False")


# --------------------------------------------------------------------------- per step


def call_outputs(events: Sequence[Any], n: int) -> list[FunctionCallOutput | None]:
    """Outputs of the first ``n`` calls of a run, matched by call id (None when missing)."""
    ids = [e.item.call_id for e in events if isinstance(e, FunctionCallEvent)][:n]
    by_id = {e.item.call_id: e.item for e in events if isinstance(e, FunctionCallOutputEvent)}
    return [by_id.get(i) for i in ids] + [None] * (n - len(ids))


def judge_calls(
    d: Driver,
    agent: Agent,
    calls: list[CallTool],
    expected: list[str],
    outputs: list[FunctionCallOutput | None],
    executions: list[Execution],
    agent_returns: list[str],
    steps: Sequence[Step],
    raised: str | None,
) -> None:
    """The outcome table of API.md for the calls this step planned."""
    if all(o is None for o in outputs):
        return  # on_user_turn_completed stopped the turn, or the LLM was not asked
    refused = {c.tool for c, e in zip(calls, expected, strict=True) if e != "ok"}
    for call, exp, out in zip(calls, expected, outputs, strict=True):
        if exp != "ok" and out is not None and not out.is_error:
            _fail(
                "refused-call",
                f"{exp} call {call.tool}({call.arguments!r}) on agent {agent.id!r} must give an "
                f"error output, got {out.output!r}",
            )
    ran_refused = [ex.tool for ex in executions if ex.tool in refused and len(calls) == 1]
    if ran_refused:
        _fail(
            "refused-call",
            f"tool {ran_refused[0]!r} ran although the call was refused ({expected[0]})",
        )
    if len(calls) == 1 and expected[0] != "ok" and any(s.source == agent.id for s in steps):
        _fail("refused-call", f"a refused call to {calls[0].tool!r} still changed the agent")
    tools = set(agent_returns)
    if len(agent_returns) > 1 and any(s.source == agent.id and s.trigger in tools for s in steps):
        _fail(
            "double-handoff",
            f"{agent_returns} all returned agents in one step; none may hand "
            "off (each gets an error output)",
        )
    if raised is not None and expected[0] == "ok" and outputs[0] is not None:
        out = outputs[0]
        want = {
            "ToolError": ("injected tool error", True),
            "StopResponse": ("", False),
            "RuntimeError": (INTERNAL_ERROR, True),
        }[raised]
        if (out.output, out.is_error) != want:
            _fail(
                "tool-outcome",
                f"{calls[0].tool} raising {raised} must record output {want[0]!r} with "
                f"is_error={want[1]}, got {out.output!r} is_error={out.is_error}",
            )
        if any(s.source == agent.id for s in steps):
            _fail("tool-outcome", f"{calls[0].tool} raised {raised} but the agent changed")


def judge_round_trip(
    d: Driver, caller: Agent, probe: Agent, action: TaskRoundTrip, items: Sequence[Any]
) -> None:
    """After the probe completes: back to the caller, and its tool's output after the return."""
    if d.session.current_agent is not caller:
        _fail(
            "task-return",
            f"after the AgentTask completed, {d.session.current_agent.id!r} is active instead "
            f"of the caller {caller.id!r}",
        )
    back = [
        i
        for i, it in enumerate(items)
        if isinstance(it, AgentHandoff) and it.old_agent_id == probe.id
    ]
    outs = [
        i
        for i, it in enumerate(items)
        if isinstance(it, FunctionCallOutput) and it.name == action.tool
    ]
    if not back or not outs or outs[0] < back[0]:
        _fail(
            "task-return",
            f"the output of {action.tool!r} (awaiting the task) must come after the "
            f"AgentHandoff {probe.id} -> {caller.id}; history order was "
            f"{[type(it).__name__ for it in items]}",
        )
    out = items[outs[0]]
    want = ("probe failed", True) if action.fail else ("probe done", False)
    if (out.output, out.is_error) != want:
        _fail(
            "task-return",
            f"{action.tool} awaited a task completed with "
            f"{'an error' if action.fail else 'a result'}; its output must be {want[0]!r} "
            f"(is_error={want[1]}), got {out.output!r} is_error={out.is_error}",
        )


def judge_queued_input(d: Driver, text: str, before: Agent, expected: Agent) -> None:
    """A line said during a turn is stored once, for the agent active after that turn."""
    said = [
        it
        for it in d.session.history.items
        if getattr(it, "type", "") == "message" and it.role == "user" and it.text_content == text
    ]
    if len(said) != 1:
        _fail(
            "queued-input",
            f"the user's line {text!r}, said while a turn was running, appears {len(said)} "
            "times in history; it must be queued and kept exactly once",
        )
    if all(it is not said[0] for it in expected.chat_ctx.items):
        _fail(
            "queued-input",
            f"the line said during the turn must go to {expected.id!r} (active once the turn "
            "and its handoff finished), but it is not in that agent's context",
        )
    if before is not expected and any(it is said[0] for it in before.chat_ctx.items):
        _fail(
            "queued-input",
            f"the line said during the handoff went to the old agent {before.id!r}",
        )


def judge_tool_rounds(d: Driver, agent: Agent, events: Sequence[Any]) -> None:
    """``max_tool_steps`` bounds the consecutive tool rounds of one reply."""
    rounds = 0
    for event in events:
        kind = getattr(event, "type", "")
        if kind == "agent_handoff":
            break  # the new agent's own replies are not part of this reply loop
        if kind == "function_call":
            rounds += 1
    limit = d.session.max_tool_steps
    if rounds > limit:
        _fail(
            "tool-rounds",
            f"agent {agent.id!r} ran {rounds} consecutive tool rounds in one turn; "
            f"AgentSession(max_tool_steps={limit}) allows {limit}, then one reply without tools",
        )
