"""Serve live calls on Ray: one actor per call, resumable on any worker from Redis snapshots.

    from voxfsm.io.serving import CallActor, ray_call_actor

    actor = ray_call_actor("voxfsm.examples.restaurant", "call-42", "redis://10.0.0.5:6379/0")
    reply = ray.get(actor.turn.remote(1, "Takeaway please."))   # a TurnReply as a dict

Every turn is numbered by the caller (1, 2, ...).  A turn runs on the actor's session, then
the session's snapshot is written with an atomic compare-and-set on the version the actor
last read, together with the turn's number and reply.  So:

- if the actor's worker dies (even SIGKILL) mid-turn, Ray restarts the actor, which reloads
  the last snapshot, and retries the turn: it was never committed, so it runs once;
- if the worker died after the commit but before answering, the retried turn finds its
  number already stored and answers with the stored reply: no turn is applied twice;
- if two actors ever hold the same call, only one can commit each version; the other gets
  ``SnapshotConflict``, reloads and refuses the stale turn.

:class:`LiveCall` is the Ray-free core (used directly in tests and by the actor).
"""

from __future__ import annotations

import json
import logging
import os
from typing import Any, cast

import attrs

from voxfsm.agents import AgentSession, ChatMessage
from voxfsm.agents import snapshot as _snapshot
from voxfsm.agents.snapshot_redis import RedisSnapshotStore, SnapshotConflict
from voxfsm.io.cli.app import App, load_app

__all__ = ["CallActor", "LiveCall", "TurnError", "TurnReply", "ray_call_actor"]

log = logging.getLogger("voxfsm.io.serving")


class TurnError(RuntimeError):
    """A turn cannot be applied (out of order, or the call moved on elsewhere)."""


@attrs.frozen
class TurnReply:
    """What a committed turn produced: its number, the agent's lines, who is active now."""

    seq: int
    said: tuple[str, ...]
    agent: str
    version: int
    worker_pid: int


_apps: dict[str, App] = {}


def _app(spec: str) -> App:
    if spec not in _apps:
        _apps[spec] = load_app(spec)
    return _apps[spec]


class LiveCall:
    """One call's session, kept in step with its snapshot in Redis."""

    def __init__(self, app_spec: str, call_id: str, store: RedisSnapshotStore) -> None:
        self.app = _app(app_spec)
        self.call_id = call_id
        self.store = store
        self.session: AgentSession[Any] | None = None
        self.version = 0
        self.meta: dict[str, Any] = {}

    def _restored(self, data: dict[str, Any]) -> AgentSession[Any]:
        # the app's own session (its LLM, limits) with the snapshot's state put back
        def factory(**kwargs: Any) -> AgentSession[Any]:
            session: AgentSession[Any] = self.app.new_session()
            if "userdata" in kwargs:
                session.userdata = kwargs["userdata"]
            return session

        return _snapshot.restore(cast(Any, factory), data)

    async def open(self) -> None:
        """Resume the call from its last snapshot, or start it (and store the start)."""
        found = self.store.load_versioned(self.call_id)
        if found is not None:
            self.session = self._restored(found.data)
            self.version, self.meta = found.version, found.meta
            log.info(
                "call %s resumed at version %d (pid %d)", self.call_id, self.version, os.getpid()
            )
            return
        session = self.app.new_session()
        await session.start(self.app.new_entry())
        self.meta = {"seq": 0, "reply": None}
        try:
            self.version = self.store.compare_and_set(
                self.call_id, session, expected_version=0, meta=self.meta
            )
            self.session = session
        except SnapshotConflict:  # another worker opened it first: use theirs
            await session.aclose()
            await self.open()

    async def turn(self, seq: int, text: str) -> dict[str, Any]:
        """Apply turn ``seq`` once; a repeated ``seq`` returns the stored reply."""
        if self.session is None:
            await self.open()
        assert self.session is not None
        done = int(self.meta.get("seq", 0))
        if seq == done and self.meta.get("reply") is not None:
            return dict(self.meta["reply"])  # committed before a crash: answer, don't redo
        if seq != done + 1:
            raise TurnError(
                f"call {self.call_id!r} is at turn {done}; turn {seq} cannot be applied"
            )
        before = len(self.session.history.items)
        await self.session.run(user_input=text)
        said = tuple(
            item.text_content
            for item in self.session.history.items[before:]
            if isinstance(item, ChatMessage) and item.role == "assistant"
        )
        reply = TurnReply(seq, said, self.session.current_agent.id, self.version + 1, os.getpid())
        # as it will read back from the store, so a first answer equals a replayed one
        meta = {"seq": seq, "reply": json.loads(json.dumps(attrs.asdict(reply)))}
        try:
            self.version = self.store.compare_and_set(
                self.call_id, self.session, expected_version=self.version, meta=meta
            )
        except SnapshotConflict:
            # someone else advanced the call: drop our uncommitted turn and reload theirs
            await self.close()
            raise TurnError(
                f"call {self.call_id!r} was advanced by another worker; turn {seq} not applied"
            ) from None
        self.meta = meta
        return dict(meta["reply"])

    async def close(self) -> None:
        if self.session is not None:
            await self.session.aclose(drain_timeout=2.0)
            self.session = None


class CallActor:
    """The body of the Ray actor for one call (see :func:`ray_call_actor`)."""

    def __init__(self, app_spec: str, call_id: str, redis_url: str, prefix: str) -> None:
        # runs again in the new worker after a crash: the call comes back from Redis
        self.call = LiveCall(app_spec, call_id, RedisSnapshotStore(redis_url, prefix=prefix))

    def pid(self) -> int:
        return os.getpid()

    async def turn(self, seq: int, text: str) -> dict[str, Any]:
        return await self.call.turn(seq, text)

    async def close(self) -> None:
        await self.call.close()


def ray_call_actor(
    app_spec: str,
    call_id: str,
    redis_url: str,
    *,
    prefix: str = "voxfsm:snapshot:",
    max_restarts: int = 3,
) -> Any:
    """A Ray actor serving ``call_id``, restarted (and its turn retried) if its worker dies."""
    import ray

    # bounded: a call whose worker keeps dying fails instead of retrying for ever
    actor_cls = ray.remote(max_restarts=max_restarts, max_task_retries=max_restarts, num_cpus=0)(
        CallActor
    )
    return actor_cls.options(name=f"voxfsm-call-{call_id}", get_if_exists=True).remote(
        app_spec, call_id, redis_url, prefix
    )
