"""An LLM as a judge: does an assistant message do what a test says it should?

Used by ``result.expect.next_event().is_message(role="assistant").judge(llm, intent=...)``.
The judge model must answer through a ``check_intent(success, reason)`` tool call, forced
with ``tool_choice="required"`` at temperature 0, so its verdict is structured rather than
parsed out of prose. Works with any LLM of the protocol (``OpenAILLM``, ``ScriptedLLM``).
"""

from __future__ import annotations

from typing import Annotated, Any

from voxfsm.agents.chat import ChatContext
from voxfsm.agents.llm.base import ToolCallRequest
from voxfsm.agents.llm.stream import LLM
from voxfsm.agents.tools import ArgumentError, FunctionTool, function_tool

JUDGE_INSTRUCTIONS = """\
You check the replies of a voice assistant for an automated test.
You get the INTENT the reply should fulfil and the REPLY itself. Decide whether the reply \
fulfils the intent: judge what it says, not its wording or style, unless the intent is \
about them. A reply that fulfils the intent only partly, or contradicts it, fails.
Answer only by calling check_intent once, with success and a one-sentence reason."""


@function_tool
async def check_intent(
    success: Annotated[bool, "true if the reply fulfils the intent, false otherwise"],
    reason: Annotated[str, "one sentence explaining the verdict"],
) -> None:
    """Report whether the reply fulfils the intent."""


def judge_context(text: str, *, intent: str) -> ChatContext:
    """The conversation the judge model sees."""
    ctx = ChatContext()
    ctx.add_message(role="system", content=JUDGE_INSTRUCTIONS)
    ctx.add_message(role="user", content=f"INTENT:\n{intent}\n\nREPLY:\n{text}")
    return ctx


async def judge_message(llm: LLM | Any, text: str, *, intent: str) -> tuple[bool, str]:
    """Ask ``llm`` whether ``text`` fulfils ``intent``; returns ``(ok, reason)``.

    A judge that gives no usable verdict counts as a failure, with a reason saying what it
    did instead, so a broken judge can never pass a test. LLM failures (an unreachable
    server...) propagate as :class:`~voxfsm.agents.llm.LLMError`.
    """
    tool: FunctionTool = check_intent
    with_options = getattr(llm, "with_options", None)
    if callable(with_options):  # e.g. OpenAILLM: verdicts should not depend on sampling
        llm = with_options(temperature=0)
    said: list[str] = []
    calls: list[ToolCallRequest] = []
    # read the whole reply before deciding, so the stream is finished and closed
    async for chunk in llm.chat(
        chat_ctx=judge_context(text, intent=intent), tools=[tool], tool_choice="required"
    ):
        said.append(chunk.text)
        calls.extend(c for c in chunk.calls if c.name == tool.name)
    if not calls:
        answer = "".join(said).strip()
        return False, (
            "the judge gave no verdict (it did not call check_intent)"
            + (f"; it said: {answer!r}" if answer else "")
        )
    try:
        args = tool.validate(calls[0].arguments)
    except ArgumentError as exc:
        return False, f"the judge's verdict was unusable: {exc}"
    return bool(args["success"]), str(args["reason"])


# LiveKit's conversation judges live under the same module path (``livekit.agents.evals``)
from voxfsm.agents.judges import (  # noqa: E402
    EvaluationResult,
    Judge,
    JudgeGroup,
    JudgmentResult,
    Verdict,
    accuracy_judge,
    coherence_judge,
    conciseness_judge,
    handoff_judge,
    relevancy_judge,
    safety_judge,
    task_completion_judge,
    tool_use_judge,
)

__all__ = [
    "JUDGE_INSTRUCTIONS",
    "EvaluationResult",
    "Judge",
    "JudgeGroup",
    "JudgmentResult",
    "Verdict",
    "accuracy_judge",
    "check_intent",
    "coherence_judge",
    "conciseness_judge",
    "handoff_judge",
    "judge_context",
    "judge_message",
    "relevancy_judge",
    "safety_judge",
    "task_completion_judge",
    "tool_use_judge",
]
