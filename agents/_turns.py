"""The reply loop: ask the LLM, record what it says, run the tools it calls, decide handoffs."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Any

from voxfsm.agents import nodes
from voxfsm.agents._machine import fire_now
from voxfsm.agents._outcome import Outcome, conflict_message, interpret
from voxfsm.agents._scope import Scope, _speaker, _tool
from voxfsm.agents.agent import Agent, AgentTask
from voxfsm.agents.chat import ChatContext, ChatMessage, FunctionCall, FunctionCallOutput
from voxfsm.agents.context import RunContext
from voxfsm.agents.events import FunctionToolsExecutedEvent
from voxfsm.agents.llm.base import LLMChunk, LLMError, ToolCallRequest
from voxfsm.agents.mock import call_mock, find_mock
from voxfsm.agents.run_result import ChatMessageEvent, FunctionCallEvent, FunctionCallOutputEvent
from voxfsm.agents.speech import ReplyBrokenOff, SpeechHandle
from voxfsm.agents.tools import ArgumentError, FunctionTool, StopResponse

if TYPE_CHECKING:
    from voxfsm.agents.session import AgentSession

log = logging.getLogger("voxfsm.agents")


def _being_cancelled() -> bool:
    """Whether the running task was really cancelled (not a tool raising CancelledError)."""
    task = asyncio.current_task()
    cancelling = getattr(task, "cancelling", None)
    return cancelling is None or cancelling() > 0


def _check_chunk(llm: Any, chunk: Any) -> None:
    if not isinstance(chunk, LLMChunk):
        raise LLMError(
            f"{type(llm).__name__}.chat() yielded {chunk!r} ({type(chunk).__name__}); "
            "an LLM must yield LLMChunk objects"
        )


def _unknown_tool(name: str, agent: Agent) -> str:
    names = ", ".join(f"`{t.name}`" for t in agent.all_tools()) or "no tools"
    return f"there is no tool `{name}` for agent {agent.id!r}; the available tools are: {names}"


async def _once(text: str) -> AsyncIterator[str]:
    yield text


class TurnRunner:
    """Runs replies for a session; the session owns all state, this owns the procedure."""

    def __init__(self, session: AgentSession[Any]) -> None:
        self.s = session

    async def user_turn(self, scope: Scope, text: str) -> None:
        s = self.s
        agent = s.current_agent  # read now: input queued behind a handoff goes to the new agent
        msg = ChatMessage(role="user", content=[text])
        first_ctx = None
        if type(agent).on_user_turn_completed is not Agent.on_user_turn_completed:
            turn_ctx = agent._chat_ctx.copy()
            try:
                await s._in_agent(
                    agent, agent.on_user_turn_completed(turn_ctx, msg), "on_user_turn_completed"
                )
            except StopResponse:
                s._record(agent, msg, scope)
                return
            first_ctx = ChatContext([*turn_ctx.items, msg])
        s._record(agent, msg, scope)
        await self.reply(scope, agent, SpeechHandle(), first_ctx=first_ctx)

    async def reply(
        self,
        scope: Scope,
        agent: Agent,
        handle: SpeechHandle,
        *,
        user_input: str | None = None,
        instructions: str | None = None,
        tool_choice: Any = None,
        tools_enabled: bool = True,
        first_ctx: ChatContext | None = None,
    ) -> None:
        watch = self.s._watch
        args = (user_input, instructions, tool_choice, tools_enabled, first_ctx)
        if not watch:
            return await self._reply(scope, agent, handle, *args)
        watch.reply_started(agent, handle)
        error: BaseException | None = None
        try:
            await self._reply(scope, agent, handle, *args)
        except BaseException as exc:
            error = exc
            raise
        finally:
            watch.reply_finished(agent, handle, error)

    async def _reply(
        self,
        scope: Scope,
        agent: Agent,
        handle: SpeechHandle,
        user_input: str | None,
        instructions: str | None,
        tool_choice: Any,
        tools_enabled: bool,
        first_ctx: ChatContext | None,
    ) -> None:
        s = self.s
        if user_input is not None:
            s._record(agent, ChatMessage(role="user", content=[user_input]), scope)
        llm = s.effective_plugin("llm", agent)
        if llm is None:
            raise RuntimeError(
                f"agent {agent.id!r} has no LLM: pass llm= to AgentSession or to the agent"
            )
        choice = tool_choice or "auto"
        steps = 0
        while True:
            if not tools_enabled or steps >= s.max_tool_steps:
                choice = "none"
            tools = nodes.visible_tools(agent.all_tools()) if choice != "none" else []
            ctx = first_ctx if first_ctx is not None else agent._chat_ctx
            if instructions:  # ephemeral: only this reply's first request sees it
                ctx = ChatContext([*ctx._items, ChatMessage(role="system", content=[instructions])])
            first_ctx = instructions = None
            calls = await self._generate(scope, agent, handle, llm, ctx, tools, choice)
            if not calls:
                return
            if await self._tool_step(scope, agent, handle, calls):
                return
            if isinstance(agent, AgentTask) and agent.done():
                return  # the task's caller takes over from here
            steps += 1

    async def say(
        self, scope: Scope, agent: Agent, handle: SpeechHandle, text: str, *, add_to_chat_ctx: bool
    ) -> None:
        watch = self.s._watch
        if watch:
            watch.reply_started(agent, handle)
        error: BaseException | None = None
        try:
            await self._say(scope, agent, handle, text, add_to_chat_ctx)
        except BaseException as exc:
            error = exc
            raise
        finally:
            if watch:
                watch.reply_finished(agent, handle, error)

    async def _say(
        self, scope: Scope, agent: Agent, handle: SpeechHandle, text: str, add_to_chat_ctx: bool
    ) -> None:
        s = self.s
        s.current_speech = handle
        spoken, interrupted = text, False
        if s.output is not None:
            s._set_agent_state("speaking")
            played = await s.output.speak(_once(text), agent=agent)
            spoken, interrupted = played.spoken_text, played.interrupted
        msg = ChatMessage(role="assistant", content=[spoken], interrupted=interrupted)
        handle.chat_items.append(msg)
        if add_to_chat_ctx:
            s._record(agent, msg, scope, event=ChatMessageEvent(msg))
        else:
            scope.result._add(ChatMessageEvent(msg))

    # ------------------------------------------------------------------ generation

    def _message(
        self, scope: Scope, agent: Agent, handle: SpeechHandle, text: str, interrupted: bool
    ) -> None:
        msg = ChatMessage(role="assistant", content=[text], interrupted=interrupted)
        handle.chat_items.append(msg)
        self.s._record(agent, msg, scope, event=ChatMessageEvent(msg))

    def _call(self, scope: Scope, agent: Agent, handle: SpeechHandle, request: Any) -> FunctionCall:
        if not isinstance(request, ToolCallRequest):
            raise LLMError(f"the LLM sent {request!r} as a tool call; expected a ToolCallRequest")
        fc = FunctionCall(
            call_id=self.s._unique_call_id(request.call_id),
            name=request.name,
            arguments=request.arguments,
        )
        handle.chat_items.append(fc)
        self.s._record(agent, fc, scope, event=FunctionCallEvent(fc))
        return fc

    async def _generate(
        self,
        scope: Scope,
        agent: Agent,
        handle: SpeechHandle,
        llm: Any,
        ctx: ChatContext,
        tools: Sequence[FunctionTool],
        choice: Any,
    ) -> list[FunctionCall]:
        s = self.s
        s._set_agent_state("thinking")
        s.current_speech = handle
        stream = nodes.llm_stream(agent, llm, ctx, tools, choice)  # llm_node if overridden
        if s.output is not None:
            return await self._generate_spoken(scope, agent, handle, stream, choice)
        parts: list[str] = []
        calls: list[FunctionCall] = []
        try:
            async for chunk in stream:
                _check_chunk(llm, chunk)
                if chunk.text:
                    parts.append(chunk.text)
                if chunk.calls and choice == "none":
                    log.warning("the LLM called tools although tools were disabled; calls dropped")
                elif chunk.calls:
                    if parts:  # a reply's text comes before the calls emitted with it
                        self._message(
                            scope,
                            agent,
                            handle,
                            await nodes.transcribe_text(agent, "".join(parts), choice),
                            False,
                        )
                        parts.clear()
                    for request in chunk.calls:
                        calls.append(self._call(scope, agent, handle, request))
                if handle.interrupted:
                    break
        except BaseException:  # failed or cancelled: no call may stay unanswered
            self._answer_unrun(scope, agent, calls, "the model's reply broke off")
            raise
        if parts or handle.interrupted:
            self._message(
                scope,
                agent,
                handle,
                await nodes.transcribe_text(agent, "".join(parts), choice),
                handle.interrupted,
            )
        return [] if handle.interrupted else calls

    async def _generate_spoken(
        self,
        scope: Scope,
        agent: Agent,
        handle: SpeechHandle,
        stream: AsyncIterator[LLMChunk],
        choice: Any,
    ) -> list[FunctionCall]:
        s = self.s
        queue: asyncio.Queue[str | BaseException | None] = asyncio.Queue()

        async def text() -> AsyncIterator[str]:
            while (piece := await queue.get()) is not None:
                if isinstance(piece, BaseException):
                    raise piece
                yield piece

        playout = asyncio.create_task(s.output.speak(text(), agent=agent))
        parts: list[str] = []
        requests: list[Any] = []
        failure: BaseException | None = None
        try:
            async for chunk in stream:
                if chunk.text:
                    if not parts:
                        s._set_agent_state("speaking")
                    parts.append(chunk.text)
                    queue.put_nowait(chunk.text)
                if chunk.calls and choice != "none":
                    requests.extend(chunk.calls)
                if handle.interrupted or playout.done():
                    break
        except Exception as exc:  # the LLM broke off: keep what was already said, then report
            failure = exc
            queue.put_nowait(ReplyBrokenOff(str(exc)))
        finally:
            queue.put_nowait(None)
        played = await playout
        if failure is not None:
            if played.spoken_text:
                self._message(scope, agent, handle, played.spoken_text, True)
            raise failure
        interrupted = played.interrupted or handle.interrupted
        if parts or interrupted:
            spoken = played.spoken_text if interrupted else "".join(parts)
            self._message(scope, agent, handle, spoken, interrupted)
        if interrupted:
            return []  # the user cut in: what was not said is not acted on
        return [self._call(scope, agent, handle, r) for r in requests]

    # ------------------------------------------------------------------ tools

    def _answer_unrun(
        self, scope: Scope, agent: Agent, calls: Sequence[FunctionCall], why: str
    ) -> None:
        """Error outputs for calls that will never run, so every call keeps one output."""
        for fc in calls:
            out = FunctionCallOutput(
                call_id=fc.call_id,
                name=fc.name,
                output=f"{why} before `{fc.name}` could run; it was not run",
                is_error=True,
            )
            self.s._record(agent, out, scope, event=FunctionCallOutputEvent(out))
            if self.s._watch:
                self.s._watch.tool_finished(agent, fc, out)

    async def _tool_step(
        self, scope: Scope, agent: Agent, handle: SpeechHandle, calls: list[FunctionCall]
    ) -> bool:
        """Run one step of tool calls; True when the reply loop must stop."""
        s = self.s
        plans: list[tuple[FunctionCall, FunctionTool | None, dict[str, Any], str]] = []
        for fc in calls:
            if agent is not s._agent or agent._status != "active":
                plans.append(
                    (
                        fc,
                        None,
                        {},
                        f"`{fc.name}` was not run: agent {agent.id!r} is no longer active",
                    )
                )
                continue
            tool = agent.find_tool(fc.name)
            if tool is None:
                plans.append((fc, None, {}, _unknown_tool(fc.name, agent)))
                continue
            try:
                plans.append((fc, tool, tool.validate(fc.arguments), ""))
            except ArgumentError as exc:
                plans.append((fc, None, {}, str(exc)))
        runs = [
            self._execute(agent, handle, fc, tool, args)
            for fc, tool, args, _ in plans
            if tool is not None
        ]
        try:
            if len(runs) == 1:
                results = [await runs[0]]
            else:
                results = list(await asyncio.gather(*runs)) if runs else []
        except asyncio.CancelledError:
            for run in runs:  # coroutines a cancelled gather never started
                run.close()
            self._answer_unrun(scope, agent, calls, "the turn was cancelled")
            raise
        # speech the tools started without awaiting it is part of their step: it comes first
        await s.settle(scope)
        done = iter(results)
        outcomes = [
            next(done) if tool is not None else Outcome(err, is_error=True, reply=True)
            for _, tool, _, err in plans
        ]
        handing = [n for n, o in enumerate(outcomes) if o.target is not None]
        if len(handing) > 1:
            msg = conflict_message([plans[n][0].name for n in handing])
            for n in handing:
                outcomes[n] = Outcome(msg, is_error=True, reply=True)
            handing = []
        if (
            handing
            and (target := outcomes[handing[0]].target) is not None
            and target._status != "inactive"
        ):
            outcomes[handing[0]] = Outcome(
                f"cannot hand off to agent {target.id!r}: it is already {target._status}",
                is_error=True,
                reply=True,
            )
            handing = []
        outputs = []
        for (fc, _, _, _), outcome in zip(plans, outcomes, strict=True):
            out = FunctionCallOutput(
                call_id=fc.call_id, name=fc.name, output=outcome.output, is_error=outcome.is_error
            )
            handle.chat_items.append(out)
            s._record(agent, out, scope, event=FunctionCallOutputEvent(out))
            outputs.append(out)
            if s._watch:
                s._watch.tool_finished(agent, fc, out)
        if "function_tools_executed" in s._listeners:
            executed = FunctionToolsExecutedEvent(list(calls), outputs)
            s.emit("function_tools_executed", executed)
            if not executed.has_tool_reply:  # a listener called cancel_tool_reply()
                for outcome in outcomes:
                    outcome.reply = False
        if s._agent is not agent or s._closing:
            return True  # update_agent() inside a tool moved the session on, or it is closing
        for n, (_, tool, _, _) in enumerate(plans):
            if tool is not None and n not in handing:
                fire_now(s.machine, tool.name, None)
        if handing:
            n = handing[0]
            tool = plans[n][1]
            target = outcomes[n].target
            assert tool is not None and target is not None
            s.commit(agent, target, tool.name, tool=tool)
            follow_up = any(o.reply for o in outcomes)
            scope.deferred.append(lambda: s.swap(agent, target, scope, follow_up=follow_up))
            return True
        return not any(o.reply for o in outcomes)

    async def _execute(
        self,
        agent: Agent,
        handle: SpeechHandle,
        fc: FunctionCall,
        tool: FunctionTool,
        args: dict[str, Any],
    ) -> Outcome:
        for name in tool.info.context_params:
            args[name] = RunContext(session=self.s, speech_handle=handle, function_call=fc)
        mock = find_mock(agent, tool.name)
        if self.s._watch:
            self.s._watch.tool_started(agent, fc)
        speaker = _speaker.set(agent)
        running = _tool.set(tool.name)
        limit = tool.timeout if tool.timeout is not None else self.s.tool_timeout
        try:
            running_call = call_mock(mock, args) if mock is not None else tool(**args)
            value = await (asyncio.wait_for(running_call, limit) if limit else running_call)
            return interpret(tool.name, value, None)
        except asyncio.TimeoutError:
            log.warning("tool %r of agent %r timed out after %s s", tool.name, agent.id, limit)
            return Outcome(
                f"`{tool.name}` did not finish within {limit:g} s and was stopped",
                is_error=True,
                reply=True,
            )
        except asyncio.CancelledError as exc:
            if _being_cancelled():
                raise
            return interpret(tool.name, None, RuntimeError(f"the tool raised {exc!r}"))
        except Exception as exc:
            return interpret(tool.name, None, exc)
        finally:
            _tool.reset(running)
            _speaker.reset(speaker)
