"""``ChatContext._summarize``: fold the older turns of a context into one summary message.

The last ``keep_last_turns`` user/assistant exchanges stay as they are (with the tool calls
between them); older user/assistant messages and tool calls are replaced by one assistant
message (``extra["is_summary"] = True``) that the LLM writes; instructions, other system
messages and handoff records stay where they are.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from voxfsm.agents.chat import ChatMessage

if TYPE_CHECKING:
    from voxfsm.agents.chat import ChatContext

PROMPT = (
    "Write a short summary of the conversation below for the agent that continues it. Keep "
    "names, numbers, decisions and open questions; leave out greetings and small talk."
)


def _is_turn(item: Any) -> bool:
    return isinstance(item, ChatMessage) and item.role in ("user", "assistant")


async def summarize(ctx: ChatContext, llm: Any, *, keep_last_turns: int) -> ChatContext:
    if keep_last_turns < 0:
        raise ValueError(f"keep_last_turns must be 0 or more, got {keep_last_turns}")
    from voxfsm.agents.chat import ChatContext
    from voxfsm.agents.llm.stream import chat

    items = list(ctx.items)
    budget = keep_last_turns * 2  # a turn is a user message and the reply to it
    split, seen = len(items), 0
    for i in range(len(items) - 1, -1, -1):
        if seen == budget:
            break
        if _is_turn(items[i]):
            seen += 1
            split = i
    head = items[:split]
    old = [it for it in head if _is_turn(it)]
    if not old:
        return ctx  # everything is recent: nothing to fold
    transcript = "\n".join(f"{m.role}: {m.text_content}" for m in old)
    request = ChatContext()
    request.add_message(role="system", content=PROMPT)
    request.add_message(role="user", content=transcript)
    summary = (await chat(llm, chat_ctx=request, tools=[], tool_choice="none").collect()).text
    kept = [it for it in head if isinstance(it, ChatMessage) and not _is_turn(it)]
    kept += [it for it in head if getattr(it, "type", "") == "agent_handoff"]
    kept.sort(key=lambda it: head.index(it))
    note = ChatMessage(
        role="assistant",
        content=[f"Summary of the conversation so far: {summary.strip()}"],
        extra={"is_summary": True},
    )
    ctx.items = [*kept, note, *items[split:]]
    return ctx
