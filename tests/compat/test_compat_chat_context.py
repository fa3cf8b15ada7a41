"""ChatContext and Instructions behaviour LiveKit code relies on (``llm.chat_context`` path)."""

from __future__ import annotations

import pytest

from voxfsm.agents.llm import AgentHandoff, FunctionCall, FunctionCallOutput, ScriptedLLM, reply
from voxfsm.agents.llm.chat_context import ChatContext, Instructions


def shop_talk() -> ChatContext:
    ctx = ChatContext()
    ctx.add_message(role="system", content="You sell bikes.")
    ctx.add_message(role="user", content="Do you have red bikes?")
    ctx.add_message(role="assistant", content="Yes, two models.")
    ctx.items.append(AgentHandoff(old_agent_id="sales", new_agent_id="repairs"))
    ctx.add_message(role="user", content="My chain is loose.")
    ctx.items.append(FunctionCall(call_id="c1", name="book_repair"))
    ctx.items.append(FunctionCallOutput(call_id="c1", name="book_repair", output="Friday"))
    ctx.add_message(role="assistant", content="Booked for Friday.")
    return ctx


def summarizer() -> ScriptedLLM:
    return ScriptedLLM(lambda ctx, tools: reply("They asked about red bikes."))


async def test_summarize_folds_old_turns_and_keeps_the_last_ones() -> None:
    ctx = shop_talk()
    model = summarizer()
    same = await ctx._summarize(model, keep_last_turns=1)
    assert same is ctx
    kinds = [(it.type, getattr(it, "role", None)) for it in ctx.items]
    assert kinds == [
        ("message", "system"),
        ("agent_handoff", None),
        ("message", "assistant"),  # the summary
        ("message", "user"),
        ("function_call", None),
        ("function_call_output", None),
        ("message", "assistant"),
    ]
    note = ctx.items[2]
    assert note.extra == {"is_summary": True}
    assert "red bikes" in note.text_content
    # the model saw the old turns, not the kept ones
    asked = model.requests[0].last_text
    assert "Do you have red bikes?" in asked and "chain" not in asked


async def test_summarize_leaves_a_short_context_alone() -> None:
    ctx = shop_talk()
    ids = [it.id for it in ctx.items]
    model = summarizer()
    await ctx._summarize(model, keep_last_turns=5)
    assert [it.id for it in ctx.items] == ids
    assert model.requests == []


async def test_summarize_everything_with_zero_turns_kept() -> None:
    ctx = shop_talk()
    await ctx._summarize(summarizer(), keep_last_turns=0)
    assert [it.type for it in ctx.items].count("function_call") == 0
    notes = [it for it in ctx.items if getattr(it, "extra", {}).get("is_summary")]
    assert len(notes) == 1


def test_remove_an_unknown_id_is_an_error() -> None:
    ctx = shop_talk()
    first = ctx.items[1]
    ctx.remove(first)
    assert ctx.get_by_id(first.id) is None
    with pytest.raises(ValueError, match="no item with id"):
        ctx.remove(first.id)


def test_messages_carry_extra_tags() -> None:
    ctx = ChatContext()
    msg = ctx.add_message(role="assistant", content="hi", extra={"source": "greeting"})
    assert msg.extra == {"source": "greeting"}
    assert ChatContext.from_dict(ctx.to_dict()).items[0].extra == {"source": "greeting"}


def test_instructions_render_per_modality() -> None:
    both = Instructions("Be kind.", audio="Speak briefly.", text="Use lists.")
    assert str(both) == both.common == "Be kind."
    assert both.render(modality="audio") == "Be kind.\n\nSpeak briefly."
    assert both.render(modality="text") == "Be kind.\n\nUse lists."
    assert Instructions("", audio="Only voice.").render(modality="audio") == "Only voice."
    assert Instructions("Plain.").render(modality="text") == "Plain."


def test_resolve_template_fills_each_modality_once() -> None:
    filled = Instructions.resolve_template(
        "{who}\n{how}", who="You are a guide.", how=Instructions(audio="Talk.", text="Write.")
    )
    assert filled.render(modality="audio") == "You are a guide.\nTalk."
    assert filled.render(modality="text") == "You are a guide.\nWrite."
    plain = Instructions.resolve_template("Hi {name}", name="Ada")
    assert (plain.common, plain.audio, plain.text) == ("Hi Ada", None, None)
