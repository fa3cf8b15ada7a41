"""The storage behind a ``ChatContext``: item sequences shared between contexts, not copied.

A handoff gives the new agent the old agent's context (its calls of tools the new agent lacks
left out), and a long call does that thousands of times: copying the items each time made
every handoff cost as much as the whole conversation so far.  Here a context is

* ``head``: a few items before everything else (an agent's instructions message), a tuple;
* ``run``: an immutable chain of :class:`Run` s, shared by every context it was copied to;
* ``tail``: the items added since the last copy, a list this context owns.

Copying a context freezes its tail into one more run and shares the chain.  Filtering (the
carried context of a handoff) keeps the longest prefix of the chain that the filter would not
change — each run knows which tool names and kinds of items its whole prefix holds — and
rebuilds only the runs after it, usually the few items of the last turns.

Items are read through :class:`ChatItems`, a live list-like view: reading the last items is
O(1), iterating is lazy, and a change in the middle of a shared chain makes this context's
own flat copy first (rare: an edit of old items).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, MutableSequence
from typing import Any, overload

RUN_ITEMS = 64
"""Runs shorter than this are merged when one is added on top, so chains stay short."""

# what a run's whole prefix holds (an aggregate over the chain, so one test answers for it)
HANDOFF = 1
SYSTEM = 2  # a system or developer message
MARKED = 4  # an item with the id a filter skips (an agent's instructions item)


def _flags(items: Iterable[Any], marked_id: str) -> tuple[int, frozenset[str]]:
    flags = 0
    names: set[str] = set()
    for it in items:
        kind = it.type
        if kind == "message":
            if it.role in ("system", "developer"):
                flags |= SYSTEM
        elif kind == "agent_handoff":
            flags |= HANDOFF
        else:
            names.add(it.name)
        if it.id == marked_id:
            flags |= MARKED
    return flags, frozenset(names)


class Run:
    """Immutable items on top of an immutable prefix (``prev``), with what the chain holds."""

    __slots__ = ("flags", "items", "names", "prev", "size")

    flags: int
    items: tuple[Any, ...]
    names: frozenset[str]
    prev: Run | None
    size: int

    def __init__(self, prev: Run | None, items: tuple[Any, ...], marked_id: str) -> None:
        flags, names = _flags(items, marked_id)
        if prev is not None:
            flags |= prev.flags
            names = names | prev.names if not names <= prev.names else prev.names
        self.prev = prev
        self.items = items
        self.size = len(items) + (prev.size if prev is not None else 0)
        self.flags = flags
        self.names = names

    def runs(self) -> list[Run]:
        """The chain from its first run to this one."""
        out: list[Run] = []
        run: Run | None = self
        while run is not None:
            out.append(run)
            run = run.prev
        out.reverse()
        return out


def extend(run: Run | None, items: Iterable[Any], marked_id: str) -> Run | None:
    """``run`` with ``items`` on top, merged into its last run while that stays short."""
    new = tuple(items)
    if not new:
        return run
    if run is not None and len(run.items) + len(new) <= RUN_ITEMS:
        return Run(run.prev, run.items + new, marked_id)
    return Run(run, new, marked_id)


class Store:
    """One context's items: ``head`` + the shared chain ``run`` + its own ``tail``."""

    __slots__ = ("head", "run", "tail")

    def __init__(
        self, head: tuple[Any, ...] = (), run: Run | None = None, tail: list[Any] | None = None
    ) -> None:
        self.head = head
        self.run = run
        self.tail: list[Any] = [] if tail is None else tail

    def __len__(self) -> int:
        run = self.run
        return len(self.head) + (run.size if run is not None else 0) + len(self.tail)

    def __iter__(self) -> Iterator[Any]:
        yield from self.head
        if self.run is not None:
            for run in self.run.runs():
                yield from run.items
        yield from self.tail

    def reversed(self) -> Iterator[Any]:
        yield from reversed(self.tail)
        run = self.run
        while run is not None:
            yield from reversed(run.items)
            run = run.prev
        yield from reversed(self.head)

    def item(self, index: int) -> Any:
        n = len(self)
        if index < 0:
            index += n
        if not 0 <= index < n:
            raise IndexError("chat context index out of range")
        head = self.head
        if index < len(head):
            return head[index]
        from_end = n - 1 - index  # recent items are the ones read most
        tail = self.tail
        if from_end < len(tail):
            return tail[len(tail) - 1 - from_end]
        from_end -= len(tail)
        run = self.run
        while run is not None:
            if from_end < len(run.items):
                return run.items[len(run.items) - 1 - from_end]
            from_end -= len(run.items)
            run = run.prev
        raise AssertionError("unreachable: the sizes add up")

    def flatten(self) -> list[Any]:
        """Make every item this context's own, in one list (the tail), and return it."""
        if self.head or self.run is not None:
            self.tail = list(self)
            self.head = ()
            self.run = None
        return self.tail

    def replace(self, items: Iterable[Any]) -> None:
        self.head, self.run, self.tail = (), None, list(items)

    def freeze(self, marked_id: str) -> None:
        """Move the tail into the chain, so the chain can be shared (a copy)."""
        if self.tail:
            self.run = extend(self.run, self.tail, marked_id)
            self.tail = []

    def share(self, marked_id: str) -> Store:
        """A new store with the same items, sharing everything but a tail of its own."""
        self.freeze(marked_id)
        return Store(self.head, self.run, [])

    def filtered(
        self, keep: Callable[[Any], bool], clean: Callable[[Run], bool], marked_id: str
    ) -> Store:
        """A new store with the items ``keep`` accepts; ``clean(run)`` says that ``keep``
        accepts every item of ``run``'s whole chain, which is then shared as it is."""
        dirty: list[Run] = []
        run = self.run
        while run is not None and not clean(run):
            dirty.append(run)
            run = run.prev
        kept: list[Any] = []
        for old in reversed(dirty):
            kept.extend(it for it in old.items if keep(it))
            if len(kept) >= RUN_ITEMS:
                run = extend(run, kept, marked_id)
                kept = []
        kept.extend(it for it in self.tail if keep(it))
        run = extend(run, kept, marked_id)
        return Store(tuple(it for it in self.head if keep(it)), run, [])


class ChatItems(MutableSequence[Any]):
    """The items of a context as a live list-like view (``ChatContext.items``).

    Reads, iteration, ``append``/``extend`` and ``==`` with a list work as on a list; a
    read-only view (``agent.chat_ctx.items``) refuses every change.
    """

    __slots__ = ("_refuse", "_s")

    def __init__(self, store: Store, refuse: Callable[..., Any] | None = None) -> None:
        self._s = store
        self._refuse = refuse

    def _own(self) -> list[Any]:
        if self._refuse is not None:
            self._refuse()
        return self._s.flatten()

    def __len__(self) -> int:
        return len(self._s)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._s)

    def __reversed__(self) -> Iterator[Any]:
        return self._s.reversed()

    @overload
    def __getitem__(self, index: int) -> Any: ...
    @overload
    def __getitem__(self, index: slice) -> list[Any]: ...
    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            return list(self._s)[index]
        return self._s.item(index.__index__())

    def __setitem__(self, index: Any, value: Any) -> None:
        store = self._s
        if self._refuse is None and isinstance(index, int):
            size = len(store)
            n = index + size if index < 0 else index
            if 0 <= n < len(store.head):  # an agent's instructions, rewritten in place
                store.head = (*store.head[:n], value, *store.head[n + 1 :])
                return
            first_own = size - len(store.tail)
            if first_own <= n < size:
                store.tail[n - first_own] = value
                return
        self._own()[index] = value

    def __delitem__(self, index: Any) -> None:
        del self._own()[index]

    def insert(self, index: int, value: Any) -> None:
        store = self._s
        if self._refuse is None and index == 0:
            store.head = (value, *store.head)
            return
        if self._refuse is None and index >= len(store):
            store.tail.append(value)
            return
        self._own().insert(index, value)

    def append(self, value: Any) -> None:
        if self._refuse is not None:
            self._refuse()
        self._s.tail.append(value)

    def extend(self, values: Iterable[Any]) -> None:
        if self._refuse is not None:
            self._refuse()
        self._s.tail.extend(values)

    def __iadd__(self, values: Iterable[Any]) -> ChatItems:
        self.extend(values)
        return self

    def pop(self, index: int = -1) -> Any:
        if self._refuse is None and index == -1 and self._s.tail:
            return self._s.tail.pop()
        return self._own().pop(index)

    def clear(self) -> None:
        if self._refuse is not None:
            self._refuse()
        self._s.replace(())

    def sort(self, *, key: Callable[[Any], Any] | None = None, reverse: bool = False) -> None:
        self._own().sort(key=key, reverse=reverse)

    def reverse(self) -> None:
        self._own().reverse()

    def copy(self) -> list[Any]:
        return list(self._s)

    def __contains__(self, value: object) -> bool:
        return any(it is value or it == value for it in self._s)

    def index(self, value: Any, start: int = 0, stop: int | None = None) -> int:
        for n, it in enumerate(self._s):
            if n >= start and (stop is None or n < stop) and (it is value or it == value):
                return n
        raise ValueError(f"{value!r} is not in the chat context")

    def count(self, value: Any) -> int:
        return sum(1 for it in self._s if it is value or it == value)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ChatItems):
            other = list(other)
        if isinstance(other, (list, tuple)):
            return list(self._s) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __add__(self, other: Iterable[Any]) -> list[Any]:
        return [*self._s, *other]

    def __radd__(self, other: Iterable[Any]) -> list[Any]:
        return [*other, *self._s]

    def __repr__(self) -> str:
        return repr(list(self._s))
