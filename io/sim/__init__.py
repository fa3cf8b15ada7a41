"""Simulated calls: a caller that phones a session by voice, and the voice half of the demo.

- :class:`SimulatedCaller` (an audio source speaking scripted lines, with turn-taking) and
  :class:`CallTimeline` / :class:`CallSink` (both sides of a call on one timeline);
- :mod:`voxfsm.io.sim.demo_call`: ``voxfsm demo``'s voice call.

Heavy dependencies (numpy) are imported on first use of a name.
"""

from __future__ import annotations

from voxfsm.io._lazy import lazy_getattr

__all__ = ["CallSink", "CallTimeline", "CallerTurn", "SimulatedCaller", "similarity"]

_LAZY = {
    "SimulatedCaller": "voxfsm.io.sim.caller",
    "CallerTurn": "voxfsm.io.sim.caller",
    "similarity": "voxfsm.io.sim.caller",
    "CallTimeline": "voxfsm.io.sim.timeline",
    "CallSink": "voxfsm.io.sim.timeline",
}

__getattr__ = lazy_getattr(__name__, _LAZY)
