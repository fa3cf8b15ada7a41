#!/usr/bin/env python3
"""Per-turn overhead of ``OpenAILLM`` over the raw ``openai`` client (target: <= 1 ms).

Both sides stream the same scripted answer from the loopback Chat Completions server
(``voxfsm.agents.llm.testing``), with the same HTTP settings, alternating request by
request so drift on a shared machine hits both alike. The raw side does the least a real
caller must: send the messages and tools, read every delta, join text and tool-call
fragments. ``OpenAILLM`` also converts the chat context and tool schemas, checks the reply
and builds ``LLMChunk``s. Prints one JSON object; times are per request, in milliseconds.

    python bench/llm_overhead.py --requests 400
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

import openai

from voxfsm.agents import ChatContext, function_tool
from voxfsm.agents.llm import OpenAILLM, call, reply
from voxfsm.agents.llm.testing import ChatCompletionsServer, RecordedRequest

TEXT = " ".join(["The order left our warehouse on Monday and should arrive soon."] * 3)


@function_tool
async def lookup(order_id: int) -> str:
    """Look up an order by its number."""
    return ""


@function_tool
async def cancel(order_id: int, reason: str = "") -> str:
    """Cancel an order."""
    return ""


def conversation(turns: int) -> ChatContext:
    """A context like a few turns into a call: instructions, user and assistant messages."""
    ctx = ChatContext()
    ctx.add_message(role="system", content="You are an order desk. Be brief.")
    for n in range(turns):
        ctx.add_message(role="user", content=f"question {n} about order {n}")
        ctx.add_message(role="assistant", content=f"answer {n}: it shipped")
    ctx.add_message(role="user", content="where is order 7?")
    return ctx


async def raw_turn(
    client: openai.AsyncOpenAI, messages: list[dict[str, Any]]
) -> tuple[str, dict[int, str]]:
    request: dict[str, Any] = {
        "model": "m",
        "messages": messages,
        "tools": [{"type": "function", "function": t.schema()} for t in (lookup, cancel)],
        "stream": True,
    }
    stream: Any = await client.chat.completions.create(**request)
    text: list[str] = []
    args: dict[int, list[str]] = {}
    async for chunk in stream:
        for choice in chunk.choices:
            if choice.delta.content:
                text.append(choice.delta.content)
            for tc in choice.delta.tool_calls or ():
                if tc.function and tc.function.arguments:
                    args.setdefault(tc.index, []).append(tc.function.arguments)
    return "".join(text), {k: "".join(v) for k, v in args.items()}


async def ours_turn(llm: OpenAILLM, ctx: ChatContext) -> None:
    async for _ in llm.chat(chat_ctx=ctx, tools=[lookup, cancel]):
        pass


async def measure(
    requests: int, warmup: int, a: Callable[[], Awaitable[Any]], b: Callable[[], Awaitable[Any]]
) -> tuple[list[float], list[float]]:
    for _ in range(warmup):
        await a()
        await b()
    ta: list[float] = []
    tb: list[float] = []
    for _ in range(requests):
        t0 = time.perf_counter()
        await a()
        t1 = time.perf_counter()
        await b()
        t2 = time.perf_counter()
        ta.append((t1 - t0) * 1000)
        tb.append((t2 - t1) * 1000)
    return ta, tb


def summary(ms: list[float]) -> dict[str, float]:
    ms = sorted(ms)
    return {
        "median_ms": round(statistics.median(ms), 3),
        "mean_ms": round(statistics.fmean(ms), 3),
        "p90_ms": round(ms[int(len(ms) * 0.9)], 3),
    }


async def scenario(kind: str, requests: int, warmup: int, turns: int) -> dict[str, Any]:
    answer = reply(TEXT) if kind == "text" else call("lookup", order_id=123456)

    def same_answer(_request: RecordedRequest) -> Any:
        return answer  # for every request: no queue to refill

    async with ChatCompletionsServer(same_answer, fragment=4) as server:
        return await compare(server, kind, requests, warmup, turns)


async def compare(
    server: ChatCompletionsServer, kind: str, requests: int, warmup: int, turns: int
) -> dict[str, Any]:
    ctx = conversation(turns)
    llm = OpenAILLM(model="m", base_url=server.url, max_retries=0)
    raw = openai.AsyncOpenAI(
        base_url=server.url,
        api_key="x",
        max_retries=0,
        http_client=openai.DefaultAsyncHttpxClient(trust_env=False),
    )
    messages = ctx.to_openai()
    raw_ms, ours_ms = await measure(
        requests, warmup, lambda: raw_turn(raw, messages), lambda: ours_turn(llm, ctx)
    )
    added = [o - r for o, r in zip(ours_ms, raw_ms, strict=True)]
    # the conversion alone, without I/O: what OpenAILLM adds before the request leaves
    n = 2000
    t0 = time.perf_counter()
    for _ in range(n):
        llm.request(ctx, [lookup, cancel])
    convert_ms = (time.perf_counter() - t0) * 1000 / n
    await raw.close()
    await llm.aclose()
    return {
        "reply": kind,
        "context_messages": len(messages),
        "raw_openai": summary(raw_ms),
        "openai_llm": summary(ours_ms),
        "added_median_ms": round(statistics.median(ours_ms) - statistics.median(raw_ms), 3),
        "added_paired_median_ms": round(statistics.median(added), 3),
        "request_building_ms": round(convert_ms, 4),
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--turns", type=int, default=10, help="earlier turns in the context")
    args = parser.parse_args()
    results = [
        await scenario(kind, args.requests, args.warmup, args.turns)
        for kind in ("text", "tool_call")
    ]
    worst = max(r["added_paired_median_ms"] for r in results)
    out = {
        "bench": "llm_overhead",
        "openai": openai.__version__,
        "requests_per_side": args.requests,
        "scenarios": results,
        "target_added_ms": 1.0,
        "within_target": worst <= 1.0,
    }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
