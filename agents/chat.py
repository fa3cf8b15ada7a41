"""Chat items and the chat context an agent's LLM sees.

Items are small attrs classes; :data:`converter` (cattrs) turns them into plain data and back.
A context keeps its items in creation order; every item has a unique ``id`` and a
``created_at`` stamp that never repeats, so merging two contexts is deterministic.
"""

from __future__ import annotations

import itertools
import json
import os
import time
from collections.abc import Iterable, Sequence
from typing import Any, Literal, Union

import attrs
import cattrs
from cattrs.preconf.json import make_converter as make_json_converter

from voxfsm.agents._items import HANDOFF, MARKED, SYSTEM, ChatItems, Run, Store

INSTRUCTIONS_ID = "voxfsm.instructions"
"""Id of the system message holding an agent's instructions; always first in its context."""

Role = Literal["system", "developer", "user", "assistant"]

_ids = itertools.count(1)
_last_stamp = 0.0


# a per-process prefix keeps ids unique when a restored snapshot meets new items
_PREFIX = os.urandom(4).hex()


def _new_id() -> str:
    return f"item_{_PREFIX}_{next(_ids):x}"


def _stamp() -> float:
    # strictly increasing, so sorting by created_at never reorders items made in a row
    global _last_stamp
    now = time.time()
    _last_stamp = now if now > _last_stamp else _last_stamp + 1e-6
    return _last_stamp


def _content(value: str | Sequence[str]) -> list[str]:
    if isinstance(value, str):
        return [value]
    items = list(value)
    for part in items:
        if not isinstance(part, str):
            raise TypeError(
                f"message content must be str or a list of str, got {type(part).__name__}"
            )
    return items


@attrs.define(eq=False)
class ChatMessage:
    """A message in the history; ``interrupted`` marks speech cut off before its end."""

    role: Role
    content: list[str] = attrs.field(converter=_content)
    interrupted: bool = False
    id: str = attrs.field(factory=_new_id)
    extra: dict[str, Any] = attrs.field(factory=dict)  # free-form tags (e.g. is_summary)
    created_at: float = attrs.field(factory=_stamp)
    type: Literal["message"] = "message"

    @property
    def text_content(self) -> str:
        return "\n".join(part for part in self.content if part)


@attrs.define(eq=False)
class FunctionCall:
    """A tool call the LLM made (``arguments`` is a JSON string)."""

    call_id: str
    name: str
    arguments: str = "{}"
    id: str = attrs.field(factory=_new_id)
    created_at: float = attrs.field(factory=_stamp)
    type: Literal["function_call"] = "function_call"


@attrs.define(eq=False)
class FunctionCallOutput:
    """A tool's result as the LLM sees it; ``is_error`` when the tool failed."""

    call_id: str
    name: str
    output: str
    is_error: bool = False
    id: str = attrs.field(factory=_new_id)
    created_at: float = attrs.field(factory=_stamp)
    type: Literal["function_call_output"] = "function_call_output"


def _required_id(_: object, __: attrs.Attribute[str], value: str) -> None:
    if not value:
        raise ValueError("AgentHandoff needs new_agent_id: the id of the agent that took over")


@attrs.define(eq=False)
class AgentHandoff:
    """One activation: ``old_agent_id`` (``None`` at session start) → ``new_agent_id``."""

    # positional order as in the API (old, new); both keyword-friendly, new is required
    old_agent_id: str | None = None
    new_agent_id: str = attrs.field(default="", validator=_required_id)
    id: str = attrs.field(factory=_new_id)
    created_at: float = attrs.field(factory=_stamp)
    type: Literal["agent_handoff"] = "agent_handoff"


ChatItem = Union[ChatMessage, FunctionCall, FunctionCallOutput, AgentHandoff]
_ITEM_TYPES: dict[str, type] = {
    "message": ChatMessage,
    "function_call": FunctionCall,
    "function_call_output": FunctionCallOutput,
    "agent_handoff": AgentHandoff,
}


def item_text(item: ChatItem) -> str:
    """The text a script or a log shows for an item (a call's text is its tool name)."""
    if isinstance(item, ChatMessage):
        return item.text_content
    if isinstance(item, FunctionCall):
        return item.name
    if isinstance(item, FunctionCallOutput):
        return item.output
    return item.new_agent_id


_SYSTEM_ROLES = frozenset(("system", "developer"))


def _is_instructions(item: ChatItem) -> bool:
    return isinstance(item, ChatMessage) and item.role in ("system", "developer")


class ChatContext:
    """An ordered list of chat items with the operations agents and LLM adapters need.

    Copies share their items (see :mod:`voxfsm.agents._items`): copying or carrying a long
    conversation into the next agent costs about as much as the turns since the last copy.
    """

    __slots__ = ("_s",)

    def __init__(self, items: Iterable[ChatItem] | None = None) -> None:
        self._s = Store(tail=list(items or ()))

    @classmethod
    def empty(cls) -> ChatContext:
        return cls()

    @classmethod
    def _of(cls, store: Store) -> ChatContext:
        ctx = cls.__new__(cls)
        ctx._s = store
        return ctx

    @property
    def items(self) -> ChatItems:
        """The items, oldest first: a live list-like view (``append`` adds to the context)."""
        return ChatItems(self._s)

    @items.setter
    def items(self, items: Iterable[ChatItem]) -> None:
        self._s.replace(items)

    def _append(self, item: ChatItem) -> None:
        self._s.tail.append(item)

    def last(self) -> ChatItem | None:
        """The newest item (``None`` when empty), without walking the context."""
        s = self._s
        if s.tail:
            return s.tail[-1]
        return s.item(-1) if len(s) else None

    def __len__(self) -> int:
        return len(self._s)

    def __iter__(self) -> Any:
        return iter(self._s)

    def __repr__(self) -> str:
        return f"ChatContext({len(self._s)} items)"

    def messages(self) -> list[ChatMessage]:
        return [i for i in self._s if isinstance(i, ChatMessage)]

    def add_message(
        self,
        *,
        role: Role,
        content: str | Sequence[str],
        interrupted: bool = False,
        id: str | None = None,
        created_at: float | None = None,
        extra: dict[str, Any] | None = None,
    ) -> ChatMessage:
        msg = ChatMessage(role=role, content=content, interrupted=interrupted, extra=extra or {})
        if id is not None:
            msg.id = id
        if created_at is None:
            self._s.tail.append(msg)
        else:
            msg.created_at = created_at
            self.insert(msg)
        return msg

    def insert(self, item: ChatItem | Iterable[ChatItem]) -> None:
        """Insert items at the place their ``created_at`` says (after equal stamps)."""
        new: list[ChatItem] = (
            [item]
            if isinstance(item, (ChatMessage, FunctionCall, FunctionCallOutput, AgentHandoff))
            else list(item)
        )
        store = self._s
        for it in new:
            last = self.last()
            if last is None or last.created_at <= it.created_at:
                store.tail.append(it)  # the usual case: it is the newest
                continue
            items = store.flatten()
            pos = len(items)
            while pos > 0 and items[pos - 1].created_at > it.created_at:
                pos -= 1
            items.insert(pos, it)

    def get_by_id(self, item_id: str) -> ChatItem | None:
        for it in self._s:
            if it.id == item_id:
                return it
        return None

    def index_by_id(self, item_id: str) -> int | None:
        for n, it in enumerate(self._s):
            if it.id == item_id:
                return n
        return None

    def remove(self, item: ChatItem | str) -> None:
        """Remove an item (or the item with this id); ``ValueError`` if there is none."""
        item_id = item if isinstance(item, str) else item.id
        kept = [it for it in self._s if it.id != item_id]
        if len(kept) == len(self._s):
            raise ValueError(f"no item with id {item_id!r} in this chat context")
        self._s.replace(kept)

    async def _summarize(self, llm: Any, *, keep_last_turns: int = 2) -> ChatContext:
        """Replace all but the last ``keep_last_turns`` user/assistant turns with one summary
        message written by ``llm`` (in place; returns this context)."""
        from voxfsm.agents._summarize import summarize

        return await summarize(self, llm, keep_last_turns=keep_last_turns)

    def copy(
        self,
        *,
        exclude_function_call: bool = False,
        exclude_instructions: bool = False,
        exclude_handoff: bool = False,
        exclude_empty_message: bool = False,
        exclude_config_update: bool = False,
        tools: Iterable[Any] | None = None,
        _skip_id: str | None = None,
    ) -> ChatContext:
        """A new mutable context sharing these items (ids and stamps kept).

        ``exclude_config_update`` is accepted for LiveKit code: voxfsm records no
        configuration-update items (instructions live in one item rewritten in place), so
        there is nothing to drop."""
        names = None if tools is None else frozenset(_tool_name(t) for t in tools)
        if not (
            exclude_function_call
            or exclude_instructions
            or exclude_handoff
            or exclude_empty_message
            or names is not None
            or _skip_id is not None
        ):
            return ChatContext._of(self._s.share(INSTRUCTIONS_ID))

        def keep(it: Any) -> bool:
            kind = type(it)
            if kind is FunctionCall or kind is FunctionCallOutput:
                return not (exclude_function_call or (names is not None and it.name not in names))
            if kind is AgentHandoff:
                return not exclude_handoff
            if it.id == _skip_id:
                return False
            return not (
                (exclude_instructions and it.role in _SYSTEM_ROLES)
                or (exclude_empty_message and not it.text_content)
            )

        def clean(run: Run) -> bool:
            # whether `keep` accepts every item of the run's whole chain
            if exclude_empty_message:
                return False
            if run.names and (
                exclude_function_call or (names is not None and not run.names <= names)
            ):
                return False
            flags = run.flags
            return not (
                (exclude_handoff and flags & HANDOFF)
                or (exclude_instructions and flags & SYSTEM)
                or (_skip_id is not None and (_skip_id != INSTRUCTIONS_ID or flags & MARKED))
            )

        return ChatContext._of(self._s.filtered(keep, clean, INSTRUCTIONS_ID))

    def _carried(self, head: ChatItem, tools: Iterable[Any]) -> ChatContext:
        """The context an agent starts with when given this one: its own instructions item
        ``head`` first, then these items without instructions, handoff records, and calls
        of tools not in ``tools``."""
        ctx = self.copy(tools=tools, exclude_handoff=True, _skip_id=INSTRUCTIONS_ID)
        ctx._s.head = (head, *ctx._s.head)
        return ctx

    def is_equivalent(self, other: ChatContext) -> bool:
        """Same items in the same order (ids, kinds and contents), timestamps aside."""
        if self is other:
            return True
        if len(self) != len(other):
            return False
        return all(
            type(a) is type(b) and _essence(a) == _essence(b)
            for a, b in zip(self._s, other._s, strict=True)
        )

    def truncate(self, *, max_items: int) -> ChatContext:
        """Keep the last ``max_items`` items, never starting with a dangling call or output."""
        if max_items <= 0:
            raise ValueError("max_items must be positive")
        if len(self) <= max_items:
            return self
        first_system = next((it for it in self._s if _is_instructions(it)), None)
        kept = list(self._s)[-max_items:]
        while kept and isinstance(kept[0], (FunctionCall, FunctionCallOutput)):
            kept.pop(0)
        if first_system is not None and first_system not in kept:
            kept.insert(0, first_system)
        self._s.replace(kept)
        return self

    def merge(
        self,
        other: ChatContext,
        *,
        exclude_function_call: bool = False,
        exclude_instructions: bool = False,
    ) -> ChatContext:
        """Add the items of ``other`` whose ids are new here, in ``created_at`` order."""
        seen = {it.id for it in self._s}
        src = other.copy(
            exclude_function_call=exclude_function_call, exclude_instructions=exclude_instructions
        )
        for it in src._s:
            if it.id not in seen:
                seen.add(it.id)
                self.insert(it)
        return self

    def to_dict(self) -> dict[str, Any]:
        return {"items": [converter.unstructure(it) for it in self._s]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ChatContext:
        return cls(structure_item(it) for it in data.get("items", ()))

    def to_openai(self) -> list[dict[str, Any]]:
        """Chat Completions messages; calls without outputs (and the reverse) are left out."""
        from voxfsm.agents._openai_format import to_openai_messages

        return to_openai_messages(list(self._s))


def _essence(item: ChatItem) -> dict[str, Any]:
    data = attrs.asdict(item, recurse=False)
    data.pop("created_at", None)
    return data


def _tool_name(tool: Any) -> str:
    return tool if isinstance(tool, str) else str(tool.name)


class ReadOnlyChatContext(ChatContext):
    """The view ``Agent.chat_ctx`` returns: reads work, writes tell you to copy first."""

    __slots__ = ()

    def _refuse(self, *_: Any, **__: Any) -> Any:
        raise RuntimeError(
            "this chat context is read-only; call .copy(), change the copy and pass it to "
            "agent.update_chat_ctx()"
        )

    add_message = _refuse
    insert = _refuse
    remove = _refuse
    truncate = _refuse
    merge = _refuse

    @property
    def items(self) -> ChatItems:
        return ChatItems(self._s, self._refuse)

    @items.setter
    def items(self, items: Iterable[ChatItem]) -> None:
        self._refuse()


def _make_converter() -> cattrs.Converter:
    # the JSON preset also round-trips sets, datetimes and bytes in userdata and tool results
    conv = make_json_converter()
    conv.register_structure_hook(
        ChatItem,
        lambda data, _: structure_item(data),
    )
    conv.register_unstructure_hook(ChatContext, lambda ctx: ctx.to_dict())
    conv.register_structure_hook(ChatContext, lambda data, _: ChatContext.from_dict(data))
    return conv


def structure_item(data: dict[str, Any]) -> ChatItem:
    kind = data.get("type")
    cls = _ITEM_TYPES.get(kind)  # type: ignore[arg-type]
    if cls is None:
        raise ValueError(f"unknown chat item type {kind!r}; expected one of {sorted(_ITEM_TYPES)}")
    return converter.structure(data, cls)


converter = _make_converter()
"""The cattrs converter for chat items and contexts (and anything built from them)."""


def dumps_output(value: Any) -> str:
    """JSON text for a structured tool result (attrs, dataclass, dict, list)."""
    return json.dumps(converter.unstructure(value), ensure_ascii=False, default=str)
