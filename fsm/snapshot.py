"""Versioned, JSON-safe snapshots of a running machine, and what changed since one was taken.

The agent layer decides what goes into a snapshot; this module owns the envelope: a format
version, a fingerprint of the workflow's states and triggers, and the checks that make a
restore fail loudly instead of resuming into a workflow that no longer matches.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

FORMAT = "voxfsm.snapshot"
VERSION = 1


class SnapshotError(ValueError):
    """A snapshot cannot be taken or restored; the message says what to change."""


Fingerprint = dict[str, list[str]]
"""State id → sorted trigger names."""


def envelope(payload: dict[str, Any], fingerprint: Fingerprint) -> dict[str, Any]:
    """Wrap ``payload`` and prove it survives JSON."""
    data = {"format": FORMAT, "version": VERSION, "fingerprint": fingerprint, **payload}
    try:
        json.dumps(data)
    except (TypeError, ValueError) as exc:
        raise SnapshotError(
            f"the snapshot is not JSON-safe ({exc}); keep userdata to attrs classes, "
            "dataclasses, dicts, lists and scalars, or register a cattrs hook for the type"
        ) from None
    return data


def open_envelope(data: Any) -> dict[str, Any]:
    """Check format and version; returns the data for the caller to read."""
    if not isinstance(data, Mapping) or data.get("format") != FORMAT:
        raise SnapshotError("not a voxfsm snapshot (no 'format': 'voxfsm.snapshot' key)")
    if data.get("version") != VERSION:
        raise SnapshotError(
            f"snapshot version {data.get('version')!r} is not supported (this voxfsm reads "
            f"version {VERSION}); take a new snapshot with this version"
        )
    return dict(data)


def mismatches(
    saved: Mapping[str, Sequence[str]], current: Mapping[str, Sequence[str]]
) -> list[str]:
    """Human-readable differences between the saved and the current workflow, per state."""
    problems = []
    for state in sorted(saved):
        if state not in current:
            problems.append(f"agent {state!r} is in the snapshot but not in the workflow")
            continue
        gone = sorted(set(saved[state]) - set(current[state]))
        new = sorted(set(current[state]) - set(saved[state]))
        if gone:
            problems.append(f"agent {state!r} no longer has tools {', '.join(gone)}")
        if new:
            problems.append(f"agent {state!r} has new tools {', '.join(new)}")
    return problems
