"""Drives one real ``AgentSession`` through a list of steps and checks it after each one.

The LLM is a :class:`ScriptedLLM` whose script is a callable: the step about to run puts
the response it wants (a tool call, parallel calls, or plain words) in ``_plan``, and the
script hands it out for the request that answers the step's user message.  Every other
request (follow-ups, replies spoken from ``on_enter``) gets a plain reply.

All session work runs on one event loop per driver (``asyncio.Runner``), because the
session's locks, futures and tasks must stay on one loop (research/transitions.md §5.1).
Like ``_testing_probe``, this module imports the agent layer and is only imported lazily.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

import attrs
from voxfsm.agents import (
    Agent,
    AgentHandoff,
    AgentSession,
    AgentTask,
    ChatMessage,
    FunctionCall,
    FunctionCallOutput,
    StopResponse,
    ToolError,
)
from voxfsm.agents.agent import class_tools
from voxfsm.agents.llm import ScriptedLLM, reply
from voxfsm.agents.llm.scripted import ScriptedCall
from voxfsm.agents.tools import ArgumentError, FunctionTool

from . import _testing_checks as checks
from ._testing_actions import (
    Action,
    CallParallel,
    CallTool,
    Say,
    TaskRoundTrip,
    ToolRaises,
    UpdateAgent,
)
from ._testing_coverage import Coverage
from ._testing_probe import (
    PROBE_ID,
    Execution,
    InjectedError,
    ProbeTask,
    QuietProbeLogs,
    unwatch_construction,
    watch_construction,
)
from .spec import Step

log = logging.getLogger("voxfsm.fsm.testing")
_ENGINE_LOG = logging.getLogger("voxfsm.agents")

Invariant = Callable[[Any], Any]


class WorkflowFailure(AssertionError):
    """A generated conversation broke a workflow rule; ``check`` names which one."""

    def __init__(self, check: str, message: str) -> None:
        super().__init__(f"[{check}] {message}")
        self.check = check
        self.message = message


@attrs.frozen
class DriverConfig:
    """Everything a driver needs, shared by all conversations of one machine class."""

    entry: Any
    session_factory: Callable[[], Any] | None = None
    userdata_factory: Callable[[], Any] | None = None
    invariants: tuple[Invariant, ...] = ()
    classes: dict[str, type] = attrs.field(factory=dict)
    declared: frozenset[tuple[str, str, str | None]] = frozenset()
    max_activations: int = 20
    step_timeout: float = 10.0

    def new_entry(self) -> Agent:
        entry = self.entry
        if isinstance(entry, Agent):
            return entry
        made = entry() if callable(entry) else entry
        if not isinstance(made, Agent):
            raise TypeError(
                f"the entry must be an Agent class, instance or zero-argument factory; "
                f"{entry!r} gave {type(made).__name__}"
            )
        return made


def _run_loop() -> Any:
    # Python 3.10 has no asyncio.Runner; a private loop does the same job there.
    if hasattr(asyncio, "Runner"):
        return asyncio.Runner()
    return _LoopRunner()


class _LoopRunner:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()

    def run(self, coro: Coroutine[Any, Any, Any]) -> Any:
        return self.loop.run_until_complete(coro)

    def close(self) -> None:
        pending = asyncio.all_tasks(self.loop)
        for task in pending:
            task.cancel()
        if pending:
            self.loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        self.loop.run_until_complete(self.loop.shutdown_asyncgens())
        self.loop.close()


class Driver:
    """One conversation: a session, its instrumentation, the steps so far, the checks."""

    def __init__(self, config: DriverConfig, coverage: Coverage | None = None) -> None:
        self.config = config
        self.coverage = coverage if coverage is not None else Coverage()
        self.actions: list[Action] = []
        self.marks: list[int] = []  # history length before each action
        self.hooks: list[tuple[str, Agent]] = []
        self.hook_errors: list[BaseException] = []
        self.executions: list[Execution] = []
        self.not_fresh: list[str] = []
        self.agents: list[Agent] = []
        self.history_seen: list[Any] = []
        self.closed = False
        self._plan: Any = None
        self._utterance = ""
        self._override: tuple[str, str, Any] | None = None  # (tool, "raise"|"probe", detail)
        self._restore_fns: list[tuple[FunctionTool, Any]] = []
        self._wrapped: set[int] = set()
        self._activations = 0
        self._steps_before = 0
        self._turn = 0
        self._runner = _run_loop()
        self._quiet = QuietProbeLogs()
        self.llm = ScriptedLLM(self._script, record=False)
        self.session: Any = None
        self.entry: Agent | None = None
        self.userdata: Any = checks.UNSET
        self.userdata_shape: frozenset[str] = frozenset()

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        watch_construction(self.not_fresh)
        _ENGINE_LOG.addFilter(self._quiet)
        try:
            self._run(self._start())
        except BaseException:
            self.dispose()
            raise

    async def _start(self) -> None:
        cfg = self.config
        session = cfg.session_factory() if cfg.session_factory is not None else None
        if session is None:
            session = AgentSession(llm=self.llm)
        elif not isinstance(session, AgentSession):
            raise TypeError(
                f"session_factory must return an unstarted AgentSession, got "
                f"{type(session).__name__}"
            )
        if cfg.userdata_factory is not None:
            session.userdata = cfg.userdata_factory()
        # the generated choices replace whatever model the app configured
        session._llm = self.llm
        self.session = session
        self.userdata = checks.userdata_of(session)
        self.userdata_shape = checks.shape(self.userdata)
        session.on("conversation_item_added", self._on_item)
        self.entry = cfg.new_entry()
        await session.start(self.entry)
        self.history_seen = list(session.history.items)

    def close(self) -> None:
        """Close the session (the active agent's ``on_exit`` runs) and check the end."""
        if self.closed:
            return
        self.closed = True
        try:
            self._run(self.session.aclose())
            self.coverage.record_steps(
                s for s in self.session.__fsm_trace__().steps if not _is_probe(s)
            )
            self.coverage.conversations += 1
            checks.hooks_in_order(self, closed=True)
        finally:
            self.dispose()

    def dispose(self) -> None:
        """Undo every instrumentation and close the loop (safe to call twice)."""
        for tool, fn in reversed(self._restore_fns):
            tool.fn = fn
        self._restore_fns.clear()
        for agent in self.agents:
            for hook in ("on_enter", "on_exit"):
                agent.__dict__.pop(hook, None)
        unwatch_construction(self.not_fresh)
        _ENGINE_LOG.removeFilter(self._quiet)
        runner, self._runner = self._runner, None
        if runner is not None:
            runner.close()

    def _run(self, coro: Coroutine[Any, Any, Any]) -> Any:
        if self._runner is None:
            coro.close()
            raise RuntimeError("this driver is closed")
        return self._runner.run(self._bounded(coro))

    async def _bounded(self, coro: Coroutine[Any, Any, Any]) -> Any:
        try:
            return await asyncio.wait_for(coro, self.config.step_timeout)
        except asyncio.TimeoutError:
            raise WorkflowFailure(
                "deadlock",
                f"the step did not finish within {self.config.step_timeout:g} s; something "
                "waits forever (an AgentTask nobody completes, a hook awaiting the session)",
            ) from None

    # ------------------------------------------------------------------ instrumentation

    def _on_item(self, event: Any) -> None:
        if isinstance(event.item, AgentHandoff) and self.session is not None:
            # runs after the new agent is activated and before its on_enter is looked up
            agent = self.session.current_agent
            if agent.id == event.item.new_agent_id:
                self.instrument(agent)

    def instrument(self, agent: Agent) -> None:
        if all(a is not agent for a in self.agents):
            self.agents.append(agent)
            if agent._llm is not None and agent._llm is not self.llm:
                agent._llm = self.llm  # an agent-level model override must obey the script too
            for hook in ("on_enter", "on_exit"):
                setattr(agent, hook, self._hook(agent, hook))
        for tool in agent.all_tools():
            if id(tool) not in self._wrapped:
                self._wrapped.add(id(tool))
                self._restore_fns.append((tool, tool.fn))
                tool.fn = self._tool_fn(tool, tool.fn)

    def _hook(self, agent: Agent, name: str) -> Callable[[], Coroutine[Any, Any, None]]:
        original = getattr(agent, name)
        kind = "enter" if name == "on_enter" else "exit"

        async def hook() -> None:
            self.hooks.append((kind, agent))
            if kind == "enter":
                self._activations += 1
                if self._activations > self.config.max_activations:
                    raise WorkflowFailure(
                        "handoff-loop",
                        f"more than {self.config.max_activations} activations in one step "
                        f"(last: {agent.id!r}); an on_enter keeps handing off - make the "
                        "handoff conditional or move it to a tool",
                    )
            try:
                await original()
            except Exception as exc:
                self.hook_errors.append(exc)
                raise

        return hook

    def _tool_fn(self, tool: FunctionTool, fn: Any) -> Any:
        owner = tool.owner

        async def run(*args: Any, **kwargs: Any) -> Any:
            active = self._may_run(tool, owner)
            override = self._override
            if override is not None and override[0] == tool.name and active:
                self._override = None
                if override[1] == "probe":
                    self.executions.append(Execution(tool.name, _id(owner), active, False))
                    return await ProbeTask()
                self.executions.append(Execution(tool.name, _id(owner), active, False))
                raise _error(override[2])
            value = fn(*args, **kwargs)
            if inspect.isawaitable(value):
                # record before awaiting: the body has started (it may await an AgentTask)
                self.executions.append(Execution(tool.name, _id(owner), active, False))
                value = await value
            else:
                self.executions.append(Execution(tool.name, _id(owner), active, False))
            if _holds_agent(value):
                self.executions[-1] = attrs.evolve(self.executions[-1], returned_agent=True)
            return value

        return run

    def _may_run(self, tool: FunctionTool, owner: Agent | None) -> bool:
        """Is ``owner`` (None: whoever holds ``tool``) active, or its step still in flight?

        Parallel calls run concurrently, so when one of them awaits an AgentTask the caller
        is paused before its sibling tools have started; those siblings belong to a step the
        caller took while active, so they may still run.
        """
        current = self.session.current_agent
        if owner is None:
            return _has(current, tool)
        if owner is current:
            return True
        steps = self.session.__fsm_trace__().steps[self._steps_before :]
        return owner._status == "paused" and any(
            s.kind == "task" and s.source == owner.id for s in steps
        )

    def _script(self, chat_ctx: Any, tools: Sequence[Any]) -> Any:
        plan = self._plan
        if plan is not None:
            items = chat_ctx.items
            last = items[-1] if items else None
            if (
                isinstance(last, ChatMessage)
                and last.role == "user"
                and last.text_content == self._utterance
            ):
                self._plan = None
                return plan
        return reply("ok")

    # ------------------------------------------------------------------ what can happen next

    @property
    def current(self) -> Agent:
        return self.session.current_agent  # type: ignore[no-any-return]

    def tools(self, agent: Agent | None = None) -> list[FunctionTool]:
        return (agent or self.current).all_tools()

    def handoff_tools(self) -> list[FunctionTool]:
        return [t for t in self.tools() if t.info.handoff_targets]

    def foreign_tools(self) -> list[FunctionTool]:
        own = {t.name for t in self.tools()}
        found: dict[str, FunctionTool] = {}
        for cls in self.config.classes.values():
            for _, tool in class_tools(cls):
                if tool.name not in own and tool.name not in found:
                    found[tool.name] = tool
        return [found[k] for k in sorted(found)]

    def open_tasks(self) -> int:
        return checks.open_task_triggers(self.session.__fsm_trace__().steps).__len__()

    def swap_targets(self) -> list[UpdateAgent]:
        """``update_agent`` steps that make sense now (none while an AgentTask is open)."""
        if self.open_tasks():
            return []  # swapping away from a running task would strand its caller
        out = [UpdateAgent(aid) for aid, cls in sorted(self.config.classes.items()) if _bare(cls)]
        for aid, agent in sorted(self.session.visited_agents.items()):
            if (
                agent is not self.current
                and agent._status == "inactive"
                and not isinstance(agent, AgentTask)
            ):
                out.append(UpdateAgent(aid, reuse=True))
        return out

    # ------------------------------------------------------------------ steps

    def perform(self, action: Action) -> None:
        """Run one step through the session; raises :class:`WorkflowFailure` on a violation."""
        self.actions.append(action)
        self.marks.append(len(self.session.history.items))
        self._activations = 0
        self._steps_before = len(self.session.__fsm_trace__().steps)
        self._turn += 1
        self.instrument(self.current)  # tools added by update_tools() since last time
        self._run(self._perform(action))
        self.coverage.actions += 1

    async def _perform(self, action: Action) -> None:
        if isinstance(action, Say):
            await self._say(action.text, None)
        elif isinstance(action, CallTool):
            await self._calls([action])
        elif isinstance(action, CallParallel):
            await self._calls(list(action.calls))
        elif isinstance(action, ToolRaises):
            self._override = (action.tool, "raise", action.error)
            try:
                await self._calls([CallTool(action.tool, action.arguments)], raised=action.error)
            finally:
                self._override = None
        elif isinstance(action, UpdateAgent):
            await self._update_agent(action)
        elif isinstance(action, TaskRoundTrip):
            await self._round_trip(action)
        else:
            raise TypeError(f"unknown step {action!r}")

    async def _say(self, text: str, plan: Any) -> Any:
        self._plan, self._utterance = plan, text
        try:
            return await self.session.run(user_input=text)
        finally:
            self._plan = None

    async def _calls(self, calls: list[CallTool], *, raised: str | None = None) -> Any:
        agent = self.current
        expected = [self._expect(agent, c) for c in calls]
        n_exec = len(self.executions)
        n_steps = len(self.session.__fsm_trace__().steps)
        plan = [ScriptedCall(c.tool, c.arguments) for c in calls]
        names = " and ".join(c.tool for c in calls)
        result = await self._say(f"#{self._turn} (the LLM will call {names})", plan)
        new_steps = self.session.__fsm_trace__().steps[n_steps:]
        outputs = checks.call_outputs(result.events, len(calls))
        checks.judge_calls(
            self, agent, calls, expected, outputs, self.executions[n_exec:], new_steps, raised
        )
        self._cover(agent, calls, expected, outputs, new_steps)
        return result

    def _expect(self, agent: Agent, call: CallTool) -> str:
        """``ok``, or why the engine must refuse the call without running anything."""
        tool = agent.find_tool(call.tool)
        if tool is None:
            return "unknown" if call.tool not in self._known_names() else "foreign"
        try:
            tool.validate(call.arguments)
        except ArgumentError:
            return "invalid"
        return "ok"

    def _known_names(self) -> set[str]:
        return {t.name for c in self.config.classes.values() for _, t in class_tools(c)}

    def _cover(
        self,
        agent: Agent,
        calls: list[CallTool],
        expected: list[str],
        outputs: list[FunctionCallOutput | None],
        steps: Sequence[Step],
    ) -> None:
        for call, exp, out in zip(calls, expected, outputs):
            if exp in ("unknown", "foreign"):
                continue
            if out is None:  # still awaiting an AgentTask it started
                started = [s for s in steps if s.kind == "task" and s.trigger == call.tool]
                if started and not _is_probe(started[0]):
                    self.coverage.record_call(agent.id, call.tool, "handoff", started[0].target_id)
                continue
            if out.is_error:
                self.coverage.record_call(agent.id, call.tool, "error")
                continue
            moved = [s for s in steps if s.source == agent.id and s.trigger == call.tool]
            if moved and not _is_probe(moved[0]):
                self.coverage.record_call(agent.id, call.tool, "handoff", moved[0].target_id)
            elif not moved:
                self.coverage.record_call(agent.id, call.tool, "stay")

    async def _update_agent(self, action: UpdateAgent) -> None:
        if action.reuse:
            agent = self.session.visited_agents.get(action.agent)
            if agent is None:
                raise ValueError(f"no earlier agent {action.agent!r} to re-activate")
        else:
            cls = self.config.classes.get(action.agent)
            if cls is None:
                raise ValueError(f"no agent class with id {action.agent!r} in this workflow")
            agent = cls()
        n_errors = len(self.hook_errors)
        self.session.update_agent(agent)
        # a no-op speech queues behind the swap job, so awaiting it waits for the swap
        await self.session.say("", add_to_chat_ctx=False)
        if len(self.hook_errors) > n_errors:
            raise self.hook_errors[-1]

    async def _round_trip(self, action: TaskRoundTrip) -> None:
        caller = self.current
        self._override = (action.tool, "probe", None)
        try:
            await self._calls([CallTool(action.tool, action.arguments)])
        finally:
            self._override = None
        probe = self.current
        if not isinstance(probe, ProbeTask):
            return  # the call was refused (or the tool is not the caller's): nothing to finish
        checks.check_all(self)
        n = len(self.session.history.items)
        await self._say(
            f"#{self._turn} (the probe finishes)", ScriptedCall("probe_done", {"ok": not action.fail})
        )
        checks.judge_round_trip(self, caller, probe, action, self.session.history.items[n:])

    # ------------------------------------------------------------------ checks

    def check(self) -> None:
        checks.check_all(self)


def _is_probe(step: Step) -> bool:
    return PROBE_ID in (step.source, step.target_id)


def _id(agent: Any) -> str | None:
    return agent.id if agent is not None else None


def _has(agent: Agent, tool: FunctionTool) -> bool:
    return any(t is tool for t in agent.all_tools())


def _holds_agent(value: Any) -> bool:
    if isinstance(value, Agent):
        return True
    return isinstance(value, (tuple, list)) and any(isinstance(v, Agent) for v in value)


def _bare(cls: type) -> bool:
    """An agent class ``update_agent`` steps can build: no AgentTask, no required arguments."""
    if not isinstance(cls, type) or issubclass(cls, AgentTask):
        return False
    try:
        params = inspect.signature(cls).parameters.values()
    except (TypeError, ValueError):
        return False
    return all(
        p.default is not p.empty or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in params
    )


def _error(name: str) -> BaseException:
    if name == "ToolError":
        return ToolError("injected tool error")
    if name == "StopResponse":
        return StopResponse()
    return InjectedError("injected failure")


__all__ = ["Driver", "DriverConfig", "FunctionCall", "WorkflowFailure"]
