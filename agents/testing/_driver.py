"""Drives one real ``AgentSession`` through a list of steps and checks it after each one.

The LLM is a :class:`ScriptedLLM` whose script is a callable: the step about to run puts
the response it wants (a tool call, parallel calls, or plain words) in ``_plan``, and the
script hands it out for the request that answers the step's user message.  Every other
request (follow-ups, replies spoken from ``on_enter``) gets a plain reply.

All session work runs on one event loop per driver (``asyncio.Runner``), because the
session's locks, futures and tasks must stay on one loop (research/transitions.md §5.1).
Like ``_probe``, this module imports the agent layer and is only imported lazily.
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
    FunctionCallOutput,
    StopResponse,
    ToolError,
)
from voxfsm.agents.agent import class_tools
from voxfsm.agents.llm import ScriptedLLM, reply
from voxfsm.agents.tools import FunctionTool
from voxfsm.fsm.spec import Step

from . import _checks as checks
from ._actions import (
    Action,
    UpdateAgent,
)
from ._coverage import Coverage
from ._probe import (
    Execution,
    InjectedError,
    ProbeTask,
    QuietProbeLogs,
    is_probe_step,
    unwatch_construction,
    watch_construction,
)
from ._report import WorkflowFailure
from ._schema import context_words
from ._steps import run_step

log = logging.getLogger("voxfsm.agents.testing")
_ENGINE_LOG = logging.getLogger("voxfsm.agents")

Invariant = Callable[[Any], Any]


@attrs.frozen
class DriverConfig:
    """Everything a driver needs, shared by all conversations of one machine class."""

    entry: Any
    described: Any = None  # what the graph was built from (the entry, or one it made)
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
        self.activated: list[Agent] = []  # the agent each AgentHandoff made current
        self._steps_cache: tuple[int, tuple[Step, ...]] = (-1, ())
        self._words: tuple[Any, list[str]] = (None, [])
        self.history_seen: list[Any] = []
        self.closed = False
        self._plan: Any = None
        self._chain: list[Any] = []  # responses for the follow-ups of the planned turn
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
        session.update_options(llm=self.llm)
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
            self.coverage.record_steps(s for s in self.steps() if not is_probe_step(s))
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
        task = asyncio.ensure_future(coro)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.config.step_timeout
        idle = 0
        while not task.done():
            await asyncio.wait({task}, timeout=_POLL)
            if task.done():
                break
            idle = idle + 1 if _loop_idle(loop) else 0
            if idle >= _IDLE_POLLS or loop.time() > deadline:
                task.cancel()
                await asyncio.wait({task})
                what = "nothing could run any more" if idle >= _IDLE_POLLS else "it timed out"
                raise WorkflowFailure(
                    "deadlock",
                    f"the step never finished ({what}): something waits forever, e.g. an "
                    "AgentTask nobody can complete or a hook awaiting the session it runs in",
                )
        return task.result()

    # ------------------------------------------------------------------ instrumentation

    def _on_item(self, event: Any) -> None:
        if isinstance(event.item, AgentHandoff) and self.session is not None:
            # runs after the new agent is activated and before its on_enter is looked up
            agent = self.session.current_agent
            self.activated.append(agent)
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
            # recorded before awaiting: the body has started (it may await an AgentTask), and
            # parallel siblings append their own records meanwhile, hence the index
            index = len(self.executions)
            self.executions.append(Execution(tool.name, _id(owner), active, False))
            value = fn(*args, **kwargs)
            if inspect.isawaitable(value):
                value = await value
            if _holds_agent(value):
                self.executions[index] = attrs.evolve(self.executions[index], returned_agent=True)
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
        return owner.status == "paused" and any(
            s.kind == "task" and s.source == owner.id for s in steps
        )

    def _script(self, chat_ctx: Any, tools: Sequence[Any]) -> Any:
        items = chat_ctx.items
        last = items[-1] if items else None
        plan = self._plan
        if plan is not None:
            if (
                isinstance(last, ChatMessage)
                and last.role == "user"
                and last.text_content == self._utterance
            ):
                self._plan = None
                return plan
        elif self._chain and tools and isinstance(last, FunctionCallOutput):
            # a follow-up after tool outputs, with tools still allowed: the next link
            return self._chain.pop(0)
        return reply("ok")

    # ------------------------------------------------------------------ what can happen next

    @property
    def current(self) -> Agent:
        return self.session.current_agent

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

    def steps(self) -> tuple[Step, ...]:
        """The session's trace steps, rebuilt only when history changed (it is not free)."""
        n = len(self.session.history.items)
        if self._steps_cache[0] != n:
            self._steps_cache = (n, self.session.__fsm_trace__().steps)
        return self._steps_cache[1]

    def words(self) -> list[str]:
        """Tokens the active agent's context mentions (instructions, tool outputs, replies)."""
        items = self.current.chat_ctx.items
        key = (id(self.current), len(items))
        if self._words[0] != key:
            texts = [_item_text(it) for it in items]
            self._words = (key, context_words(texts))
        return self._words[1]

    def open_tasks(self) -> int:
        return len(checks.open_task_triggers(self.steps()))

    def swap_targets(self) -> list[UpdateAgent]:
        """``update_agent`` steps that make sense now (none while an AgentTask is open)."""
        if self.open_tasks():
            return []  # swapping away from a running task would strand its caller
        out = [UpdateAgent(aid) for aid, cls in sorted(self.config.classes.items()) if _bare(cls)]
        for aid, agent in sorted(self.session.visited_agents.items()):
            if (
                agent is not self.current
                and agent.status == "inactive"
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
        self._steps_before = len(self.steps())
        self._turn += 1
        self.instrument(self.current)  # tools added by update_tools() since last time
        self._run(run_step(self, action))
        self.coverage.actions += 1

    # ------------------------------------------------------------------ checks

    def check(self) -> None:
        checks.check_all(self)


_POLL = 0.02
_IDLE_POLLS = 10  # 0.2 s with nothing ready and no timer pending: no step can finish now


def _loop_idle(loop: asyncio.AbstractEventLoop) -> bool:
    """Nothing ready and no timer pending (only I/O or another thread could wake it).

    Reads the pure-Python loop's queues; on a loop without them, report "busy" so only the
    step timeout applies.
    """
    ready = getattr(loop, "_ready", None)
    scheduled = getattr(loop, "_scheduled", None)
    if ready is None or scheduled is None:
        return False
    return not ready and all(h.cancelled() for h in scheduled)


def _item_text(item: Any) -> str:
    if isinstance(item, ChatMessage):
        # the user's lines are the driver's own ("the LLM will call ..."): no hints in them
        return "" if item.role == "user" else item.text_content
    if isinstance(item, FunctionCallOutput):
        return item.output
    return ""


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


__all__ = ["Driver", "DriverConfig", "WorkflowFailure"]
