"""LiveKit's simulation hooks, offline: the type exists, no simulation ever runs.

LiveKit Cloud can drive an agent with simulated callers and hand the entrypoint a
``SimulationContext`` (``ctx.simulation_context()``).  There is no such service offline, so
``ctx.simulation_context()`` is always ``None`` and apps take their ordinary path;
``voxfsm eval`` (scenario files with simulated callers) is the offline counterpart.
"""

from __future__ import annotations

from typing import Any


class SimulationContext:
    """What a simulated run would carry; offline none is ever created by voxfsm."""

    def __init__(self, *, job_context: Any = None, userdata: dict[str, Any] | None = None):
        self.job_context = job_context
        self._userdata = dict(userdata or {})
        self.failures: list[str] = []

    def userdata(self) -> dict[str, Any]:
        """The scenario's data."""
        return self._userdata

    def fail(self, *, reason: str) -> None:
        """Mark the simulated run failed."""
        self.failures.append(reason)


__all__ = ["SimulationContext"]
