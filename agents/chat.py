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
    """An ordered list of chat items with the operations agents and LLM adapters need."""

    __slots__ = ("_items",)

    def __init__(self, items: Iterable[ChatItem] | None = None) -> None:
        self._items: list[ChatItem] = list(items or ())

    @classmethod
    def empty(cls) -> ChatContext:
        return cls()

    @property
    def items(self) -> list[ChatItem]:
        return self._items

    @items.setter
    def items(self, items: list[ChatItem]) -> None:
        self._items = list(items)

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Any:
        return iter(self._items)

    def __repr__(self) -> str:
        return f"ChatContext({len(self._items)} items)"

    def messages(self) -> list[ChatMessage]:
        return [i for i in self._items if isinstance(i, ChatMessage)]

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
            self._items.append(msg)
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
        for it in new:
            pos = len(self._items)
            while pos > 0 and self._items[pos - 1].created_at > it.created_at:
                pos -= 1
            self._items.insert(pos, it)

    def get_by_id(self, item_id: str) -> ChatItem | None:
        for it in self._items:
            if it.id == item_id:
                return it
        return None

    def index_by_id(self, item_id: str) -> int | None:
        for n, it in enumerate(self._items):
            if it.id == item_id:
                return n
        return None

    def remove(self, item: ChatItem | str) -> None:
        """Remove an item (or the item with this id); ``ValueError`` if there is none."""
        item_id = item if isinstance(item, str) else item.id
        kept = [it for it in self._items if it.id != item_id]
        if len(kept) == len(self._items):
            raise ValueError(f"no item with id {item_id!r} in this chat context")
        self._items[:] = kept

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
        items = self._items
        names = None if tools is None else {_tool_name(t) for t in tools}
        if not (
            exclude_function_call
            or exclude_instructions
            or exclude_handoff
            or exclude_empty_message
            or names is not None
            or _skip_id is not None
        ):
            return ChatContext(items)
        # one pass with cheap type tests: handoffs copy whole histories, so this is hot
        out = []
        for it in items:
            kind = type(it)
            if kind is FunctionCall or kind is FunctionCallOutput:
                name = it.name  # type: ignore[union-attr]
                if exclude_function_call or (names is not None and name not in names):
                    continue
            elif kind is AgentHandoff:
                if exclude_handoff:
                    continue
            elif it.id == _skip_id:
                continue
            else:
                msg: ChatMessage = it  # type: ignore[assignment]
                if (exclude_instructions and msg.role in _SYSTEM_ROLES) or (
                    exclude_empty_message and not msg.text_content
                ):
                    continue
            out.append(it)
        return ChatContext(out)

    def is_equivalent(self, other: ChatContext) -> bool:
        """Same items in the same order (ids, kinds and contents), timestamps aside."""
        if self is other:
            return True
        if len(self._items) != len(other._items):
            return False
        return all(
            type(a) is type(b) and _essence(a) == _essence(b)
            for a, b in zip(self._items, other._items, strict=True)
        )

    def truncate(self, *, max_items: int) -> ChatContext:
        """Keep the last ``max_items`` items, never starting with a dangling call or output."""
        if max_items <= 0:
            raise ValueError("max_items must be positive")
        if len(self._items) <= max_items:
            return self
        first_system = next((it for it in self._items if _is_instructions(it)), None)
        kept = self._items[-max_items:]
        while kept and isinstance(kept[0], (FunctionCall, FunctionCallOutput)):
            kept.pop(0)
        if first_system is not None and first_system not in kept:
            kept.insert(0, first_system)
        self._items = kept
        return self

    def merge(
        self,
        other: ChatContext,
        *,
        exclude_function_call: bool = False,
        exclude_instructions: bool = False,
    ) -> ChatContext:
        """Add the items of ``other`` whose ids are new here, in ``created_at`` order."""
        seen = {it.id for it in self._items}
        src = other.copy(
            exclude_function_call=exclude_function_call, exclude_instructions=exclude_instructions
        )
        for it in src.items:
            if it.id not in seen:
                seen.add(it.id)
                self.insert(it)
        return self

    def to_dict(self) -> dict[str, Any]:
        return {"items": [converter.unstructure(it) for it in self._items]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ChatContext:
        return cls(structure_item(it) for it in data.get("items", ()))

    def to_openai(self) -> list[dict[str, Any]]:
        """Chat Completions messages; calls without outputs (and the reverse) are left out."""
        from voxfsm.agents._openai_format import to_openai_messages

        return to_openai_messages(self._items)


def _essence(item: ChatItem) -> dict[str, Any]:
    data = attrs.asdict(item, recurse=False)
    data.pop("created_at", None)
    return data


def _tool_name(tool: Any) -> str:
    return tool if isinstance(tool, str) else str(tool.name)


class _ReadOnlyItems(list):
    """The item list of a read-only view: reading works, list mutators refuse."""

    def _refuse(self, *_: Any, **__: Any) -> Any:
        raise RuntimeError(
            "this chat context is read-only; call .copy(), change the copy and pass it to "
            "agent.update_chat_ctx()"
        )

    append = extend = insert = remove = pop = clear = sort = reverse = _refuse
    __setitem__ = __delitem__ = __iadd__ = __imul__ = _refuse


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
    def items(self) -> list[ChatItem]:
        return _ReadOnlyItems(self._items)

    @items.setter
    def items(self, items: list[ChatItem]) -> None:
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
