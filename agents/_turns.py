"""Turns and replies: ask the LLM, run the tools it calls, and *decide* handoffs.

Nothing here changes the active agent: a reply that ends in a handoff returns a
:class:`~voxfsm.agents._commit.Handoff` and the session commits it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Any

from voxfsm.agents import _toolcalls, nodes
from voxfsm.agents._commit import Handoff
from voxfsm.agents._generate import generate
from voxfsm.agents._outcome import Outcome, conflict_message
from voxfsm.agents._scope import Scope
from voxfsm.agents.agent import Agent, AgentTask
from voxfsm.agents.chat import ChatContext, ChatMessage, FunctionCall, FunctionCallOutput
from voxfsm.agents.events import FunctionToolsExecutedEvent
from voxfsm.agents.limits import LimitExceeded
from voxfsm.agents.plugins import NOT_GIVEN
from voxfsm.agents.run_result import ChatMessageEvent, FunctionCallOutputEvent
from voxfsm.agents.speech import TEXT_OUTPUT, SpeechHandle
from voxfsm.agents.tools import StopResponse

if TYPE_CHECKING:
    from voxfsm.agents.session import AgentSession

log = logging.getLogger("voxfsm.agents")

_STOP = (True, None)
_GO_ON = (False, None)


async def _once(text: str) -> AsyncIterator[str]:
    yield text


class TurnRunner:
    """Runs user turns and replies for a session (the session owns the state)."""

    def __init__(self, session: AgentSession[Any]) -> None:
        self.s = session

    async def user_turn(self, scope: Scope, text: str) -> Handoff | None:
        s = self.s
        agent = s.current_agent  # read now: input queued behind a handoff goes to the new agent
        msg = ChatMessage(role="user", content=[text])
        first_ctx = None
        if type(agent).on_user_turn_completed is not Agent.on_user_turn_completed:
            turn_ctx = agent._chat_ctx.copy()
            try:
                await s._life.in_agent(
                    agent, agent.on_user_turn_completed(turn_ctx, msg), "on_user_turn_completed"
                )
            except StopResponse:
                s._record(agent, msg, scope)
                return None
            first_ctx = turn_ctx.copy()
            first_ctx._append(msg)
        s._record(agent, msg, scope)
        return await self.reply(scope, agent, SpeechHandle(), first_ctx=first_ctx)

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
    ) -> Handoff | None:
        """One reply of ``agent``, with its tool rounds; returns the handoff it decided."""
        watch = self.s._watch
        args = (user_input, instructions, tool_choice, tools_enabled, first_ctx)
        if not watch:
            return await self._reply(scope, agent, handle, *args)
        watch.reply_started(agent, handle)
        error: BaseException | None = None
        try:
            return await self._reply(scope, agent, handle, *args)
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
    ) -> Handoff | None:
        s = self.s
        if user_input is not None:
            s._record(agent, ChatMessage(role="user", content=[user_input]), scope)
        # the session's LLM unless the agent brings its own (or None: disabled)
        own = getattr(agent, "_llm", NOT_GIVEN)
        llm = s._llm if own is NOT_GIVEN else own
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
                ctx = ctx.copy()
                ctx._append(ChatMessage(role="system", content=[instructions]))
            first_ctx = instructions = None
            calls = await generate(s, scope, agent, handle, llm, ctx, tools, choice)
            if not calls:
                return None
            stop, handoff = await self.tool_step(scope, agent, handle, calls)
            if stop:
                return handoff
            if isinstance(agent, AgentTask) and agent.done():
                return None  # the task's caller takes over from here
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
            played = await (s.output or TEXT_OUTPUT).speak(_once(text), agent=agent)
            spoken, interrupted = played.spoken_text, played.interrupted
        msg = ChatMessage(role="assistant", content=[spoken], interrupted=interrupted)
        handle.chat_items.append(msg)
        if add_to_chat_ctx:
            s._record(agent, msg, scope, event=ChatMessageEvent(msg))
        else:
            scope.result._add(ChatMessageEvent(msg))

    # ------------------------------------------------------------------ tools

    def answer_unrun(
        self, scope: Scope, agent: Agent, calls: Sequence[FunctionCall], why: str
    ) -> None:
        """Error outputs for calls that will never run, so every call keeps one output."""
        for fc in calls:
            self._output(
                scope,
                agent,
                None,
                fc,
                Outcome(f"{why} before `{fc.name}` could run; it was not run", is_error=True),
            )

    def _output(
        self,
        scope: Scope,
        agent: Agent,
        handle: SpeechHandle | None,
        fc: FunctionCall,
        outcome: Outcome,
    ) -> FunctionCallOutput:
        s = self.s
        out = FunctionCallOutput(
            call_id=fc.call_id, name=fc.name, output=outcome.output, is_error=outcome.is_error
        )
        if handle is not None:
            handle.chat_items.append(out)
        s._record(agent, out, scope, event=FunctionCallOutputEvent(out))
        if s._watch:
            s._watch.tool_finished(agent, fc, out)
        return out

    async def tool_step(
        self, scope: Scope, agent: Agent, handle: SpeechHandle, calls: list[FunctionCall]
    ) -> tuple[bool, Handoff | None]:
        """Run one step of tool calls; (whether the reply stops, the handoff it decided)."""
        s = self.s
        plans = [_toolcalls.plan(s, scope, agent, fc) for fc in calls]
        runs = [_toolcalls.execute(s, agent, handle, p, scope) for p in plans if p.tool]
        try:
            if len(runs) == 1:
                results = [await runs[0]]
            else:
                results = list(await asyncio.gather(*runs)) if runs else []
        except BaseException:  # cancelled: every call still gets its output
            for run in runs:  # coroutines a cancelled gather never started
                run.close()
            self.answer_unrun(scope, agent, calls, "the turn was cancelled")
            raise
        # speech the tools started without awaiting it is part of their step: it comes first
        await s._jobs.settle(scope)
        done = iter(results)
        outcomes = [
            next(done) if p.tool is not None else Outcome(p.refused, is_error=True, reply=True)
            for p in plans
        ]
        handing = [n for n, o in enumerate(outcomes) if o.target is not None]
        if len(handing) > 1:
            msg = conflict_message([plans[n].call.name for n in handing])
            for n in handing:
                outcomes[n] = Outcome(msg, is_error=True, reply=True)
            handing = []
        if handing:
            n = handing[0]
            refused = self._refuse_handoff(scope, agent, plans[n].call, outcomes[n])
            if refused is not None:
                outcomes[n] = refused
                handing = []
        outputs = [
            self._output(scope, agent, handle, p.call, o)
            for p, o in zip(plans, outcomes, strict=True)
        ]
        if "function_tools_executed" in s._listeners:
            executed = FunctionToolsExecutedEvent(list(calls), outputs)
            s.emit("function_tools_executed", executed)
            if not executed.has_tool_reply:  # a listener called cancel_tool_reply()
                for outcome in outcomes:
                    outcome.reply = False
        if s._position.agent is not agent or s._closing:
            return _STOP  # update_agent() inside a tool moved the session on, or it is closing
        for n, p in enumerate(plans):
            if p.tool is not None and n not in handing:
                s._position.stay(p.tool.name)
        if handing:
            tool, target = plans[handing[0]].tool, outcomes[handing[0]].target
            assert tool is not None and target is not None
            return True, Handoff(agent, target, tool, any(o.reply for o in outcomes))
        return _GO_ON if any(o.reply for o in outcomes) else _STOP

    def _refuse_handoff(
        self, scope: Scope, agent: Agent, fc: FunctionCall, outcome: Outcome
    ) -> Outcome | None:
        """Why the handoff a tool returned cannot be made (``None``: it can)."""
        s = self.s
        target = outcome.target
        assert target is not None
        why = ""
        if target._runtime.status != "inactive":
            why = f"cannot hand off to agent {target.id!r}: it is already {target._runtime.status}"
        elif (now := s._position.agent) is not agent and now is not None:
            # update_agent() ran during this step: it wins, and the model must not believe
            # its transfer happened
            why = (
                f"`{fc.name}` handed off to {target.id!r}, but update_agent() switched the "
                f"session to {now.id!r} while it ran; the handoff was not made"
            )
            log.warning("%s", why)
        elif scope.handoffs >= s.max_handoffs_per_turn:
            limit = s.max_handoffs_per_turn
            why = (
                f"`{fc.name}` was refused: {limit} handoffs already happened in this user "
                f"turn (AgentSession(max_handoffs_per_turn={limit})); agents may be handing "
                "the conversation back and forth"
            )
            error = LimitExceeded(why, limit="handoffs per turn", option="max_handoffs_per_turn")
            s._limit_hit(scope, error, "handoff")
        if not why:
            return None
        return Outcome(why, is_error=True, reply=True)
