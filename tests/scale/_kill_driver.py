"""Driver for the worker-kill test (run inside a loopback-only namespace by test_ray.py).

Starts redis-server and a local Ray runtime, serves one call through a Ray actor, SIGKILLs
the actor's worker process while a turn is inside a slow tool, and prints what happened as
JSON to WORK/result.json.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path

import ray
from _servers import redis_server

from voxfsm.agents import AgentSession, ChatMessage
from voxfsm.agents.snapshot_redis import RedisSnapshotStore
from voxfsm.io.cli.app import load_app
from voxfsm.io.serving import ray_call_actor

work = Path(sys.argv[1])
app = str(Path(__file__).with_name("slow_desk.py"))
marker = work / "tool-started.txt"
os.environ["VOXFSM_TEST_MARKER"] = str(marker)
os.environ["VOXFSM_TEST_SLOW"] = "3"


def wait_for(cond, what: str, limit: float) -> None:
    deadline = time.monotonic() + limit
    while not cond():
        if time.monotonic() > deadline:
            raise SystemExit(f"{what} did not happen within {limit:g} s")
        time.sleep(0.05)


with redis_server(work / "redis") as url:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        node_ips = sorted({n["NodeManagerAddress"] for n in ray.nodes()})
        actor = ray_call_actor(app, "call-1", url, max_restarts=2)
        first = ray.get(actor.turn.remote(1, "hello"), timeout=120)
        killed_pid = ray.get(actor.pid.remote(), timeout=60)
        pending = actor.turn.remote(2, "please look it up")
        wait_for(marker.exists, "the slow tool starting", 120)
        os.kill(killed_pid, signal.SIGKILL)
        second = ray.get(pending, timeout=240)
        third = ray.get(actor.turn.remote(3, "billing please"), timeout=120)
        new_pid = ray.get(actor.pid.remote(), timeout=60)
    finally:
        ray.shutdown()
    with RedisSnapshotStore(url) as store:
        found = store.load_versioned("call-1")
    assert found is not None
    load_app(app)  # so the snapshot's agent classes can be imported by name
    history = AgentSession.restore(found.data).history.items
    (work / "result.json").write_text(
        json.dumps(
            {
                "node_ips": node_ips,
                "killed_pid": killed_pid,
                "new_pid": new_pid,
                "tool_runs": marker.read_text().split(),
                "replies": [first, second, third],
                "user_lines": [
                    m.text_content
                    for m in history
                    if isinstance(m, ChatMessage) and m.role == "user"
                ],
                "assistant_lines": [
                    m.text_content
                    for m in history
                    if isinstance(m, ChatMessage) and m.role == "assistant"
                ],
                "version": found.version,
                "seq": found.meta["seq"],
            }
        )
    )
