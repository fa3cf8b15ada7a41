"""Chat items and ``ChatContext``: serialization, copies, truncation, merging, OpenAI format."""

from __future__ import annotations

import json
from typing import Any

import cattrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from voxfsm.agents import (
    AgentHandoff,
    ChatContext,
    ChatMessage,
    FunctionCall,
    FunctionCallOutput,
)
from voxfsm.agents.chat import ChatItem, converter


def sample_items() -> list[ChatItem]:
    return [
        ChatMessage(role="system", content=["be kind"]),
        ChatMessage(role="user", content=["hi", "there"], interrupted=False),
        ChatMessage(role="assistant", content=["hel"], interrupted=True),
        FunctionCall(call_id="c1", name="lookup", arguments='{"q": "x"}'),
        FunctionCallOutput(call_id="c1", name="lookup", output="found", is_error=False),
        FunctionCallOutput(call_id="c2", name="broken", output="nope", is_error=True),
        AgentHandoff(old_agent_id=None, new_agent_id="desk"),
        AgentHandoff(old_agent_id="desk", new_agent_id="billing"),
    ]


def same_fields(a: Any, b: Any) -> bool:
    return type(a) is type(b) and converter.unstructure(a) == converter.unstructure(b)


# --------------------------------------------------------------------------- items


def test_every_item_has_an_id_and_a_creation_stamp() -> None:
    items = sample_items()
    assert len({i.id for i in items}) == len(items)
    stamps = [i.created_at for i in items]
    assert stamps == sorted(stamps)
    assert len(set(stamps)) == len(stamps)


def test_text_content_joins_the_parts() -> None:
    msg = ChatMessage(role="user", content=["hello", "world"])
    assert msg.text_content == "hello\nworld"
    assert ChatMessage(role="user", content="single").content == ["single"]


@pytest.mark.parametrize("item", sample_items(), ids=lambda i: f"{i.type}")
def test_each_item_type_round_trips_through_cattrs(item: ChatItem) -> None:
    data = converter.unstructure(item)
    json.dumps(data)  # plain, JSON-safe data
    back = converter.structure(data, ChatItem)
    assert same_fields(item, back)
    assert back.id == item.id
    assert back.created_at == item.created_at


@pytest.mark.parametrize("item", sample_items(), ids=lambda i: f"{i.type}")
def test_a_stock_cattrs_converter_round_trips_each_item_class(item: ChatItem) -> None:
    stock = cattrs.Converter()
    back = stock.structure(stock.unstructure(item), type(item))
    assert same_fields(item, back)


def test_a_whole_context_round_trips() -> None:
    ctx = ChatContext(sample_items())
    data = converter.unstructure(ctx)
    text = json.dumps(data)
    back = converter.structure(json.loads(text), ChatContext)
    assert isinstance(back, ChatContext)
    assert [converter.unstructure(i) for i in back.items] == [
        converter.unstructure(i) for i in ctx.items
    ]
    again = ChatContext.from_dict(ctx.to_dict())
    assert [i.id for i in again.items] == [i.id for i in ctx.items]


def test_an_unknown_item_type_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown"):
        ChatContext.from_dict({"items": [{"type": "telepathy", "id": "x", "created_at": 1.0}]})


# --------------------------------------------------------------------------- add / insert


def test_add_message_accepts_a_string_or_a_list_of_strings() -> None:
    ctx = ChatContext()
    one = ctx.add_message(role="user", content="hello")
    two = ctx.add_message(role="assistant", content=["a", "b"])
    assert ctx.items == [one, two]
    assert one.content == ["hello"]
    assert two.content == ["a", "b"]


def test_insert_places_items_by_creation_time() -> None:
    first = ChatMessage(role="user", content=["1"])
    second = ChatMessage(role="user", content=["2"])
    third = ChatMessage(role="user", content=["3"])
    ctx = ChatContext([first, third])
    ctx.insert(second)
    assert ctx.items == [first, second, third]


# --------------------------------------------------------------------------- copy


def test_copy_shares_items_and_is_independent() -> None:
    ctx = ChatContext(sample_items())
    copy = ctx.copy()
    assert copy is not ctx
    assert all(a is b for a, b in zip(copy.items, ctx.items, strict=False))
    copy.add_message(role="user", content="only in the copy")
    assert len(copy.items) == len(ctx.items) + 1


def test_copy_can_leave_out_function_calls() -> None:
    kinds = {i.type for i in ChatContext(sample_items()).copy(exclude_function_call=True).items}
    assert kinds == {"message", "agent_handoff"}


def test_copy_can_leave_out_every_system_and_developer_message() -> None:
    ctx = ChatContext(sample_items())
    ctx.add_message(role="developer", content="dev note")
    kept = ctx.copy(exclude_instructions=True)
    assert [i.role for i in kept.items if isinstance(i, ChatMessage)] == [
        "user",
        "assistant",
    ]


def test_copy_can_leave_out_handoffs() -> None:
    kept = ChatContext(sample_items()).copy(exclude_handoff=True)
    assert not any(isinstance(i, AgentHandoff) for i in kept.items)
    assert len(kept.items) == len(sample_items()) - 2


def test_copy_with_tools_keeps_only_their_calls_and_outputs() -> None:
    kept = ChatContext(sample_items()).copy(tools=["broken"])
    names = [i.name for i in kept.items if isinstance(i, (FunctionCall, FunctionCallOutput))]
    assert names == ["broken"]
    assert len(kept.messages()) == 3


# --------------------------------------------------------------------------- truncate


def test_truncate_keeps_the_last_items_in_place() -> None:
    ctx = ChatContext()
    for n in range(6):
        ctx.add_message(role="user", content=str(n))
    same = ctx.truncate(max_items=2)
    assert same is ctx
    assert [m.text_content for m in ctx.messages()] == ["4", "5"]


def test_truncate_never_starts_with_a_call_or_output_and_keeps_the_first_system_message() -> None:
    system = ChatMessage(role="system", content=["rules"])
    user = ChatMessage(role="user", content=["book"])
    fc = FunctionCall(call_id="c9", name="book", arguments="{}")
    out = FunctionCallOutput(call_id="c9", name="book", output="ok", is_error=False)
    answer = ChatMessage(role="assistant", content=["booked"])
    ctx = ChatContext([system, user, fc, out, answer])

    ctx.truncate(max_items=3)
    assert ctx.items == [system, answer]


def test_truncate_does_nothing_when_short_enough() -> None:
    ctx = ChatContext(sample_items())
    before = list(ctx.items)
    ctx.truncate(max_items=100)
    assert ctx.items == before


# --------------------------------------------------------------------------- merge


def test_merge_adds_new_items_in_time_order_and_skips_known_ids() -> None:
    a1 = ChatMessage(role="user", content=["a1"])
    b1 = ChatMessage(role="user", content=["b1"])
    a2 = ChatMessage(role="assistant", content=["a2"])
    b2 = ChatMessage(role="assistant", content=["b2"])
    mine = ChatContext([a1, a2])
    theirs = ChatContext([a1, b1, b2])

    same = mine.merge(theirs)
    assert same is mine
    assert mine.items == [a1, b1, a2, b2]
    mine.merge(theirs)
    assert len(mine.items) == 4


def test_merge_can_leave_out_calls_and_instructions() -> None:
    mine = ChatContext()
    mine.merge(ChatContext(sample_items()), exclude_function_call=True, exclude_instructions=True)
    assert {i.type for i in mine.items} == {"message", "agent_handoff"}
    assert all(m.role != "system" for m in mine.messages())


# --------------------------------------------------------------------------- to_openai


def test_to_openai_pairs_calls_with_outputs_and_skips_handoffs() -> None:
    messages = ChatContext(sample_items()).to_openai()
    roles = [m["role"] for m in messages]
    assert roles == ["system", "user", "assistant", "tool"]
    call_msg = messages[2]
    assert [c["id"] for c in call_msg["tool_calls"]] == ["c1"]
    assert call_msg["tool_calls"][0]["function"] == {"name": "lookup", "arguments": '{"q": "x"}'}
    assert messages[3] == {"role": "tool", "tool_call_id": "c1", "content": "found"}


def test_to_openai_drops_a_call_that_was_never_answered() -> None:
    ctx = ChatContext()
    ctx.add_message(role="user", content="hi")
    ctx.insert(FunctionCall(call_id="dangling", name="x", arguments="{}"))
    assert ctx.to_openai() == [{"role": "user", "content": "hi"}]


def item_strategy() -> st.SearchStrategy[ChatItem]:
    call_ids = st.sampled_from(["a", "b", "c", "d"])
    return st.one_of(
        st.builds(
            lambda role, text: ChatMessage(role=role, content=[text]),
            st.sampled_from(["system", "user", "assistant"]),
            st.text(max_size=5),
        ),
        st.builds(lambda cid: FunctionCall(call_id=cid, name="t", arguments="{}"), call_ids),
        st.builds(
            lambda cid: FunctionCallOutput(call_id=cid, name="t", output="o", is_error=False),
            call_ids,
        ),
        st.builds(lambda: AgentHandoff(old_agent_id="x", new_agent_id="y")),
    )


def realistic(items: list[ChatItem]) -> list[ChatItem]:
    """Drop what no session produces: a call id used twice, or an output before its call."""
    called: set[str] = set()
    answered: set[str] = set()
    kept: list[ChatItem] = []
    for item in items:
        if isinstance(item, FunctionCall):
            if item.call_id in called or item.call_id in answered:
                continue
            called.add(item.call_id)
        elif isinstance(item, FunctionCallOutput):
            if item.call_id in answered:
                continue
            answered.add(item.call_id)
        kept.append(item)
    return kept


@given(st.lists(item_strategy(), max_size=12).map(realistic))
def test_to_openai_never_emits_an_orphan_call_or_output(items: list[ChatItem]) -> None:
    # orphans come from truncation, tool-filtered copies and handoffs: calls without
    # outputs, outputs without calls, messages spoken while tools ran
    messages = ChatContext(items).to_openai()
    open_calls: set[str] = set()
    answered: set[str] = set()
    for msg in messages:
        if msg["role"] == "tool":
            assert msg["tool_call_id"] in open_calls, messages
            answered.add(msg["tool_call_id"])
        for tool_call in msg.get("tool_calls") or ():
            open_calls.add(tool_call["id"])
    assert open_calls == answered, messages
    # servers also want the answers right after the message that asked for them
    for n, msg in enumerate(messages):
        asked = [c["id"] for c in msg.get("tool_calls") or ()]
        if asked:
            following = messages[n + 1 : n + 1 + len(asked)]
            assert sorted(m.get("tool_call_id", "") for m in following) == sorted(asked), messages


# --------------------------------------------------------------------------- properties


@given(st.lists(item_strategy(), max_size=15), st.integers(min_value=1, max_value=15))
def test_truncate_keeps_a_clean_suffix(items: list[ChatItem], n: int) -> None:
    items = list({i.id: i for i in items}.values())
    ctx = ChatContext(list(items))
    ctx.truncate(max_items=n)
    kept = ctx.items
    if len(items) <= n:
        assert kept == items
        return
    first_system = next(
        (i for i in items if isinstance(i, ChatMessage) and i.role in ("system", "developer")),
        None,
    )
    body = kept
    if first_system is not None and first_system not in items[-n:]:
        assert kept[0] is first_system
        body = kept[1:]
    assert len(body) <= n
    assert body == items[len(items) - len(body) :]  # a suffix, order kept
    if body:
        assert not isinstance(body[0], (FunctionCall, FunctionCallOutput))


@given(st.lists(item_strategy(), max_size=10), st.lists(item_strategy(), max_size=10))
def test_merge_is_a_time_ordered_union_without_duplicates(
    left: list[ChatItem], right: list[ChatItem]
) -> None:
    left = list({i.id: i for i in left}.values())
    right = list({i.id: i for i in right}.values())
    shared = left[: len(left) // 2]
    mine = ChatContext(sorted(left, key=lambda i: i.created_at))
    theirs = ChatContext(sorted([*shared, *right], key=lambda i: i.created_at))
    mine.merge(theirs)
    ids = [i.id for i in mine.items]
    assert len(ids) == len(set(ids))
    assert set(ids) == {i.id for i in left} | {i.id for i in right}
    stamps = [i.created_at for i in mine.items]
    assert stamps == sorted(stamps)


@given(
    st.lists(item_strategy(), max_size=12),
    st.booleans(),
    st.booleans(),
    st.booleans(),
)
def test_copy_is_an_order_preserving_filter(
    items: list[ChatItem], no_calls: bool, no_instructions: bool, no_handoffs: bool
) -> None:
    ctx = ChatContext(items)
    copy = ctx.copy(
        exclude_function_call=no_calls,
        exclude_instructions=no_instructions,
        exclude_handoff=no_handoffs,
    )

    def kept(item: ChatItem) -> bool:
        if isinstance(item, (FunctionCall, FunctionCallOutput)):
            return not no_calls
        if isinstance(item, AgentHandoff):
            return not no_handoffs
        return not (no_instructions and item.role in ("system", "developer"))

    assert copy.items == [i for i in items if kept(i)]
    assert len(ctx.items) == len(items)


def test_to_openai_folds_text_into_its_calls_and_moves_speech_after_the_outputs() -> None:
    ctx = ChatContext()
    ctx.add_message(role="user", content="book it")
    ctx.add_message(role="assistant", content="Let me book that")
    ctx.insert(FunctionCall(call_id="k1", name="book", arguments="{}"))
    ctx.add_message(role="assistant", content="one moment")  # said while the tool ran
    ctx.insert(FunctionCallOutput(call_id="k1", name="book", output="booked", is_error=False))
    messages = ctx.to_openai()
    assert [m["role"] for m in messages] == ["user", "assistant", "tool", "assistant"]
    assert messages[1]["content"] == "Let me book that"
    assert [c["id"] for c in messages[1]["tool_calls"]] == ["k1"]
    assert messages[3]["content"] == "one moment"
