"""Reference workflows, one module each, runnable offline with a scripted LLM.

Every module defines its agents, a typed userdata class, ``entry`` (the entry agent class),
``make_session()`` (an unstarted ``AgentSession`` with userdata and a ``ScriptedLLM`` demo
script) and ``DEMO_TURNS`` (what a caller says on the happy path).  So each is an ``APP`` for
the command line: ``voxfsm console --text voxfsm.examples.restaurant``.

Modules are imported only when asked for (:meth:`Workflow.load`), so importing this package
stays cheap.
"""

from __future__ import annotations

import importlib
from types import ModuleType

import attrs


@attrs.frozen
class Workflow:
    """One reference workflow: its name, its module and what it shows."""

    name: str
    summary: str

    @property
    def module(self) -> str:
        """The importable module, also the ``APP`` argument of ``voxfsm`` commands."""
        return f"{__name__}.{self.name}"

    def load(self) -> ModuleType:
        return importlib.import_module(self.module)


WORKFLOWS: dict[str, Workflow] = {
    w.name: w
    for w in (
        Workflow(
            "customer_service",
            "customer service hands callers to billing or technical support and back, "
            "carrying the conversation",
        ),
        Workflow("intake", "collects a name and an age, then hands over to a service agent"),
        Workflow(
            "restaurant",
            "greeter, reservations, takeaway and checkout with guards and a voice per agent",
        ),
        Workflow(
            "medical_triage",
            "triage, patient support and billing, each reaching the others with recent turns",
        ),
        Workflow("front_desk", "appointment booking that captures an email with an AgentTask"),
        Workflow("drive_thru", "one agent taking an order held in userdata, with menu guards"),
    )
}

DEMO = "restaurant"
"""The workflow ``voxfsm demo`` runs."""


def get(name: str) -> Workflow:
    """The workflow called ``name``; the error lists the known ones."""
    try:
        return WORKFLOWS[name]
    except KeyError:
        raise KeyError(f"no example workflow {name!r}; known: {', '.join(WORKFLOWS)}") from None


__all__ = ["DEMO", "WORKFLOWS", "Workflow", "get"]
