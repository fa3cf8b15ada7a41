"""Keep session snapshots in Redis, so any worker on any machine can resume a call.

    store = RedisSnapshotStore("redis://127.0.0.1:6379/0")
    store.save("call-42", session)                   # like SnapshotStore (SQLite)
    snap = store.load_versioned("call-42")           # data, version and your metadata
    store.compare_and_set("call-42", session.snapshot(), expected_version=snap.version)

The same interface as :class:`~voxfsm.agents.snapshot_store.SnapshotStore` (``save``,
``load``, ``restore``, ``delete``, ``session_ids``, ``saves``, ``close``, so ``autosave()``
works with it too), plus versions: every write bumps a call's version, and
:meth:`compare_and_set` writes only if the version is still the one the writer read — one
atomic Lua script on the server, so two workers can never both advance one call; the loser
gets :class:`SnapshotConflict` and must reload.  Needs ``pip install 'voxfsm[redis]'`` and a
reachable ``redis-server``.
"""

from __future__ import annotations

import json
import time
from typing import Any

import attrs

from voxfsm.agents.session import AgentSession

__all__ = ["RedisSnapshotStore", "SnapshotConflict", "Versioned"]

# KEYS: the call's hash, the set of ids.  ARGV: expected version (-1 = any), data, time,
# meta, id.  Returns {1, new_version} or {0, current_version}.
_WRITE = """
local current = tonumber(redis.call('HGET', KEYS[1], 'version') or '0')
local expected = tonumber(ARGV[1])
if expected >= 0 and current ~= expected then return {0, current} end
redis.call('HSET', KEYS[1], 'data', ARGV[2], 'version', current + 1, 'saved_at', ARGV[3],
           'meta', ARGV[4])
redis.call('HINCRBY', KEYS[1], 'saves', 1)
redis.call('SADD', KEYS[2], ARGV[5])
return {1, current + 1}
"""


class SnapshotConflict(RuntimeError):
    """Another writer advanced the call since it was read: reload it and try again."""

    def __init__(self, session_id: str, expected: int, actual: int) -> None:
        super().__init__(
            f"call {session_id!r} is at version {actual}, not {expected}: another worker "
            "advanced it; reload it (load_versioned) before writing"
        )
        self.session_id, self.expected, self.actual = session_id, expected, actual


@attrs.frozen
class Versioned:
    """A stored snapshot with its version (1 after the first write) and caller metadata."""

    data: dict[str, Any]
    version: int
    meta: dict[str, Any]


def _connect(url: str, timeout: float) -> Any:
    try:
        import redis
    except ModuleNotFoundError:  # pragma: no cover - depends on the extra
        raise ModuleNotFoundError(
            "RedisSnapshotStore needs the redis client: pip install 'voxfsm[redis]'"
        ) from None
    return redis.Redis.from_url(
        url, socket_timeout=timeout, socket_connect_timeout=timeout, decode_responses=True
    )


class RedisSnapshotStore:
    """Snapshots by session id in Redis hashes under ``prefix`` (one hash per call)."""

    def __init__(
        self,
        url: str = "redis://127.0.0.1:6379/0",
        *,
        prefix: str = "voxfsm:snapshot:",
        timeout: float = 10.0,
        client: Any = None,
    ) -> None:
        self.url = url
        self.prefix = prefix
        self._client: Any = client if client is not None else _connect(url, timeout)
        self._write = self._client.register_script(_WRITE)

    @property
    def _db(self) -> Any:
        if self._client is None:
            raise RuntimeError(f"the snapshot store {self.url!r} is closed")
        return self._client

    def _key(self, session_id: str) -> str:
        if not isinstance(session_id, str) or not session_id:
            raise ValueError("session_id must be a non-empty str")
        return self.prefix + session_id

    def _put(self, session_id: str, data: dict[str, Any], expected: int, meta: Any) -> int:
        text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
        ok, version = self._write(
            keys=[self._key(session_id), self.prefix + "@ids"],
            args=[expected, text, time.time(), json.dumps(meta or {}), session_id],
            client=self._db,
        )
        if not ok:
            raise SnapshotConflict(session_id, expected, int(version))
        return int(version)

    def save(self, session_id: str, session: AgentSession[Any] | dict[str, Any]) -> None:
        """Store ``session.snapshot()`` (or snapshot data) whatever the current version."""
        data = session.snapshot() if isinstance(session, AgentSession) else session
        self._put(session_id, data, -1, None)

    def compare_and_set(
        self,
        session_id: str,
        data: AgentSession[Any] | dict[str, Any],
        *,
        expected_version: int,
        meta: dict[str, Any] | None = None,
    ) -> int:
        """Write only if the stored version is ``expected_version`` (0: not stored yet).

        Returns the new version; raises :class:`SnapshotConflict` when someone else wrote
        first (nothing is written then).
        """
        if expected_version < 0:
            raise ValueError("expected_version must be 0 (new call) or a version read before")
        snap = data.snapshot() if isinstance(data, AgentSession) else data
        return self._put(session_id, snap, expected_version, meta)

    def load_versioned(self, session_id: str) -> Versioned | None:
        """The latest snapshot with its version and metadata, or ``None``."""
        row = self._db.hmget(self._key(session_id), "data", "version", "meta")
        if row[0] is None:
            return None
        return Versioned(json.loads(row[0]), int(row[1]), json.loads(row[2] or "{}"))

    def version(self, session_id: str) -> int:
        """The stored version (0 when unknown)."""
        value = self._db.hget(self._key(session_id), "version")
        return int(value) if value is not None else 0

    def load(self, session_id: str) -> dict[str, Any] | None:
        """The latest snapshot saved under ``session_id``, or ``None``."""
        found = self.load_versioned(session_id)
        return None if found is None else found.data

    def restore(self, session_id: str, **session_kwargs: Any) -> AgentSession[Any] | None:
        """``AgentSession.restore(self.load(session_id), ...)``, or ``None`` when unknown."""
        data = self.load(session_id)
        return None if data is None else AgentSession.restore(data, **session_kwargs)

    def delete(self, session_id: str) -> bool:
        """Forget a session (e.g. when the call ended); True when something was deleted."""
        pipe = self._db.pipeline()
        pipe.delete(self._key(session_id))
        pipe.srem(self.prefix + "@ids", session_id)
        deleted, _ = pipe.execute()
        return bool(deleted)

    def session_ids(self) -> list[str]:
        return sorted(self._db.smembers(self.prefix + "@ids"))

    def saves(self, session_id: str) -> int:
        """How many times ``session_id`` was saved (0 when unknown)."""
        value = self._db.hget(self._key(session_id), "saves")
        return int(value) if value is not None else 0

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def __enter__(self) -> RedisSnapshotStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
