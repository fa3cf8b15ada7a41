"""Property-test any workflow: hypothesis drives generated conversations through a real session.

Three ways in, all checking the same handoff invariants::

    from voxfsm.agents.testing import check_workflow, workflow_state_machine

    # 1. a pytest test class (hypothesis runs, shrinks and reports like any stateful test)
    TestDesk = workflow_state_machine(Desk, userdata_factory=Order).TestCase

    # 2. a function returning a report (what ``voxfsm check APP`` uses)
    report = check_workflow(Desk, examples=50, steps=20, seed=1)
    report.raise_on_failure()
    report.coverage.require(0.8)          # transition coverage threshold

    # 3. replay a shrunk failure (check reports print this as a ready-made test)
    replay(Desk, [CallTool("to_billing", {}), Say("hi")])

The session is observed through its listener seam (``session.add_listener``: commits, hooks,
replies, tool calls) and its LLM is a ``ScriptedLLM`` with a callable script given to the
session; nothing of the workflow is patched (a tool body is replaced only through
``mock_tools``, for the steps that say so).

A conversation starts with ``session.start`` whose greeting may call the entry's tools.
Each generated step is a user turn whose LLM response comes from hypothesis: a call of one
of the active agent's tools with
arguments drawn from its JSON schema, valid or not; a call of another agent's tool or of an
unknown one; plain words; ``session.update_agent()`` to a new agent or back to an earlier
one; a tool made to raise ``ToolError``/``StopResponse``/another exception; two calls in
one step; several tool rounds in one turn; a tool that awaits an ``AgentTask`` completed
(or failed) on the next turn or by its own ``on_enter`` reply; a handoff whose new agent's
greeting calls its tools (handoff chains and loops); ``update_agent`` while a tool runs;
the user speaking again while a turn (and its handoff) is still running.  Every
conversation ends with two overlapping ``aclose()`` calls.

After every step these must hold (each failure names its rule in brackets):

- ``one-active-agent``/``machine-state``: exactly the current agent is active (plus callers
  paused on a running AgentTask) and ``session.machine.state == current_agent.id``;
- ``handoff-records``: one ``AgentHandoff`` per activation, chained, the first from ``None``;
- ``hooks``: ``on_enter`` once per start or re-entry (not on an AgentTask resume),
  ``on_exit`` once per exit, in that order (as the listener reports them);
- ``only-active-tools``: a tool body only runs while its agent is the active one;
- ``userdata``: the userdata object is never replaced, and keys / attributes it started
  with never disappear;
- ``fresh-context``: an agent constructed without ``chat_ctx`` holds only its instructions;
- ``call-output``: every function call has exactly one output (or awaits a running task);
- ``history-grows``: ``session.history`` only ever appends;
- ``undeclared-handoff``: every tool handoff is declared (``handoff=`` or return annotation);
- ``refused-call``/``double-handoff``/``tool-outcome``/``task-return``: the outcome table of
  the API (unknown, foreign or invalid calls give an error and run nothing, ...);
- ``tool-rounds``: a turn runs at most ``max_tool_steps`` consecutive tool rounds;
- ``queued-input``: a line said during a turn is kept once and goes to the agent that is
  active after that turn's handoff;
- ``handoff-loop``/``limit``: a step activates at most ``max_activations`` agents and hits
  no bound of the session (``max_handoffs_per_turn``, tool timeouts, ...);
- ``deadlock``: every step — ``start()``, ``run()``, ``update_agent()``, ``aclose()`` —
  finishes within ``step_timeout`` seconds (default 5); a step that can never finish
  (nothing left to run) is reported at once.  The message names the call, the step and
  what was still running;
- ``aclose``: two overlapping ``aclose()`` calls both return;
- ``invariant:NAME``: your own ``invariants``, callables ``fn(session)`` that raise
  ``AssertionError`` or return ``False`` when violated.

A workflow that reads ``session.userdata`` while none was given stops the run with one
:class:`WorkflowUsageError` (give ``userdata_factory=``/``session_factory=``, or define
``make_session()`` for ``voxfsm check``).  This module loads no hypothesis on import.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from ._actions import (
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
from ._coverage import Coverage, format_edge
from ._report import Failure, WorkflowFailure, WorkflowReport
from ._shrink import attempt, failure_of

if TYPE_CHECKING:
    from voxfsm.fsm.graph import WorkflowGraph

    from ._driver import DriverConfig
    from ._machine import Conversation, WorkflowMachine

__all__ = [
    "RULES",
    "Action",
    "CallChain",
    "CallParallel",
    "CallTool",
    "Coverage",
    "Failure",
    "Say",
    "SayDuring",
    "Start",
    "TaskRoundTrip",
    "ToolRaises",
    "UpdateAgent",
    "UpdateDuringTool",
    "WorkflowFailure",
    "WorkflowReport",
    "WorkflowUsageError",
    "check_workflow",
    "declared_edges",
    "format_edge",
    "replay",
    "workflow_state_machine",
]

Invariant = Callable[[Any], Any]


class WorkflowUsageError(ValueError):
    """The check cannot run this workflow as given (e.g. it needs userdata nobody supplied).

    Raised once, before any report: the message says what to pass or define.
    """


RULES = (
    "call_tool",
    "handoff_with_greeting_calls",
    "update_agent_during_tool",
    "call_tools_in_rounds",
    "call_tool_badly",
    "call_wrong_tool",
    "say",
    "say_during_turn",
    "update_agent",
    "tool_raises",
    "two_calls",
    "task_round_trip",
)
"""The rules of the generated machine, by method name (what ``exclude=`` accepts)."""


def declared_edges(graph: WorkflowGraph) -> frozenset[tuple[str, str, str | None]]:
    """Edges coverage counts: each declared handoff, and a stay edge per non-handoff tool."""
    edges: set[tuple[str, str, str | None]] = set()
    for state in graph.states:
        for tool in state.tools:
            if not tool.hands_off:
                edges.add((state.id, tool.name, None))
    for edge in graph.edges:
        if edge.declared and edge.tool is not None and edge.kind in ("handoff", "task"):
            edges.add((edge.source, edge.tool, edge.target))
    return frozenset(edges)


def _config(
    entry: Any,
    session_factory: Callable[[], Any] | None,
    userdata_factory: Callable[[], Any] | None,
    invariants: Iterable[Invariant],
    max_activations: int,
    step_timeout: float,
    exclude: Iterable[str] = (),
    loops: Any = None,
) -> DriverConfig:
    from voxfsm.agents import Agent
    from voxfsm.fsm.graph import build_graph

    from ._driver import DriverConfig

    described: Any = entry
    if not (isinstance(entry, Agent) or (isinstance(entry, type) and issubclass(entry, Agent))):
        if not callable(entry):
            raise TypeError(
                f"entry must be an Agent class, an Agent instance or a zero-argument factory "
                f"returning one, got {entry!r}"
            )
        described = entry()  # a factory: building one is the only way to see what it makes
    graph = build_graph(described)
    classes = {s.id: s.cls for s in graph.states}
    return DriverConfig(
        entry=entry,
        described=described,
        session_factory=session_factory,
        userdata_factory=userdata_factory,
        invariants=tuple(invariants),
        classes=classes,
        declared=declared_edges(graph),
        max_activations=max_activations,
        step_timeout=step_timeout,
        exclude=frozenset(exclude),
        loops=loops,
    )


def workflow_state_machine(
    entry: Any,
    *,
    session_factory: Callable[[], Any] | None = None,
    userdata_factory: Callable[[], Any] | None = None,
    invariants: Iterable[Invariant] = (),
    max_examples: int = 100,
    steps: int = 30,
    max_activations: int = 20,
    step_timeout: float = 5.0,
    exclude: Iterable[str] = (),
    name: str | None = None,
) -> type[WorkflowMachine]:
    """A hypothesis ``RuleBasedStateMachine`` class that property-tests the workflow.

    ``entry`` is the first agent: an ``Agent`` subclass, an instance (reused by every
    conversation, so prefer a class or a factory) or a zero-argument factory.
    ``session_factory()`` returns an unstarted ``AgentSession`` (its LLM is replaced by the
    generated choices); ``userdata_factory()`` gives each conversation fresh userdata.
    ``invariants`` are ``fn(session)`` callables checked after every step.

    ``exclude`` names rules not to generate (see :data:`RULES`), e.g. ``("update_agent",)``
    for a workflow that never swaps agents from code.

    ``Machine.TestCase`` is a ``unittest.TestCase`` pytest collects (``max_examples`` and
    ``steps`` set its settings); ``Machine.coverage`` accumulates transition coverage over
    every conversation the class ran.
    """
    from ._machine import WorkflowMachine

    machine: type[WorkflowMachine] = _machine_class(
        WorkflowMachine,
        entry,
        session_factory,
        userdata_factory,
        invariants,
        max_activations,
        step_timeout,
        exclude,
        name,
    )
    for rule_name in machine.config.exclude:
        setattr(machine, rule_name, None)  # a None attribute is no rule for hypothesis
    _set_test_settings(machine, max_examples, steps)
    return machine


def _machine_class(
    base: type[Any],
    entry: Any,
    session_factory: Callable[[], Any] | None,
    userdata_factory: Callable[[], Any] | None,
    invariants: Iterable[Invariant],
    max_activations: int,
    step_timeout: float,
    exclude: Iterable[str],
    name: str | None,
    loops: Any = None,
) -> Any:
    unknown = set(exclude) - set(RULES)
    if unknown:
        raise ValueError(f"cannot exclude {sorted(unknown)}: the rules are {', '.join(RULES)}")
    config = _config(
        entry,
        session_factory,
        userdata_factory,
        invariants,
        max_activations,
        step_timeout,
        exclude,
        loops,
    )
    label = name or f"{_name_of(entry)}Workflow"
    namespace: dict[str, Any] = {
        "config": config,
        "coverage": Coverage(entry=config.described, declared=config.declared),
    }
    return type(label, (base,), namespace)


def _set_test_settings(machine: Any, max_examples: int, steps: int) -> None:
    from hypothesis import HealthCheck, settings

    machine.TestCase.settings = settings(
        max_examples=max_examples,
        stateful_step_count=steps,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )


def check_workflow(
    entry: Any,
    *,
    session_factory: Callable[[], Any] | None = None,
    userdata_factory: Callable[[], Any] | None = None,
    invariants: Iterable[Invariant] = (),
    examples: int = 100,
    steps: int = 30,
    seed: int | None = None,
    max_activations: int = 20,
    step_timeout: float = 5.0,
    exclude: Iterable[str] = (),
    progress: Callable[[int], None] | bool | None = None,
    entry_import: str | None = None,
    entry_expr: str | None = None,
    replay_kwargs: str | None = None,
) -> WorkflowReport:
    """Run ``examples`` generated conversations of up to ``steps`` steps; return a report.

    On a failure hypothesis shrinks it first; the report's ``failure`` holds the smallest
    step list, shown as a conversation and as a regression test (``entry_import``,
    ``entry_expr`` and ``replay_kwargs`` say how that test gets the entry and factories;
    they default to importing the entry by its module and name).  ``progress(n)`` is
    called after every conversation (shrinking included); ``progress=True`` shows a rich
    progress bar on stderr instead.  ``seed`` makes a run repeatable.

    It generates the same steps and checks as :func:`workflow_state_machine`, but through
    one hypothesis rule that draws the kind of each step too (``CheckMachine``): hypothesis's
    per-rule bookkeeping cost more per step than the step's own drawing.
    """
    if _loop_running():
        # the generated conversations run on event loops of their own, which cannot nest in a
        # running one (a notebook cell, an async test): run the whole check in a thread
        with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="voxfsm-check") as pool:
            return pool.submit(
                check_workflow,
                entry,
                session_factory=session_factory,
                userdata_factory=userdata_factory,
                invariants=invariants,
                examples=examples,
                steps=steps,
                seed=seed,
                max_activations=max_activations,
                step_timeout=step_timeout,
                exclude=exclude,
                progress=progress,
                entry_import=entry_import,
                entry_expr=entry_expr,
                replay_kwargs=replay_kwargs,
            ).result()
    from ._loop import LoopPool
    from ._machine import CheckMachine

    invariants = tuple(invariants)
    machine = _machine_class(
        CheckMachine,
        entry,
        session_factory,
        userdata_factory,
        invariants,
        max_activations,
        step_timeout,
        exclude,
        None,
        LoopPool(),  # conversations hand their event loop on; closed when the check ends
    )
    coverage = machine.coverage
    with contextlib.ExitStack() as stack:
        if progress is True:
            progress = stack.enter_context(_rich_progress(examples))
        if callable(progress):
            callback = progress
            machine.on_conversation = staticmethod(lambda _driver: callback(coverage.conversations))
        return _usage_checked(
            _run,
            machine,
            examples,
            steps,
            seed,
            entry,
            invariants,
            entry_import,
            entry_expr,
            replay_kwargs,
        )


def _loop_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


@contextlib.contextmanager
def _rich_progress(total: int) -> Iterator[Callable[[int], None]]:
    """A transient rich progress bar on stderr; yields the callback that advances it."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("conversations", total=total)

        def advance(done: int) -> None:
            if done > total:
                bar.update(task, description="shrinking a failure", total=None)
            bar.update(task, completed=done)

        yield advance


def _run(
    machine: type[Conversation],
    examples: int,
    steps: int,
    seed: int | None,
    entry: Any,
    invariants: Sequence[Invariant],
    entry_import: str | None,
    entry_expr: str | None,
    replay_kwargs: str | None,
) -> WorkflowReport:
    import hypothesis
    from hypothesis import HealthCheck, Phase, Verbosity, settings
    from hypothesis.stateful import run_state_machine_as_test

    coverage = machine.coverage
    if seed is not None:
        hypothesis.seed(seed)(machine)
    run_settings = settings(
        max_examples=examples,
        stateful_step_count=steps + 1,  # CheckMachine's first step is the start
        deadline=None,
        database=None,  # no example database in the user's cwd
        print_blob=False,
        verbosity=Verbosity.quiet,  # the report prints the failure; hypothesis need not
        report_multiple_bugs=False,  # one failure, shrunk: what the report shows
        # the explain phase re-runs the shrunk case many times for hints we do not print
        phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
    started = time.perf_counter()
    failure: Failure | None = None
    try:
        with _hypothesis_home():
            run_state_machine_as_test(machine, settings=run_settings)
    except Exception as exc:
        failure = failure_of(
            machine, exc, entry, invariants, entry_import, entry_expr, replay_kwargs
        )
    finally:
        if machine.config.loops is not None:
            machine.config.loops.close()
    return WorkflowReport(
        coverage=coverage,
        failure=failure,
        examples=coverage.conversations,
        steps=coverage.actions,
        seconds=time.perf_counter() - started,
    )


@contextlib.contextmanager
def _hypothesis_home() -> Iterator[None]:
    """Hypothesis caches (e.g. ``.hypothesis/constants``) go to the user's cache, not the cwd."""
    import os
    from pathlib import Path

    from hypothesis import configuration

    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    previous = vars(configuration).get("__hypothesis_home_directory")
    configuration.set_hypothesis_home_dir(Path(base) / "voxfsm" / "hypothesis")
    try:
        yield
    finally:
        configuration.set_hypothesis_home_dir(previous)


def replay(
    entry: Any,
    steps: Sequence[Action],
    *,
    session_factory: Callable[[], Any] | None = None,
    userdata_factory: Callable[[], Any] | None = None,
    invariants: Iterable[Invariant] = (),
    max_activations: int = 20,
    step_timeout: float = 5.0,
) -> Any:
    """Run ``steps`` on a fresh session, checking every invariant; returns the closed session.

    Raises ``AssertionError`` (a ``WorkflowFailure`` naming the rule) on the first violation.
    """
    config = _config(
        entry, session_factory, userdata_factory, invariants, max_activations, step_timeout
    )
    driver, error = _usage_checked(attempt, config, steps)
    if error is not None:
        raise error
    return driver.session


def _usage_checked(fn: Callable[..., Any], *args: Any) -> Any:
    from ._probe import UsageAbort

    try:
        return fn(*args)
    except UsageAbort as abort:
        raise WorkflowUsageError(abort.message) from None


# --------------------------------------------------------------------------- helpers


def _name_of(entry: Any) -> str:
    if isinstance(entry, type):
        return entry.__name__
    return type(entry).__name__ if not callable(entry) or hasattr(entry, "id") else "Entry"
