"""Copies of a chat context share their items instead of copying them, and behave exactly
like independent lists: what one context gains or loses never shows in another."""

from __future__ import annotations

import random

import pytest

from voxfsm.agents import AgentHandoff, ChatContext, ChatMessage, FunctionCall, FunctionCallOutput
from voxfsm.agents._items import RUN_ITEMS
from voxfsm.agents.chat import INSTRUCTIONS_ID, ChatItem


def msg(text: str, role: str = "user") -> ChatMessage:
    return ChatMessage(role=role, content=[text])  # type: ignore[arg-type]


def pair(name: str, n: int) -> list[ChatItem]:
    return [
        FunctionCall(call_id=f"c{n}", name=name, arguments="{}"),
        FunctionCallOutput(call_id=f"c{n}", name=name, output="ok"),
    ]


def naive_carry(items: list[ChatItem], tools: set[str]) -> list[ChatItem]:
    """What a handoff carries, spelled out on a plain list."""
    out = []
    for it in items:
        if isinstance(it, AgentHandoff) or it.id == INSTRUCTIONS_ID:
            continue
        if isinstance(it, (FunctionCall, FunctionCallOutput)) and it.name not in tools:
            continue
        out.append(it)
    return out


def test_a_copy_is_independent_in_both_directions() -> None:
    ctx = ChatContext([msg("a"), msg("b")])
    copy = ctx.copy()
    ctx.add_message(role="assistant", content="only in the original")
    copy.add_message(role="assistant", content="only in the copy")
    assert [m.text_content for m in ctx.items] == ["a", "b", "only in the original"]  # type: ignore[union-attr]
    assert [m.text_content for m in copy.items] == ["a", "b", "only in the copy"]  # type: ignore[union-attr]
    copy.items[0] = msg("changed")
    del copy.items[1]
    assert [m.text_content for m in ctx.items][:2] == ["a", "b"]  # type: ignore[union-attr]
    assert [m.text_content for m in copy.items] == ["changed", "only in the copy"]  # type: ignore[union-attr]


def test_items_read_like_a_list() -> None:
    items = [msg(str(n)) for n in range(3 * RUN_ITEMS + 5)]
    ctx = ChatContext(items[:40])
    for it in items[40:100]:
        ctx = ctx.copy()  # every copy freezes what came before it into the shared chain
        ctx.items.append(it)
    ctx.items.extend(items[100:])
    view = ctx.items
    assert len(view) == len(items) and view == items and items == list(view)
    assert all(view[n] is items[n] for n in range(-len(items), len(items)))
    assert view[5:9] == items[5:9] and list(reversed(view)) == items[::-1]
    assert items[70] in view and view.index(items[70]) == 70
    extra = msg("x")
    assert (view + [extra])[-1] is extra and ([extra] + view)[0] is extra  # noqa: RUF005
    with pytest.raises(IndexError):
        view[len(items)]


def test_a_handoff_carries_the_same_items_as_filtering_a_list_would() -> None:
    rng = random.Random(7)
    own = {"a": {"shared", "to_b"}, "b": {"shared", "back"}}
    ctx = ChatContext([msg("instructions of a", "system")])
    ctx.items[0].id = INSTRUCTIONS_ID
    plain: list[ChatItem] = list(ctx.items)
    agent, n = "a", 0
    for _ in range(400):
        roll = rng.random()
        if roll < 0.15:  # hand off: the next agent starts from the carried context
            agent = "b" if agent == "a" else "a"
            head = msg(f"instructions of {agent}", "system")
            head.id = INSTRUCTIONS_ID
            ctx = ctx._carried(head, sorted(own[agent]))
            plain = [head, *naive_carry(plain, own[agent])]
        elif roll < 0.6:
            n += 1
            for it in pair(rng.choice([*own[agent], "someone_elses"]), n):
                ctx._append(it)
                plain.append(it)
        else:
            item = msg(f"turn {n}", rng.choice(["user", "assistant", "developer"]))
            ctx._append(item)
            plain.append(item)
        assert list(ctx.items) == plain
    assert ctx.copy(exclude_function_call=True).items == [
        it for it in plain if not isinstance(it, (FunctionCall, FunctionCallOutput))
    ]
    assert ctx.copy(exclude_instructions=True).items == [
        it
        for it in plain
        if not (isinstance(it, ChatMessage) and it.role in ("system", "developer"))
    ]


def test_carrying_a_long_context_rebuilds_only_the_recent_items() -> None:
    ctx = ChatContext([msg("instructions", "system")])
    ctx.items[0].id = INSTRUCTIONS_ID
    for n in range(50 * RUN_ITEMS):
        ctx._append(msg(f"old {n}"))
    first = ctx._carried(msg("instructions of b", "system"), ["shared"])
    first._append(msg("new"))
    second = first._carried(msg("instructions of a", "system"), ["shared"])
    # the long, clean part of the conversation is the very same run object in both
    assert second._s.run is not None and first._s.run is not None
    assert second._s.run.prev is first._s.run or second._s.run.prev is first._s.run.prev


def test_read_only_views_stay_live_and_refuse_changes() -> None:
    from voxfsm.agents.chat import ReadOnlyChatContext

    ctx = ChatContext([msg("a")])
    view = ReadOnlyChatContext._of(ctx._s)
    ctx.copy()  # freezing the original's items must not detach the view
    ctx.add_message(role="user", content="b")
    assert [m.text_content for m in view.items] == ["a", "b"]  # type: ignore[union-attr]
    for change in (
        lambda: view.items.append(msg("x")),
        lambda: view.items.insert(0, msg("x")),
        lambda: view.items.pop(),
        lambda: view.items.clear(),
        lambda: view.items.__setitem__(0, msg("x")),
    ):
        with pytest.raises(RuntimeError, match="read-only"):
            change()
    assert len(ctx) == 2


def test_insert_by_stamp_and_truncate_work_across_shared_runs() -> None:
    early, late = msg("early"), msg("late")
    ctx = ChatContext([early])
    ctx = ctx.copy()
    ctx.items.append(late)
    middle = msg("middle")
    middle.created_at = (early.created_at + late.created_at) / 2
    ctx.insert(middle)
    assert [m.text_content for m in ctx.items] == ["early", "middle", "late"]  # type: ignore[union-attr]
    ctx.truncate(max_items=2)
    assert [m.text_content for m in ctx.items] == ["middle", "late"]  # type: ignore[union-attr]
