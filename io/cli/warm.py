"""Get an in-process LLM ready before a call: load it, and read every agent's prompt once.

A 1.5B model on a laptop CPU takes seconds to read an agent's instructions and tool
signatures (tens of seconds on a busy machine); ``LocalLLM`` keeps what it read per agent in
its prompt cache, so reading each agent's prompt before the call means that no turn, and no
handoff, waits for it.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console

from voxfsm.io.cli.app import App


async def prepare_llm(session: Any, console: Console, app: App) -> None:
    """Load an in-process model before the call, and read each agent's instructions and tools
    into its prompt cache, so no turn of the call waits for either."""
    load = getattr(session.llm, "aload", None)
    if load is None:
        return
    with console.status("loading the local LLM…"):
        await load()
    agents = _agents(app)
    for n, agent in enumerate(agents, 1):
        with console.status(f"reading the instructions of agent {agent.id} ({n}/{len(agents)})…"):
            await session.llm.warm(agent.chat_ctx, agent.tools)


def _agents(app: App) -> list[Any]:
    """One instance of each agent of the workflow that can be built without arguments."""
    from voxfsm.fsm.graph import build_graph

    entry = app.new_entry()
    found = [entry]
    for state in build_graph(type(entry)).states:
        if state.cls is not type(entry) and not state.task:
            try:
                found.append(state.cls())
            except Exception:  # needs arguments: its prompt is read when it first speaks
                continue
    return [a for a in found if not hasattr(a.llm, "chat")]  # agents with their own LLM: skip
