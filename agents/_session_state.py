"""The state an ``AgentSession`` keeps besides its agents: history, plugins, agent state.

Also the read-only views of the commit point (``current_agent``, ``machine``, the trace) and
the few attributes snapshot code reads and writes when it resumes a conversation.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from voxfsm.agents import plugins
from voxfsm.agents._watch import Watchers
from voxfsm.agents.chat import AgentHandoff, ChatContext, ChatMessage
from voxfsm.agents.events import AgentStateChangedEvent, ConversationItemAddedEvent, ErrorEvent
from voxfsm.fsm.machine import SessionMachine
from voxfsm.fsm.spec import Step, Trace

if TYPE_CHECKING:
    from voxfsm.agents._commit import Position
    from voxfsm.agents._lifecycle import Lifecycle
    from voxfsm.agents._scope import Scope
    from voxfsm.agents.agent import Agent
    from voxfsm.agents.tools import FunctionTool


class SessionState:
    """History, plugins, agent state and the views every part of the session reads."""

    _position: Position
    _life: Lifecycle
    _closed: bool
    _closing: bool
    _closing_done: asyncio.Future[None] | None
    _listeners: dict[str, list[Any]]
    _tools: list[FunctionTool]
    _llm: Any
    _stt: Any
    _tts: Any
    _vad: Any
    max_history_items: int | None
    max_context_items: int | None

    if TYPE_CHECKING:

        def emit(self, event: str, payload: Any) -> None: ...  # EventEmitter's

    def _init_state(self) -> None:
        self._history = ChatContext()
        self._watch = Watchers()
        self._agent_state = "initializing"
        self._closed = False
        self._closing = False  # no more LLM follow-ups: the session is winding down
        self._closing_done = None
        self._call_ids: dict[str, None] = {}  # recent call ids, to keep each one unique

    def _new_future(self) -> asyncio.Future[None]:
        return asyncio.get_running_loop().create_future()

    # ------------------------------------------------------------------ views

    @property
    def current_agent(self) -> Agent:
        agent = self._position.agent
        if agent is None:
            raise RuntimeError("the session has not started; call `await session.start(agent)`")
        return agent

    @property
    def history(self) -> ChatContext:
        return self._history

    @property
    def chat_ctx(self) -> ChatContext:
        """Read-only view of the current agent's context."""
        return self.current_agent.chat_ctx

    @property
    def machine(self) -> SessionMachine:
        machine = self._position.machine
        if machine is None:
            raise RuntimeError("the session has not started; call `await session.start(agent)`")
        return machine

    @property
    def llm(self) -> Any:
        return self._llm

    @property
    def stt(self) -> Any:
        return self._stt

    @property
    def tts(self) -> Any:
        return self._tts

    @property
    def vad(self) -> Any:
        return self._vad

    @property
    def tools(self) -> list[Any]:
        return list(self._tools)

    @property
    def agent_state(self) -> str:
        return self._agent_state

    @property
    def visited_agents(self) -> dict[str, Agent]:
        """The latest instance of every agent id that was active in this session."""
        return dict(self._position.visited)

    def __fsm_trace__(self) -> Trace:
        return self._position.trace()

    # read-only views of the commit point for snapshot code (resuming goes through
    # _commit.Position.restore)

    @property
    def _agent(self) -> Agent | None:
        return self._position.agent

    @property
    def _entry(self) -> Agent | None:
        return self._position.entry

    @property
    def _machine(self) -> SessionMachine | None:
        return self._position.machine

    @property
    def _steps(self) -> list[Step]:
        return self._position.steps

    @property
    def _visited(self) -> dict[str, Agent]:
        return self._position.visited

    def _activate(self, agent: Agent) -> None:
        self._life.activate(agent)

    # ------------------------------------------------------------------ plugins

    def update_options(
        self,
        *,
        llm: Any = plugins.NOT_GIVEN,
        stt: Any = plugins.NOT_GIVEN,
        tts: Any = plugins.NOT_GIVEN,
        vad: Any = plugins.NOT_GIVEN,
    ) -> None:
        """Replace session-level plugins (agents' own overrides still win while they are active)."""
        for kind, value in (("llm", llm), ("stt", stt), ("tts", tts), ("vad", vad)):
            if value is not plugins.NOT_GIVEN:
                setattr(self, f"_{kind}", plugins.resolve(kind, value))

    def effective_plugin(self, kind: str, agent: Agent | None = None) -> Any:
        """The llm/stt/tts/vad in force for ``agent`` (default: the current one)."""
        agent = agent or self._position.agent
        own = (
            getattr(agent, f"_{kind}", plugins.NOT_GIVEN)
            if agent is not None
            else plugins.NOT_GIVEN
        )
        return getattr(self, f"_{kind}") if own is plugins.NOT_GIVEN else own

    # ------------------------------------------------------------------ recording

    def _set_agent_state(self, state: str) -> None:
        old, self._agent_state = self._agent_state, state
        if old != state and "agent_state_changed" in self._listeners:
            self.emit("agent_state_changed", AgentStateChangedEvent(old, state))

    def _report(self, error: BaseException, source: str) -> None:
        self.emit("error", ErrorEvent(error, source))

    def _record(
        self, agent: Agent | None, item: Any, scope: Scope | None, *, event: Any = None
    ) -> None:
        """Add an item to ``agent``'s context (if given), to history, and to the run's events."""
        if agent is not None:
            agent._chat_ctx._s.tail.append(item)
        self._history._s.tail.append(item)
        if event is not None and scope is not None:
            scope.result._add(event)
        if (
            isinstance(item, (ChatMessage, AgentHandoff))
            and "conversation_item_added" in self._listeners
        ):
            self.emit("conversation_item_added", ConversationItemAddedEvent(item))

    def _unique_call_id(self, call_id: str) -> str:
        """The LLM's call id, made unique if it repeats one (outputs pair with calls by id)."""
        unique, n = call_id, 1
        while unique in self._call_ids:
            n += 1
            unique = f"{call_id}_{n}"
        self._call_ids[unique] = None
        if len(self._call_ids) > 4096:  # a server reuses ids across turns, not across hours
            del self._call_ids[next(iter(self._call_ids))]
        return unique

    def _retain(self) -> None:
        if self.max_history_items is not None and len(self._history) > self.max_history_items:
            self._history.truncate(max_items=self.max_history_items)
        agent = self._position.agent
        limit = self.max_context_items
        if agent is not None and limit is not None and len(agent._chat_ctx) > limit:
            agent._chat_ctx.truncate(max_items=limit)
