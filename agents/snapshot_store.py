"""Keep session snapshots in a SQLite file, so a conversation survives a crashed process.

    store = SnapshotStore("calls.db")
    saver = autosave(session, store, "call-42")   # every awaited run() is saved when it ends
    ...
    session = store.restore("call-42", llm=my_llm)   # in the new process; None if unknown

Only the standard library is used (``sqlite3``, ``json``).  A snapshot is taken at a quiet
point (see ``AgentSession.snapshot``), so :func:`autosave` saves when an awaited ``run()``
finishes — successfully or not, since a failed turn can still have changed the history.
Speech scheduled with ``generate_reply()``/``say()``/``update_agent()`` is not a ``run()``:
call ``saver.save_now()`` after awaiting it.  Each save writes the whole snapshot (its size
grows with the history; bound it with the session's retention options for very long calls).
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import time
from typing import Any

from voxfsm.agents.session import AgentSession
from voxfsm.fsm.snapshot import SnapshotError

__all__ = ["Autosave", "SnapshotStore", "autosave"]

log = logging.getLogger("voxfsm.agents")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS snapshots (
    session_id TEXT PRIMARY KEY,
    data       TEXT NOT NULL,
    saved_at   REAL NOT NULL,
    saves      INTEGER NOT NULL DEFAULT 1
)
"""


class SnapshotStore:
    """Snapshots by session id in one SQLite file (created when missing).

    A damaged file or row is a :class:`SnapshotError` naming the file and the session id;
    ``None`` (an unknown call) is returned only when nothing is stored under that id.
    ``timeout`` bounds the wait for another process's write lock (seconds).
    """

    def __init__(self, path: str | os.PathLike[str], *, timeout: float = 30.0) -> None:
        self.path = os.fspath(path)
        self.timeout = timeout
        self._conn: sqlite3.Connection | None = None
        try:
            self._conn = sqlite3.connect(self.path, timeout=timeout)
            with self._conn:
                self._conn.execute(_SCHEMA)
        except sqlite3.Error as exc:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
            raise self._damaged(None, exc) from None

    def _damaged(self, session_id: str | None, exc: BaseException) -> SnapshotError:
        what = f"snapshot {session_id!r} in " if session_id is not None else ""
        hint = (
            f"another process held its lock longer than timeout={self.timeout}s; "
            "raise SnapshotStore(path, timeout=...)"
            if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc)
            else "move the file away (or restore it from a backup) to start a new store"
        )
        return SnapshotError(
            f"{what}the snapshot store {self.path!r} cannot be read: {exc}; {hint}"
        )

    @property
    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            raise RuntimeError(f"the snapshot store {self.path!r} is closed")
        return self._conn

    def save(self, session_id: str, session: AgentSession[Any] | dict[str, Any]) -> None:
        """Store ``session.snapshot()`` (or already taken snapshot data) under ``session_id``.

        The write is one transaction: a crash leaves the previous snapshot or the new one.
        Raises ``SnapshotError`` (from ``snapshot()``) when the session is not quiet.
        """
        if not isinstance(session_id, str) or not session_id:
            raise ValueError("session_id must be a non-empty str")
        data = session.snapshot() if isinstance(session, AgentSession) else session
        text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
        try:
            with self._db:
                self._db.execute(
                    "INSERT INTO snapshots (session_id, data, saved_at) VALUES (?, ?, ?) "
                    "ON CONFLICT(session_id) DO UPDATE SET data = excluded.data, "
                    "saved_at = excluded.saved_at, saves = saves + 1",
                    (session_id, text, time.time()),
                )
        except sqlite3.Error as exc:
            raise self._damaged(session_id, exc) from None

    def load(self, session_id: str) -> dict[str, Any] | None:
        """The latest snapshot saved under ``session_id``; ``None`` only when none is stored.

        Raises ``SnapshotError`` naming the id and the file when the row or file is damaged
        (not JSON, ``null``, not a snapshot object): a crashed call must not silently start
        over as an unknown one.
        """
        try:
            row = self._db.execute(
                "SELECT data FROM snapshots WHERE session_id = ?", (session_id,)
            ).fetchone()
        except sqlite3.Error as exc:
            raise self._damaged(session_id, exc) from None
        if row is None:
            return None
        where = f"snapshot {session_id!r} in the snapshot store {self.path!r}"
        raw = row[0]
        if raw is None:
            raise SnapshotError(f"{where} is empty (NULL); delete it with store.delete(id)")
        try:
            data = json.loads(raw)
        except (TypeError, ValueError) as exc:
            raise SnapshotError(
                f"{where} is damaged: not JSON ({exc}); delete it with store.delete(id)"
            ) from None
        if not isinstance(data, dict):
            raise SnapshotError(
                f"{where} is damaged: it holds {json.dumps(data)[:40]} instead of a snapshot "
                "object; delete it with store.delete(id)"
            )
        return data

    def restore(self, session_id: str, **session_kwargs: Any) -> AgentSession[Any] | None:
        """``AgentSession.restore(self.load(session_id), ...)``, or ``None`` when unknown.

        A snapshot that cannot be restored raises ``SnapshotError`` naming the id and file.
        """
        data = self.load(session_id)
        if data is None:
            return None
        try:
            return AgentSession.restore(data, **session_kwargs)
        except SnapshotError as exc:
            raise SnapshotError(
                f"snapshot {session_id!r} in the snapshot store {self.path!r}: {exc}"
            ) from exc

    def delete(self, session_id: str) -> bool:
        """Forget a session (e.g. when the call ended); True when something was deleted."""
        try:
            with self._db:
                cur = self._db.execute("DELETE FROM snapshots WHERE session_id = ?", (session_id,))
        except sqlite3.Error as exc:
            raise self._damaged(session_id, exc) from None
        return cur.rowcount > 0

    def session_ids(self) -> list[str]:
        try:
            rows = self._db.execute("SELECT session_id FROM snapshots ORDER BY session_id")
            return [r[0] for r in rows]
        except sqlite3.Error as exc:
            raise self._damaged(None, exc) from None

    def saves(self, session_id: str) -> int:
        """How many times ``session_id`` was saved (0 when unknown)."""
        try:
            row = self._db.execute(
                "SELECT saves FROM snapshots WHERE session_id = ?", (session_id,)
            ).fetchone()
        except sqlite3.Error as exc:
            raise self._damaged(session_id, exc) from None
        return int(row[0]) if row else 0

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> SnapshotStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Autosave:
    """Saves ``session`` into ``store`` whenever it goes quiet; see :func:`autosave`."""

    def __init__(
        self, session: AgentSession[Any], store: SnapshotStore, session_id: str, every: int = 1
    ) -> None:
        if every < 1:
            raise ValueError("every must be at least 1")
        self.session = session
        self.store = store
        self.session_id = session_id
        self.every = every
        self._first_job = self._last_save = session.jobs_done
        self.saved = 0
        session.on("session_idle", self._on_idle)

    @property
    def runs(self) -> int:
        """Session jobs (turns, replies, swaps) finished since saving started."""
        return self.session.jobs_done - self._first_job

    def save_now(self) -> None:
        """Save the session now (it must be quiet: no turn running or queued)."""
        self.store.save(self.session_id, self.session)
        self.saved += 1
        self._last_save = self.session.jobs_done

    def busy(self) -> bool:
        """True while a turn (or other session work) is running or queued."""
        return not self.session.is_idle()

    def _on_idle(self, jobs_done: int) -> None:
        # several turns may finish before the session goes quiet: save once for all of them
        if jobs_done - self._last_save >= self.every:
            try:
                self.save_now()
            except Exception:  # a failed save must not break the call; the last one stays
                log.exception("autosave of %r failed", self.session_id)

    def stop(self) -> None:
        """Stop saving."""
        self.session.off("session_idle", self._on_idle)


def autosave(
    session: AgentSession[Any], store: SnapshotStore, session_id: str, *, every: int = 1
) -> Autosave:
    """Save ``session`` under ``session_id`` each time it goes quiet (and now, if started).

    The session announces ``session_idle`` when no turn, reply or handoff is running or
    queued; that is when a snapshot is allowed, so saved state always holds whole turns and a
    crash mid-turn resumes before that turn.  ``every=N`` saves at every N-th quiet point
    only: each save writes the whole snapshot, which costs more as the history grows.
    """
    saver = Autosave(session, store, session_id, every)
    if session._agent is not None:  # started: save the starting point too
        saver.save_now()
    return saver
