"""The state-machine layer: the async machine, workflow graphs, checks and snapshots.

Nothing here knows about voice or LLMs; agents describe themselves through
:mod:`voxfsm.fsm.spec`.
"""

from __future__ import annotations

from voxfsm.fsm.checks import Finding, check_graph
from voxfsm.fsm.graph import (
    Edge,
    State,
    Tool,
    WorkflowGraph,
    build_graph,
    merge_graphs,
    overlay,
)
from voxfsm.fsm.jupyter import LiveGraph, watch
from voxfsm.fsm.machine import MachineDefinition, SessionMachine
from voxfsm.fsm.render import GraphvizNotFound
from voxfsm.fsm.snapshot import SnapshotError

__all__ = [
    "Edge",
    "Finding",
    "GraphvizNotFound",
    "LiveGraph",
    "MachineDefinition",
    "SessionMachine",
    "SnapshotError",
    "State",
    "Tool",
    "WorkflowGraph",
    "build_graph",
    "check_graph",
    "merge_graphs",
    "overlay",
    "watch",
]
