"""``Agent`` (a state of the workflow) and ``AgentTask`` (a state you call and return from)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterable, Generator, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from voxfsm.agents import plugins
from voxfsm.agents._runtime import AgentRuntime
from voxfsm.agents._scope import current_scope
from voxfsm.agents._spec import StateHook
from voxfsm.agents.chat import INSTRUCTIONS_ID, ChatContext, ChatMessage, ReadOnlyChatContext
from voxfsm.agents.nodes import DefaultNodes, ModelSettings
from voxfsm.agents.options import AGENT_OPTIONS
from voxfsm.agents.options import accept as accept_options
from voxfsm.agents.plugins import NOT_GIVEN
from voxfsm.agents.tools import FunctionTool, function_tool

if TYPE_CHECKING:
    from voxfsm.agents.session import AgentSession

T = TypeVar("T")

_class_tools_cache: dict[type, tuple[tuple[str, FunctionTool], ...]] = {}


def snake_case(name: str) -> str:
    """``BillingAgent`` → ``billing_agent`` (``HTTPAgent`` → ``http_agent``)."""
    s = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", s).lower()


_default_ids: dict[type, str] = {}


def default_id(cls: type) -> str:
    found = _default_ids.get(cls)
    if found is None:  # built once per class: a handoff builds an agent each time
        found = "default_agent" if cls is Agent else snake_case(cls.__name__)
        if len(_default_ids) < 4096:  # classes made on the fly must not grow it forever
            _default_ids[cls] = found
    return found


def class_tools(cls: type) -> tuple[tuple[str, FunctionTool], ...]:
    """``@function_tool`` attributes in definition order; a subclass overrides by attribute name."""
    cached = _class_tools_cache.get(cls)
    if cached is None:
        found: dict[str, FunctionTool] = {}
        for klass in reversed(cls.__mro__):
            for attr, value in vars(klass).items():
                if isinstance(value, FunctionTool):
                    found[attr] = value
                elif attr in found:
                    del found[attr]
        base = AgentTask if issubclass(cls, AgentTask) else Agent
        clash = sorted(a for a in found if not a.startswith("_") and hasattr(base, a))
        if clash:
            raise ValueError(
                f"{cls.__name__}: tool {clash[0]!r} would replace the agent's own "
                f"`{clash[0]}` attribute; rename the method (the tool's name can stay with "
                f"@function_tool(name={clash[0]!r}))"
            )
        cached = _class_tools_cache[cls] = tuple(found.items())
    return cached


def _check_unique(tools: Sequence[FunctionTool], where: str) -> None:
    seen: set[str] = set()
    for tool in tools:
        if tool.name in seen:
            raise ValueError(
                f"duplicate tool name {tool.name!r} in {where}; rename one with "
                "@function_tool(name=...)"
            )
        seen.add(tool.name)


def _as_tool(obj: Any) -> FunctionTool:
    if isinstance(obj, FunctionTool):
        return obj
    if callable(obj):
        return function_tool(obj)
    raise TypeError(f"tools must be @function_tool functions, got {obj!r}")


class Agent:
    """A state of the workflow: instructions, tools, and optional plugin overrides.

    Subclass it (tools are ``@function_tool`` methods) or instantiate it directly.
    """

    terminal: ClassVar[bool] = False
    """Mark an end state: no way out is expected, so ``check_graph`` does not flag it."""

    __fsm_state__ = StateHook()  # the graph reads classes and instances alike

    def __init__(
        self,
        *,
        instructions: str,
        id: str | None = None,
        chat_ctx: ChatContext | None = None,
        tools: Sequence[Any] | None = None,
        llm: Any = NOT_GIVEN,
        stt: Any = NOT_GIVEN,
        tts: Any = NOT_GIVEN,
        vad: Any = NOT_GIVEN,
        allow_interruptions: Any = NOT_GIVEN,
        **options: Any,
    ) -> None:
        """``options``: LiveKit's per-agent turn settings (``turn_detection``,
        ``min_endpointing_delay``...), kept on ``self.options`` (see ``agents.options``)."""
        if not isinstance(instructions, str):
            raise TypeError(f"instructions must be a str, got {type(instructions).__name__}")
        self._id = id or default_id(type(self))
        self._instructions = instructions
        self._tools = self._build_tools(tools or ())
        self._llm = plugins.resolve("llm", llm)
        self._stt = plugins.resolve("stt", stt)
        self._tts = plugins.resolve("tts", tts)
        self._vad = plugins.resolve("vad", vad)
        self._allow_interruptions = allow_interruptions
        self.options = accept_options(type(self).__name__, options, AGENT_OPTIONS)
        self._runtime = AgentRuntime()  # the engine's, never the user's
        self._chat_ctx = self._fresh_context(chat_ctx, self._tools)

    def _build_tools(self, extra: Sequence[Any]) -> list[FunctionTool]:
        tools = [proto._bind(self) for _, proto in class_tools(type(self))]
        if extra:
            tools.extend(_as_tool(t) for t in extra)
        if len({t.name for t in tools}) != len(tools):
            _check_unique(tools, f"agent {self._id!r}")
        for tool in tools:
            if not tool._info:
                _ = tool.info  # resolve annotations now: a bad one fails at construction
        return tools

    def _instructions_item(self) -> ChatMessage:
        return ChatMessage(role="system", content=[self._instructions], id=INSTRUCTIONS_ID)

    def _fresh_context(
        self, source: ChatContext | None, tools: Sequence[FunctionTool]
    ) -> ChatContext:
        if source is None:
            return ChatContext([self._instructions_item()])
        # handoff records belong to session history, never to an agent's context; the
        # source's instructions item gives way to this agent's own (the rest is shared)
        return source._carried(self._instructions_item(), tools)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} id={self._id!r} {self._runtime.status}>"

    # ------------------------------------------------------------------ properties

    @property
    def id(self) -> str:
        return self._id

    @property
    def label(self) -> str:
        return self._id

    @property
    def instructions(self) -> str:
        return self._instructions

    @property
    def tools(self) -> list[FunctionTool]:
        return list(self._tools)

    @property
    def chat_ctx(self) -> ChatContext:
        """A read-only view of this agent's context (``.copy()`` for a mutable one)."""
        return ReadOnlyChatContext._of(self._chat_ctx._s)

    @property
    def status(self) -> str:
        """``"inactive"``, ``"active"``, or ``"paused"`` (waiting for an AgentTask it started)."""
        return self._runtime.status

    @property
    def session(self) -> AgentSession[Any]:
        if self._runtime.session is None or self._runtime.status == "inactive":
            raise RuntimeError(
                f"agent {self._id!r} is not active: self.session is only available from the "
                "start of on_enter until on_exit returns"
            )
        return self._runtime.session

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
    def allow_interruptions(self) -> Any:
        return self._allow_interruptions

    # ------------------------------------------------------------------ hooks

    async def on_enter(self) -> None:
        """Runs when the agent becomes active (session start or handoff)."""

    async def on_exit(self) -> None:
        """Runs when the agent stops being active (handoff away or session close)."""

    async def on_user_turn_completed(self, turn_ctx: ChatContext, new_message: ChatMessage) -> None:
        """Runs before the reply to a user turn; raise ``StopResponse`` to skip the reply."""

    # ------------------------------------------------------------------ pipeline nodes

    default = DefaultNodes
    """The default node implementations, for overrides to call (``Agent.default.llm_node``)."""

    def llm_node(
        self, chat_ctx: ChatContext, tools: list[FunctionTool], model_settings: ModelSettings
    ) -> Any:
        """Produce the reply: yields ``str``/``ChatChunk`` (or returns a ``str``)."""
        return DefaultNodes.llm_node(self, chat_ctx, tools, model_settings)

    def transcription_node(self, text: AsyncIterable[str], model_settings: ModelSettings) -> Any:
        """Turn the reply's text into what is recorded and shown."""
        return DefaultNodes.transcription_node(self, text, model_settings)

    def tts_node(self, text: AsyncIterable[str], model_settings: ModelSettings) -> Any:
        """Turn text into audio (the voice loop's TTS by default)."""
        return DefaultNodes.tts_node(self, text, model_settings)

    def stt_node(self, audio: AsyncIterable[bytes], model_settings: ModelSettings) -> Any:
        """Turn the user's audio into text (the voice loop's STT by default)."""
        return DefaultNodes.stt_node(self, audio, model_settings)

    # ------------------------------------------------------------------ mutators

    async def update_instructions(self, instructions: str) -> None:
        self._instructions = instructions
        items = self._chat_ctx.items
        if items and items[0].id == INSTRUCTIONS_ID:
            items[0] = self._instructions_item()
        else:
            items.insert(0, self._instructions_item())

    async def update_tools(self, tools: Sequence[Any]) -> None:
        new = [_as_tool(t) for t in tools]
        _check_unique([*new, *self._runtime.session_tools], f"agent {self._id!r}")
        for tool in new:
            _ = tool.info
        self._tools = new
        # calls of tools the agent no longer has would confuse the model
        self._chat_ctx = self._chat_ctx.copy(tools=self.all_tools())

    async def update_chat_ctx(self, chat_ctx: ChatContext) -> None:
        self._chat_ctx = self._fresh_context(chat_ctx, self.all_tools())

    # ------------------------------------------------------------------ session side

    def all_tools(self) -> list[FunctionTool]:
        """This agent's tools, then the session's (what its LLM may call)."""
        return (
            [*self._tools, *self._runtime.session_tools]
            if self._runtime.session_tools
            else list(self._tools)
        )

    def find_tool(self, name: str) -> FunctionTool | None:
        for tool in self._tools:
            if tool.name == name:
                return tool
        for tool in self._runtime.session_tools:
            if tool.name == name:
                return tool
        for tool in self._runtime.node_tools:
            if tool.name == name:
                return tool
        return None


def _on_loop_thread(future: asyncio.Future[Any]) -> bool:
    try:
        return asyncio.get_running_loop() is future.get_loop()
    except RuntimeError:  # no loop running in this thread
        return False


class AgentTask(Agent, Generic[T]):
    """A temporary handoff: ``result = await SomeTask(...)`` inside a tool or a hook.

    The caller pauses, the task becomes the active agent, and when one of its tools calls
    :meth:`complete`, control (and the task's messages) return to the caller.
    """

    def __init__(
        self, *, instructions: str, preserve_function_call_history: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(instructions=instructions, **kwargs)
        self.preserve_function_call_history = preserve_function_call_history
        """Keep the task's tool calls when its messages merge back into the caller."""
        self._outcome: asyncio.Future[T] | None = None
        self._awaited = False

    def complete(self, result: T | BaseException) -> None:
        """Finish the task with a result, or with an exception the awaiting code will raise.

        Also callable from a plain ``def`` tool (those run in a worker thread).
        """
        outcome = self._outcome
        if outcome is not None and not _on_loop_thread(outcome):
            # hand the result to the event loop's thread; it lands before the tool's own
            # result does, so the reply sees the task done
            outcome.get_loop().call_soon_threadsafe(self.complete, result)
            return
        if self._outcome is None:
            self._outcome = asyncio.get_running_loop().create_future()
        if self._outcome.done():
            raise RuntimeError(f"task {self.id!r} is already complete")
        if isinstance(result, BaseException):
            self._outcome.set_exception(result)
        else:
            self._outcome.set_result(result)
        scope = current_scope()
        if not self._awaited and scope is not None:
            # a task the session runs directly: its result is the run's final output, and
            # an exception it completes with is raised from the run (nobody else awaits it)
            if isinstance(result, BaseException):
                self._outcome.exception()  # retrieved here; don't log "never retrieved"
                scope.errors.append(result)
            else:
                scope.result.final_output = result

    def done(self) -> bool:
        return self._outcome is not None and self._outcome.done()

    def __await__(self) -> Generator[Any, None, T]:
        return self._run().__await__()

    async def _run(self) -> T:
        scope = current_scope()
        if scope is None:
            raise RuntimeError(
                f"await {type(self).__name__}(...) only inside a function tool or an agent's "
                "on_enter/on_exit while a session is running"
            )
        if self._awaited:
            raise RuntimeError(f"task {self.id!r} was already awaited; create a new one")
        self._awaited = True
        if self._outcome is None:
            self._outcome = asyncio.get_running_loop().create_future()
        result: T = await scope.session._run_task(self, scope)
        return result
