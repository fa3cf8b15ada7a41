"""Drives one real ``AgentSession`` through a list of steps and checks it after each one.

The LLM is a :class:`ScriptedLLM` whose script is a callable: the step about to run puts
the response it wants (a tool call, parallel calls, or plain words) in ``_plan``, and the
script hands it out for the request that answers the step's user message; replies asked
outside it (``on_enter`` greetings, replies generated inside tools) get the step's
``enter`` calls while any are left, then plain words.  That model is given to the session
(``update_options(llm=...)``); nothing of the workflow is patched.

What happened is learnt through the session's listener seam (``session.add_listener``, see
:mod:`voxfsm.agents.listeners`): commits, hooks, replies and tool calls.  All session work runs
on one private event loop per driver, each step under a deadline (:mod:`._loop`).
Like ``_probe``, this module imports the agent layer and is only imported lazily.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Callable, Coroutine, Iterator, Sequence
from typing import Any

import attrs

from voxfsm.agents import (
    Agent,
    AgentSession,
    AgentTask,
    ChatMessage,
    FunctionCallOutput,
)
from voxfsm.agents.agent import class_tools
from voxfsm.agents.listeners import Commit
from voxfsm.agents.llm import ScriptedLLM, reply
from voxfsm.agents.llm.scripted import ScriptedCall
from voxfsm.agents.tools import FunctionTool
from voxfsm.fsm.spec import Step

from . import _checks as checks
from ._actions import Action, Start, UpdateAgent
from ._coverage import Coverage
from ._loop import LoopPool, LoopRunner, StepTimeout
from ._probe import (
    PROBE_ENTER,
    USERDATA_USAGE,
    Execution,
    Observer,
    QuietProbeLogs,
    UsageAbort,
    UsageSpotter,
    is_probe_step,
    reads_unset_userdata,
    unwatch_construction,
    watch_construction,
)
from ._report import WorkflowFailure
from ._schema import WordIndex
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
    step_timeout: float = 5.0
    exclude: frozenset[str] = frozenset()  # kinds of step not to generate (rule names)
    loops: LoopPool | None = attrs.field(default=None, eq=False)  # event loops to reuse
    fresh_swaps: tuple[UpdateAgent, ...] = attrs.field(init=False)
    entry_tools: tuple[FunctionTool, ...] = attrs.field(init=False)

    @fresh_swaps.default
    def _fresh_swaps(self) -> tuple[UpdateAgent, ...]:
        """``update_agent`` to a new instance of each class that can be built bare."""
        return tuple(UpdateAgent(aid) for aid, cls in sorted(self.classes.items()) if _bare(cls))

    @entry_tools.default
    def _entry_tools(self) -> tuple[FunctionTool, ...]:
        """The entry class's tools (what the first greeting may call)."""
        entry = self.described
        cls = type(entry) if isinstance(entry, Agent) else entry
        return tuple(t for _, t in class_tools(cls)) if isinstance(cls, type) else ()

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


class StopLoop(BaseException):
    """Raised from the listener into a runaway handoff loop (reported as ``handoff-loop``)."""


class Driver:
    """One conversation: a session, what its listener recorded, the steps so far, the checks."""

    def __init__(self, config: DriverConfig, coverage: Coverage | None = None) -> None:
        self.config = config
        self.coverage = coverage if coverage is not None else Coverage()
        self.actions: list[Action] = []
        self.start_action = Start()
        self.marks: list[int] = []  # history length before each action
        self.hooks: list[tuple[str, Agent]] = []
        self.hook_errors: list[BaseException] = []
        self.executions: list[Execution] = []
        self.agent_returns: list[str] = []  # tools seen returning an agent (CallParallel steps)
        self.not_fresh: list[str] = []
        self.agents: list[Agent] = []
        self.commits: list[tuple[Commit, Agent]] = []  # each commit and the agent it activated
        self.running: dict[Any, str] = {}  # what is in flight: hooks, replies, tools
        self._tools_running: dict[str, str] = {}  # call id -> tool name
        self._swapped_during: set[str] = set()  # calls during which the app ran update_agent
        self._conflicts: list[tuple[str, Any]] = []  # (tool, output) of those calls
        self.own_swaps: set[int] = set()  # agents the driver itself swapped to
        self._declares_handoff: set[str] = set()
        self.loop_failure: WorkflowFailure | None = None
        self.limit_errors: list[BaseException] = []
        self.usage: str | None = None
        self._steps_cache: tuple[int, tuple[Step, ...]] = (-1, ())
        # what rules may do next, worked out once between steps (preconditions ask often)
        self._options: dict[str, Any] = {}
        self._words: dict[int, tuple[Agent, int, Any, WordIndex]] = {}
        self.history_seen: list[Any] = []
        self.output_ledger = checks.OutputLedger()
        self.closed = False
        self._plan: Any = None
        self._chain: list[Any] = []  # responses for the follow-ups of the planned turn
        self._enter: list[Any] = []  # responses for replies asked outside the turn (on_enter)
        self._probe_ok: bool | None = None  # how a probe task's on_enter reply completes it
        self._utterance = ""
        self._on_tool: tuple[str, Callable[[], None]] | None = None  # run when that tool starts
        self._activations = 0
        self._commits_before = 0
        self._turn = 0
        self._runner: LoopRunner | None = (
            config.loops.acquire() if config.loops is not None else LoopRunner()
        )
        self._quiet = QuietProbeLogs()
        self._spotter = UsageSpotter(self)
        self.llm = ScriptedLLM(self._script, record=False)
        self.session: Any = None
        self.entry: Agent | None = None
        self.userdata: Any = checks.UNSET
        self.userdata_shape: frozenset[str] = frozenset()

    # ------------------------------------------------------------------ lifecycle

    def start(self, action: Start | None = None) -> None:
        """Build the session and ``start()`` it (``action`` may script the greeting's calls)."""
        watch_construction(self.not_fresh)
        _ENGINE_LOG.addFilter(self._quiet)
        _ENGINE_LOG.addHandler(self._spotter)
        action = action or Start()
        self.start_action = action
        self._enter = [ScriptedCall(c.tool, c.arguments) for c in action.enter_calls]
        try:
            self._run(self._start(), "start", action)
        except BaseException:
            self.dispose()
            raise
        finally:
            self._enter = []

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
        session.add_listener(Observer(self))
        session.on("error", self._on_error)
        self.entry = cfg.new_entry()
        await session.start(self.entry)
        self.history_seen = list(session.history.items)

    def close(self) -> None:
        """Close the session with two overlapping ``aclose()`` calls and check the end."""
        if self.closed:
            return
        self.closed = True
        if self.session is None:  # never started (a generated conversation of no step)
            self.dispose()
            return
        try:
            self._run(self._close(), "aclose", None)
            self.coverage.record_steps(s for s in self.steps() if not is_probe_step(s))
            self.coverage.conversations += 1
            checks.hooks_in_order(self, closed=True)
        finally:
            self.dispose()

    async def _close(self) -> None:
        # LiveKit lets both of two overlapping closes return; so must we
        results = await asyncio.gather(
            self.session.aclose(), self.session.aclose(), return_exceptions=True
        )
        errors = [r for r in results if isinstance(r, BaseException)]
        if errors:
            raise WorkflowFailure(
                "aclose",
                f"two overlapping session.aclose() calls must both return; one raised "
                f"{errors[0]!r}",
            )

    def dispose(self) -> None:
        """Stop watching and close the loop (safe to call twice)."""
        unwatch_construction(self.not_fresh)
        _ENGINE_LOG.removeFilter(self._quiet)
        _ENGINE_LOG.removeHandler(self._spotter)
        runner, self._runner = self._runner, None
        if runner is not None:
            if self.config.loops is not None:
                self.config.loops.release(runner)
            else:
                runner.close()

    def _run(self, coro: Coroutine[Any, Any, Any], what: str, action: Any) -> Any:
        if self._runner is None:
            coro.close()
            raise RuntimeError("this driver is closed")
        self.loop_failure = None
        self._options.clear()
        try:
            try:
                result = self._runner.run(coro, self.config.step_timeout)
            finally:
                self._options.clear()  # whatever ran may have changed what can happen next
        except StepTimeout as stuck:
            if self.usage is not None:
                raise UsageAbort(self.usage) from None
            if self.loop_failure is not None:
                raise self.loop_failure from None
            raise WorkflowFailure("deadlock", self._stuck(what, action, stuck)) from None
        except (asyncio.CancelledError, StopLoop):
            if self.usage is not None:
                raise UsageAbort(self.usage) from None
            if self.loop_failure is not None:
                raise self.loop_failure from None
            raise
        except Exception as exc:
            if self.usage is not None:
                raise UsageAbort(self.usage) from None
            if getattr(exc, "option", None) is None:
                raise
            # a session bound raised from the step itself (e.g. update_agent in on_enter)
            self.limit_errors.append(exc)
            raise self._limit_failure(exc) from None
        if self.usage is not None:
            raise UsageAbort(self.usage)
        if self.loop_failure is not None:
            raise self.loop_failure
        return result

    def _stuck(self, what: str, action: Any, stuck: StepTimeout) -> str:
        after = "session.start(entry)" if action is None or isinstance(action, Start) else ""
        if isinstance(action, Start) and action.enter_calls:
            after += f" whose on_enter reply calls {', '.join(c.tool for c in action.enter_calls)}"
        elif action is not None and not isinstance(action, Start):
            after = action.describe()
        elif what == "aclose":
            after = "the conversation's last step"
        running = " -> ".join(self.running.values()) or "nothing the session reports"
        limit = self.config.step_timeout
        how = (
            f"can never return: after {stuck.seconds:.1f} s nothing could run (no callback "
            "ready, no timer due, no worker thread busy)"
            if stuck.idle
            else f"did not return within {limit:g} s"
        )
        return (
            f"{what}() {how} after {after}; still running: {running}. Something awaits what "
            "never happens (a future nobody resolves, an AgentTask nobody completes, the "
            "session's own reply from inside it) or blocks; if it is only slow, raise "
            "step_timeout= (voxfsm check --step-timeout)"
        )

    # ------------------------------------------------------------------ what the listener saw

    def _on_error(self, event: Any) -> None:
        error = getattr(event, "error", None)
        if isinstance(error, BaseException) and getattr(error, "option", None) is not None:
            # a session bound was hit (a LimitExceeded names its option)
            self.limit_errors.append(error)

    def committed(self, commit: Commit) -> None:
        agent = self.session.current_agent
        self.commits.append((commit, agent))
        if commit.kind == "update_agent" and id(agent) not in self.own_swaps:
            self._swapped_during.update(self._tools_running)
        if all(a is not agent for a in self.agents):
            self.agents.append(agent)
            if agent.llm and agent.llm is not self.llm and self.usage is None:
                self.usage = (
                    f"agent {agent.id!r} brings its own LLM ({agent.llm!r}); the property "
                    "tester scripts the session's LLM only: build that agent without llm= "
                    "when testing (e.g. take the model from make_session())"
                )
                self._cancel()

    def hook_started(self, agent: Agent, hook: str) -> None:
        if hook not in ("on_enter", "on_exit"):
            return
        self.running[("hook", id(agent), hook)] = f"{agent.id}.{hook}()"
        self.hooks.append(("enter" if hook == "on_enter" else "exit", agent))
        if hook == "on_enter":
            self._activations += 1
            if self._activations > self.config.max_activations and self.loop_failure is None:
                self.loop_failure = WorkflowFailure(
                    "handoff-loop",
                    f"more than {self.config.max_activations} activations in one step (last: "
                    f"{agent.id!r}); an on_enter keeps handing off - make the handoff "
                    "conditional or move it to a tool",
                )
                self._cancel()
            if self.loop_failure is not None:
                # a loop of swaps that never awaits anything never lets a cancel in: stop it
                # from inside (a BaseException passes the listener guard, like a cancel)
                raise StopLoop()

    def hook_finished(self, agent: Agent, hook: str, error: BaseException | None) -> None:
        self.running.pop(("hook", id(agent), hook), None)
        if error is not None and isinstance(error, Exception):
            self.hook_errors.append(error)
            if reads_unset_userdata(error):
                self.spot_usage()

    def reply_started(self, agent: Agent, handle: Any) -> None:
        self.running[("reply", id(handle))] = f"a reply of {agent.id}"

    def reply_finished(self, agent: Agent, handle: Any, error: BaseException | None) -> None:
        self.running.pop(("reply", id(handle)), None)

    def tool_started(self, agent: Agent, call: Any) -> None:
        self.running[("tool", call.call_id)] = f"tool {call.name} of {agent.id}"
        self._tools_running[call.call_id] = call.name
        tool = agent.find_tool(call.name)
        if tool is not None and tool.info.handoff_targets:
            self._declares_handoff.add(call.name)
        self.executions.append(Execution(call.name, agent.id, self._may_run(agent)))
        hook = self._on_tool
        if hook is not None and hook[0] == call.name:
            # now, in the tool's own context: as if its body began with this line (a callback
            # scheduled for later could run after the turn, outside any tool)
            self._on_tool = None
            hook[1]()

    def tool_finished(self, agent: Agent, call: Any, output: Any) -> None:
        self.running.pop(("tool", call.call_id), None)
        self._tools_running.pop(call.call_id, None)
        if call.call_id in self._swapped_during:
            self._swapped_during.discard(call.call_id)
            self._conflicts.append((call.name, output))

    def _judge_conflicts(self) -> None:
        """A tool that hands off *and* has ``update_agent`` run while it works: two changes
        of the active agent from one tool, whichever the session lets win."""
        conflicts, self._conflicts = self._conflicts, []
        step = [c for c, _ in self.commits[self._commits_before :]]
        for name, output in conflicts:
            handed = any(c.kind == "handoff" and c.tool == name for c in step)
            refused = output.is_error and "update_agent" in output.output
            # a declared transition that swaps from code as well: whichever wins (or when the
            # swap silently replaces the tool's handoff) the graph and the model disagree
            if handed or refused or name in self._declares_handoff:
                raise WorkflowFailure(
                    "conflicting-handoff",
                    f"update_agent() swapped the agent while tool {name!r}, a handoff, ran: two "
                    "changes of the active agent from one tool (one of them is lost or "
                    "overridden); return the next agent or call update_agent, not both",
                )

    def spot_usage(self) -> None:
        if self.usage is None:
            self.usage = USERDATA_USAGE
            self._cancel()

    def _cancel(self) -> None:
        if self._runner is not None:
            self._runner.cancel_step()

    def _may_run(self, agent: Agent) -> bool:
        """Is ``agent`` active, or paused on an AgentTask it started in this step?

        Parallel calls run concurrently, so when one of them awaits an AgentTask the caller
        is paused before its sibling tools have started; those siblings belong to a step the
        caller took while active, so they may still run.
        """
        if agent is self.session.current_agent:
            return True
        return agent.status == "paused" and any(
            c.kind == "task" and c.old_agent_id == agent.id
            for c, _ in self.commits[self._commits_before :]
        )

    def _script(self, chat_ctx: Any, tools: Sequence[Any]) -> Any:
        items = chat_ctx.items
        last = items[-1] if items else None
        plan = self._plan
        user_line = isinstance(last, ChatMessage) and last.role == "user"
        if plan is not None:
            if user_line and isinstance(last, ChatMessage) and last.text_content == self._utterance:
                self._plan = None
                return plan
        elif self._chain and tools and isinstance(last, FunctionCallOutput):
            # a follow-up after tool outputs, with tools still allowed: the next link
            return self._chain.pop(0)
        if isinstance(last, ChatMessage) and last.text_content == PROBE_ENTER:
            if self._probe_ok is not None and tools:
                return ScriptedCall("probe_done", {"ok": self._probe_ok})
        elif self._enter and tools and not user_line and not isinstance(last, FunctionCallOutput):
            # a reply asked outside the turn's own request: an on_enter greeting, a reply
            # generated inside a tool
            return self._enter.pop(0)
        return reply("ok")

    # ------------------------------------------------------------------ what can happen next

    @property
    def current(self) -> Agent:
        return self.session.current_agent

    def option(self, key: str, make: Callable[[Driver], Any]) -> Any:
        """``make(self)``, worked out once between two steps (a step forgets them all)."""
        found = self._options.get(key)
        if found is None:
            found = self._options[key] = make(self)
        return found

    def tools(self, agent: Agent | None = None) -> list[FunctionTool]:
        if agent is not None:
            return agent.all_tools()
        found = self._options.get("tools")
        if found is None:
            found = self._options["tools"] = self.current.all_tools()
        return found

    def handoff_tools(self) -> list[FunctionTool]:
        found = self._options.get("handoff_tools")
        if found is None:
            found = [t for t in self.tools() if t.info.handoff_targets]
            self._options["handoff_tools"] = found
        return found

    def target_tools(self, tool: FunctionTool) -> list[FunctionTool]:
        """Tools of the agents ``tool`` declares it hands off to (what their greeting may call)."""
        found: dict[str, FunctionTool] = {}
        for target in tool.info.handoff_targets:
            if isinstance(target, type):
                for _, t in class_tools(target):
                    found.setdefault(t.name, t)
        return list(found.values())

    def foreign_tools(self) -> list[FunctionTool]:
        found = self._options.get("foreign_tools")
        if found is None:
            found = self._options["foreign_tools"] = self._foreign_tools()
        return found

    def _foreign_tools(self) -> list[FunctionTool]:
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
        """Tokens the active agent's context mentions (instructions, tool outputs, replies).

        Kept per agent and fed only the items added since last asked: a context that was
        replaced rather than appended to is read again from the start.
        """
        agent = self.current
        items = agent.chat_ctx.items
        seen = self._words.get(id(agent))
        n = len(items)
        if (
            seen is None
            or seen[0] is not agent
            or n < seen[1]
            or (seen[1] and items[seen[1] - 1] is not seen[2])
        ):
            seen = (agent, 0, None, WordIndex())
        if n != seen[1]:
            seen[3].add([_item_text(it) for it in items[seen[1] :]])
            seen = (agent, n, items[n - 1], seen[3])
        self._words[id(agent)] = seen
        return seen[3].words()

    def open_tasks(self) -> int:
        return len(checks.open_task_triggers(self.steps()))

    def swap_targets(self) -> list[UpdateAgent]:
        """``update_agent`` steps that make sense now (none while an AgentTask is open)."""
        found = self._options.get("swap_targets")
        if found is None:
            found = self._options["swap_targets"] = self._swap_targets()
        return found

    def can_swap(self) -> bool:
        """Whether :meth:`swap_targets` has any (without building them)."""
        found = self._options.get("can_swap")
        if found is None:
            found = self._options["can_swap"] = not self.open_tasks() and (
                bool(self.config.fresh_swaps) or any(self._reusable())
            )
        return found

    def _reusable(self) -> Iterator[str]:
        current = self.current
        for aid, agent in self.session.visited_agents.items():
            inactive = agent is not current and agent.status == "inactive"
            if inactive and not isinstance(agent, AgentTask):
                yield aid

    def _swap_targets(self) -> list[UpdateAgent]:
        if self.open_tasks():
            return []  # swapping away from a running task would strand its caller
        out = list(self.config.fresh_swaps)
        out.extend(UpdateAgent(aid, reuse=True) for aid in sorted(self._reusable()))
        return out

    # ------------------------------------------------------------------ steps

    def perform(self, action: Action) -> None:
        """Run one step through the session; raises :class:`WorkflowFailure` on a violation."""
        self.actions.append(action)
        self.marks.append(len(self.session.history.items))
        self._activations = 0
        self._commits_before = len(self.commits)
        self._turn += 1
        n_limits = len(self.limit_errors)
        try:
            self._run(run_step(self, action), _call_of(action), action)
        finally:
            self._plan, self._chain, self._enter, self._on_tool = None, [], [], None
            self._probe_ok = None
        self.coverage.actions += 1
        self._judge_conflicts()
        if len(self.limit_errors) > n_limits:
            raise self._limit_failure(self.limit_errors[n_limits])

    @staticmethod
    def _limit_failure(error: BaseException) -> WorkflowFailure:
        return WorkflowFailure(
            "handoff-loop" if "handoff" in str(getattr(error, "limit", "")) else "limit",
            f"{error} (the session stopped it; a workflow that needs more raises "
            f"{getattr(error, 'option', 'the option')})",
        )

    # ------------------------------------------------------------------ checks

    def check(self) -> None:
        checks.check_all(self)


def _call_of(action: Action) -> str:
    return "update_agent" if isinstance(action, UpdateAgent) else "run"


def _item_text(item: Any) -> str:
    if isinstance(item, ChatMessage):
        # the user's lines are the driver's own ("the LLM will call ..."): no hints in them
        return "" if item.role == "user" else item.text_content
    if isinstance(item, FunctionCallOutput):
        return item.output
    return ""


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


__all__ = ["Driver", "DriverConfig", "WorkflowFailure"]
