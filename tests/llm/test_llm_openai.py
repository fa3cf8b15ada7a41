"""OpenAILLM through the real openai client, against the loopback Chat Completions server."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from importlib.metadata import EntryPoint
from typing import Any

import pytest
from _llm_helpers import Desk, assert_history_consistent

from voxfsm.agents import AgentSession, ChatContext, function_tool, plugins
from voxfsm.agents.llm import LLMChunk, OpenAILLM, call, reply
from voxfsm.agents.llm.openai import LLAMACPP_URL, OLLAMA_URL, LlamaCppLLM, OllamaLLM
from voxfsm.agents.llm.testing import ChatCompletionsServer, raw


@function_tool
async def lookup(order_id: int) -> str:
    """Look up an order by its number."""
    return ""


@function_tool
async def cancel(order_id: int, reason: str = "") -> str:
    """Cancel an order."""
    return ""


@function_tool
async def ping() -> str:
    """No parameters at all."""
    return ""


def ctx(text: str = "hi") -> ChatContext:
    c = ChatContext()
    c.add_message(role="system", content="be brief")
    c.add_message(role="user", content=text)
    return c


async def collect(llm: OpenAILLM, **kwargs: Any) -> list[LLMChunk]:
    kwargs.setdefault("chat_ctx", ctx())
    kwargs.setdefault("tools", [])
    return [chunk async for chunk in llm.chat(**kwargs)]


async def test_the_session_example_runs_a_tool_turn(openai_server: ChatCompletionsServer) -> None:
    openai_server.push(call("lookup", order_id=7), reply("Order 7 has shipped."))
    desk = Desk()
    async with AgentSession(llm=OpenAILLM(model="m", base_url=openai_server.url)) as s:
        await s.start(desk)
        r = await s.run(user_input="where is order 7?")
        r.expect.next_event().is_function_call(name="lookup", arguments={"order_id": 7})
        r.expect.next_event().is_function_call_output(output="order 7 shipped", is_error=False)
        r.expect.next_event().is_message(role="assistant")
        r.expect.no_more_events()
        assert r.events[-1].item.text_content == "Order 7 has shipped."
        assert desk.lookups == [7]
        assert_history_consistent(s, ["where is order 7?"])
    openai_server.assert_complete()


async def test_text_streams_in_pieces_that_form_one_message(
    openai_server: ChatCompletionsServer,
) -> None:
    text = "Hello there, how can I help you today?"
    openai_server.push(text)
    chunks = await collect(OpenAILLM(model="m", base_url=openai_server.url))
    assert len(chunks) > 3, "the server sent fragments; each should be streamed on"
    assert "".join(c.text for c in chunks) == text
    assert all(not c.calls for c in chunks)


async def test_argument_fragments_are_joined_and_calls_emitted_once_complete(
    openai_server: ChatCompletionsServer,
) -> None:
    openai_server.push(reply("Let me check.", calls=[call("cancel", order_id=7, reason="late")]))
    chunks = await collect(OpenAILLM(base_url=openai_server.url), tools=[lookup, cancel])
    with_calls = [c for c in chunks if c.calls]
    assert len(with_calls) == 1 and chunks[-1] is with_calls[0]  # after all the text
    (req,) = with_calls[0].calls
    assert req.name == "cancel"
    assert json.loads(req.arguments) == {"order_id": 7, "reason": "late"}
    assert req.call_id.startswith("call_fake")
    text_before = "".join(c.text for c in chunks[: chunks.index(with_calls[0])])
    assert text_before == "Let me check."


@pytest.mark.parametrize("server_fixture", ["openai_server", "interleaving_server"])
async def test_parallel_calls_come_back_in_index_order(
    server_fixture: str, request: pytest.FixtureRequest
) -> None:
    server: ChatCompletionsServer = request.getfixturevalue(server_fixture)
    server.push([call("lookup", order_id=12345), call("lookup", order_id=678)], reply("Both."))
    desk = Desk()
    async with AgentSession(llm=OpenAILLM(base_url=server.url)) as s:
        await s.start(desk)
        r = await s.run(user_input="orders 12345 and 678?")
        r.expect.next_event().is_function_call(name="lookup", arguments={"order_id": 12345})
        r.expect.next_event().is_function_call(name="lookup", arguments={"order_id": 678})
        r.expect.next_event().is_function_call_output(output="order 12345 shipped")
        r.expect.next_event().is_function_call_output(output="order 678 shipped")
        r.expect.next_event().is_message(role="assistant")
    assert sorted(desk.lookups) == [678, 12345]
    # the follow-up request carries both calls in one assistant message, then both outputs
    msgs = server.requests[1].messages
    assert [m["role"] for m in msgs] == ["system", "user", "assistant", "tool", "tool"]
    ids = [tc["id"] for tc in msgs[2]["tool_calls"]]
    assert [m["tool_call_id"] for m in msgs[3:]] == ids and len(set(ids)) == 2


async def test_deltas_without_index_are_joined_by_call_id(
    openai_server: ChatCompletionsServer,
) -> None:
    def delta(tc: dict[str, object], finish: str | None = None) -> dict[str, object]:
        d = {"tool_calls": [tc]} if tc else {}
        return {"choices": [{"index": 0, "delta": d, "finish_reason": finish}]}

    openai_server.push(
        raw(
            delta({"id": "a", "type": "function", "function": {"name": "lookup", "arguments": ""}}),
            delta({"function": {"arguments": '{"order_'}}),
            delta({"function": {"arguments": 'id": 1}'}}),
            delta({"id": "b", "type": "function", "function": {"name": "ping", "arguments": ""}}),
            delta({}, "tool_calls"),
        )
    )
    chunks = await collect(OpenAILLM(base_url=openai_server.url), tools=[lookup, ping])
    calls = [c for chunk in chunks for c in chunk.calls]
    assert [(c.call_id, c.name, c.arguments) for c in calls] == [
        ("a", "lookup", '{"order_id": 1}'),
        ("b", "ping", "{}"),  # no argument text at all means no arguments
    ]


@pytest.mark.parametrize(
    ("choice", "tools", "sent"),
    [
        ("auto", [lookup, cancel], "auto"),
        ("none", [lookup, cancel], "none"),
        ("required", [lookup, cancel], "required"),
        # one tool: "required" is sent by name, which llama-cpp-python also understands
        ("required", [lookup], {"type": "function", "function": {"name": "lookup"}}),
        (
            {"type": "function", "function": {"name": "cancel"}},
            [lookup, cancel],
            {"type": "function", "function": {"name": "cancel"}},
        ),
    ],
)
async def test_tool_choice_is_sent_in_chat_completions_form(
    openai_server: ChatCompletionsServer, choice: object, tools: list[object], sent: object
) -> None:
    openai_server.push("ok")
    await collect(OpenAILLM(base_url=openai_server.url), tools=tools, tool_choice=choice)
    assert openai_server.requests[0].tool_choice == sent


async def test_no_tools_means_neither_tools_nor_tool_choice_are_sent(
    openai_server: ChatCompletionsServer,
) -> None:
    openai_server.push("ok")
    await collect(OpenAILLM(base_url=openai_server.url), tools=[], tool_choice="none")
    body = openai_server.requests[0].body
    assert "tools" not in body and "tool_choice" not in body


def test_a_named_tool_choice_must_name_one_of_the_tools() -> None:
    llm = OpenAILLM(base_url="http://127.0.0.1:9/v1")
    with pytest.raises(ValueError, match=r"`nope`.*`lookup`"):
        llm.request(ctx(), [lookup], {"type": "function", "function": {"name": "nope"}})


async def test_tool_schemas_are_sent_as_function_definitions(
    openai_server: ChatCompletionsServer,
) -> None:
    openai_server.push("ok")
    await collect(OpenAILLM(base_url=openai_server.url), tools=[cancel, ping])
    tools = openai_server.requests[0].tools
    assert [t["type"] for t in tools] == ["function", "function"]
    fn = tools[0]["function"]
    assert fn["name"] == "cancel" and fn["description"] == "Cancel an order."
    assert fn["parameters"]["type"] == "object"
    assert fn["parameters"]["required"] == ["order_id"]
    assert set(fn["parameters"]["properties"]) == {"order_id", "reason"}
    # a tool without parameters still has an object schema with (empty) properties
    assert tools[1]["function"]["parameters"]["properties"] == {}


async def test_settings_reach_the_request(openai_server: ChatCompletionsServer) -> None:
    openai_server.push("ok")
    llm = OpenAILLM(
        model="qwen2.5:3b",
        base_url=openai_server.url,
        api_key="sk-local",
        temperature=0.2,
        parallel_tool_calls=False,
        extra_body={"top_k": 20, "cache_prompt": True},
    )
    await collect(llm, tools=[lookup])
    req = openai_server.requests[0]
    assert req.body["model"] == "qwen2.5:3b"
    assert req.body["temperature"] == 0.2
    assert req.body["parallel_tool_calls"] is False
    assert req.body["top_k"] == 20 and req.body["cache_prompt"] is True
    assert req.body["stream"] is True
    assert req.headers["authorization"] == "Bearer sk-local"


async def test_model_url_and_key_come_from_the_environment(
    openai_server: ChatCompletionsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", openai_server.url)
    monkeypatch.setenv("OPENAI_API_KEY", "env-key")
    monkeypatch.setenv("VOXFSM_LLM_MODEL", "env-model")
    openai_server.push("ok")
    llm = OpenAILLM()
    assert llm.base_url == openai_server.url
    await collect(llm)
    req = openai_server.requests[0]
    assert req.body["model"] == "env-model"
    assert req.headers["authorization"] == "Bearer env-key"


def test_defaults_without_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("OPENAI_BASE_URL", "OPENAI_API_KEY", "VOXFSM_LLM_MODEL"):
        monkeypatch.delenv(var, raising=False)
    llm = OpenAILLM()
    assert llm.base_url == LLAMACPP_URL  # offline first: a local llama.cpp server
    assert llm.model == "local"


async def test_history_is_sent_with_calls_and_outputs_paired(
    openai_server: ChatCompletionsServer,
) -> None:
    openai_server.push(call("lookup", order_id=3), reply("Shipped."), reply("You're welcome."))
    async with AgentSession(llm=OpenAILLM(base_url=openai_server.url)) as s:
        await s.start(Desk())
        await s.run(user_input="order 3?")
        await s.run(user_input="thanks")
    msgs = openai_server.requests[2].messages
    assert [m["role"] for m in msgs] == ["system", "user", "assistant", "tool", "assistant", "user"]
    assert msgs[0]["content"].startswith("You are an order desk")
    (tc,) = msgs[2]["tool_calls"]
    assert msgs[2]["content"] == ""  # a string: llama-cpp-python's server rejects null
    assert tc["function"] == {"name": "lookup", "arguments": '{"order_id": 3}'}
    assert msgs[3] == {"role": "tool", "tool_call_id": tc["id"], "content": "order 3 shipped"}
    assert msgs[4] == {"role": "assistant", "content": "Shipped."}
    assert msgs[5] == {"role": "user", "content": "thanks"}


# ---------------------------------------------------------------------------- proxies


async def test_a_loopback_url_never_goes_through_a_proxy(
    openai_server: ChatCompletionsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    with ChatCompletionsServer() as proxy:
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.port}")
        monkeypatch.setenv("http_proxy", f"http://127.0.0.1:{proxy.port}")
        for var in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"):
            monkeypatch.delenv(var, raising=False)
        openai_server.push("direct")
        chunks = await collect(OpenAILLM(base_url=openai_server.url, max_retries=0))
        assert "".join(c.text for c in chunks) == "direct"
        assert proxy.requests == []


async def test_a_remote_url_still_honours_the_proxy_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the "proxy" is our server: a proxied request arrives with the full remote URL
    with ChatCompletionsServer(["via proxy"]) as proxy:
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.port}")
        monkeypatch.setenv("http_proxy", f"http://127.0.0.1:{proxy.port}")
        for var in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"):
            monkeypatch.delenv(var, raising=False)
        llm = OpenAILLM(base_url="http://llm.example.invalid/v1", max_retries=0)
        chunks = await collect(llm)
        assert "".join(c.text for c in chunks) == "via proxy"
        assert proxy.requests[0].path == "http://llm.example.invalid/v1/chat/completions"


# ---------------------------------------------------------------------------- lifecycle


def test_one_instance_works_across_event_loops(openai_server: ChatCompletionsServer) -> None:
    # pooled connections belong to the loop that opened them; a second loop gets its own
    llm = OpenAILLM(base_url=openai_server.url)
    openai_server.push("one", "two")
    first = asyncio.run(collect(llm))
    second = asyncio.run(collect(llm))
    assert ["".join(c.text for c in r) for r in (first, second)] == ["one", "two"]


async def test_aclose_then_reuse(openai_server: ChatCompletionsServer) -> None:
    llm = OpenAILLM(base_url=openai_server.url)
    openai_server.push("a", "b")
    await collect(llm)
    await llm.aclose()
    assert "".join(c.text for c in await collect(llm)) == "b"


def test_importing_the_agents_package_does_not_import_openai() -> None:
    code = (
        "import sys, voxfsm.agents, voxfsm.agents.llm\n"
        "from voxfsm.agents.llm import OpenAILLM\n"
        "OpenAILLM(model='m', base_url='http://127.0.0.1:1/v1')\n"
        "OpenAILLM.from_spec('x', None)\n"
        "print('openai' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# ---------------------------------------------------------------------------- plugin strings


def test_ollama_spec_keeps_the_model_tag() -> None:
    llm = OllamaLLM.from_spec("qwen2.5", "3b")
    assert (llm.model, llm.base_url) == ("qwen2.5:3b", OLLAMA_URL)
    assert OllamaLLM.from_spec("llama3.2", None).model == "llama3.2"
    with pytest.raises(ValueError, match=r"ollama/llama3\.2"):
        OllamaLLM.from_spec(None, None)


def test_llamacpp_spec_takes_a_port() -> None:
    llm = LlamaCppLLM.from_spec("smollm2", "8011")
    assert (llm.model, llm.base_url) == ("smollm2", "http://127.0.0.1:8011/v1")
    assert LlamaCppLLM.from_spec(None, None).base_url == LLAMACPP_URL
    with pytest.raises(ValueError, match="port"):
        LlamaCppLLM.from_spec("smollm2", "fast")


def test_presets_ignore_openai_base_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://elsewhere:1/v1")
    assert OpenAILLM.ollama("llama3.2").base_url == OLLAMA_URL
    assert OpenAILLM.llamacpp(port=8011).base_url == "http://127.0.0.1:8011/v1"
    assert OpenAILLM().base_url == "http://elsewhere:1/v1"


def test_plugin_strings_resolve_through_the_provider_entry_points(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the entry points the package declares (setup.cfg, group voxfsm.plugins)
    eps = {
        name: EntryPoint(name, f"voxfsm.agents.llm.openai:{cls}", "voxfsm.plugins")
        for name, cls in (("ollama", "OllamaLLM"), ("llamacpp", "LlamaCppLLM"))
    }
    monkeypatch.setattr(plugins, "providers", lambda: eps)
    llm = plugins.resolve("llm", "ollama/qwen2.5:3b")
    assert isinstance(llm, OllamaLLM) and llm.model == "qwen2.5:3b"
    llm = plugins.resolve("llm", "llamacpp/smollm2:8011")
    assert isinstance(llm, LlamaCppLLM) and llm.base_url == "http://127.0.0.1:8011/v1"


async def test_closing_a_copy_does_not_break_the_original(
    openai_server: ChatCompletionsServer,
) -> None:
    llm = OpenAILLM(base_url=openai_server.url)
    openai_server.push("a", "b")
    copy = llm.with_options(temperature=0)
    await collect(copy)
    await copy.aclose()  # closes the shared HTTP client
    assert "".join(c.text for c in await collect(llm)) == "b"
    assert [r.body.get("temperature") for r in openai_server.requests] == [0, None]
