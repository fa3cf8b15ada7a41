"""A scripted Chat Completions server on 127.0.0.1, for testing the real client path.

``ChatCompletionsServer`` speaks the wire format OpenAI-compatible servers speak (SSE
streaming with ``data:`` chunks and ``[DONE]``, tool-call deltas split into fragments,
usage, non-streaming answers, ``GET /v1/models``), answers from a script, can misbehave on
purpose, and records every request it received. It runs its own event loop in a thread, so
it serves sync and async code alike and outlives any one test's event loop. Standard
library only.

    from voxfsm.agents.llm import OpenAILLM, call, reply
    from voxfsm.agents.llm.testing import ChatCompletionsServer, error

    with ChatCompletionsServer() as server:
        server.push(call("lookup", order_id=7), reply("It shipped."))
        llm = OpenAILLM(model="m", base_url=server.url)
        ...  # run a session turn
        assert server.requests[0].tool_names == ["lookup"]

Pytest users get the ``openai_server`` fixture by importing it into a ``conftest.py``::

    from voxfsm.agents.llm.testing import openai_server  # noqa: F401
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Union

import attrs

from voxfsm.agents.llm.scripted import (
    ScriptedCall,
    ScriptedReply,
    call,
    normalize_response,
    reply,
)

__all__ = [
    "ChatCompletionsServer",
    "ErrorResponse",
    "HangUp",
    "RawStream",
    "RecordedRequest",
    "Slow",
    "call",
    "error",
    "hang_up",
    "openai_server",
    "raw",
    "reply",
    "slow",
]

log = logging.getLogger("voxfsm.agents.llm.testing")

# ---------------------------------------------------------------------------- script items


@attrs.frozen
class ErrorResponse:
    """Answer with an HTTP error and an OpenAI-style ``{"error": {...}}`` body."""

    status: int
    message: str
    retry_after: float | None = None
    retry: bool | None = None  # sent as x-should-retry, which the openai client obeys


@attrs.frozen
class HangUp:
    """Stream ``after`` data events of ``reply``, then drop the connection (no ``[DONE]``)."""

    reply: Response
    after: int = 1


@attrs.frozen
class Slow:
    """Wait ``delay`` seconds before answering, and ``per_chunk`` before each streamed event."""

    reply: Response
    delay: float = 0.0
    per_chunk: float = 0.0


@attrs.frozen
class RawStream:
    """Stream these ``data:`` payloads verbatim (dicts as JSON), then ``[DONE]`` if ``done``."""

    events: tuple[Any, ...]
    done: bool = True


Response = Union[
    ScriptedReply,
    ScriptedCall,
    Sequence[ScriptedCall],
    str,
    ErrorResponse,
    HangUp,
    Slow,
    RawStream,
    None,
]
"""What a script gives for one request; ``str`` is a text reply, ``None`` an empty one."""


def error(
    status: int,
    message: str | None = None,
    *,
    retry_after: float | None = None,
    retry: bool | None = None,
) -> ErrorResponse:
    """An HTTP error answer: ``error(500)``, ``error(429, retry_after=0.05)``.

    ``retry=False`` adds ``x-should-retry: false`` so the openai client gives up at once.
    """
    return ErrorResponse(status, message or f"scripted HTTP {status}", retry_after, retry)


def hang_up(response: Response = "", *, after: int = 1) -> HangUp:
    """Stream the first ``after`` events of ``response``, then close the socket mid-stream."""
    return HangUp(response, after)


def slow(response: Response, delay: float, *, per_chunk: float = 0.0) -> Slow:
    """Answer ``response`` after ``delay`` seconds (and ``per_chunk`` between events)."""
    return Slow(response, delay, per_chunk)


def raw(*events: Any, done: bool = True) -> RawStream:
    """Stream hand-written chunks, e.g. tool-call deltas with unusual indexes or no ids."""
    return RawStream(tuple(events), done)


@attrs.frozen
class RecordedRequest:
    """One request the server received (retries are recorded as separate requests)."""

    method: str
    path: str
    headers: Mapping[str, str]
    body: Any

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.body.get("messages", [])) if isinstance(self.body, dict) else []

    @property
    def tools(self) -> list[dict[str, Any]]:
        return list(self.body.get("tools") or []) if isinstance(self.body, dict) else []

    @property
    def tool_names(self) -> list[str]:
        return [t["function"]["name"] for t in self.tools]

    @property
    def tool_choice(self) -> Any:
        return self.body.get("tool_choice") if isinstance(self.body, dict) else None

    @property
    def stream(self) -> bool:
        return bool(isinstance(self.body, dict) and self.body.get("stream"))


# ---------------------------------------------------------------------------- the server

Script = Union[Sequence[Response], Callable[[RecordedRequest], Response]]
_ids = itertools.count(1)


class ChatCompletionsServer:
    """A loopback OpenAI-compatible server answering from a script.

    ``script`` is a list of responses used one per chat request (add more with
    :meth:`push`), or a callable ``(RecordedRequest) -> response`` consulted once the queue
    is empty. With neither left, the server answers HTTP 500 with ``x-should-retry: false``
    and a message saying the script ran out. ``fragment`` is how many characters go in each
    streamed text or argument fragment; ``interleave`` sends the argument fragments of
    parallel calls interleaved, as some servers do, instead of one call after another.
    """

    def __init__(
        self,
        script: Script | None = None,
        *,
        model: str = "fake-model",
        fragment: int = 5,
        interleave: bool = False,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self._queue: deque[Response] = deque()
        self._fn: Callable[[RecordedRequest], Response] | None = None
        if isinstance(script, (str, ScriptedReply, ScriptedCall)):
            raise TypeError("script must be a list of responses or a callable: wrap it in [...]")
        if callable(script):
            self._fn = script
        elif script is not None:
            self._queue.extend(script)
        self.model = model
        self.fragment = max(1, fragment)
        self.interleave = interleave
        self.requests: list[RecordedRequest] = []
        self._host, self._port = host, port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.base_events.Server | None = None
        self._handlers: set[asyncio.Task[Any]] = set()
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ public

    @property
    def url(self) -> str:
        """The base URL to give a client, ending in ``/v1``."""
        if self._server is None:
            raise RuntimeError("the server is not running: use it as `with server:` or start()")
        return f"http://{self._host}:{self.port}/v1"

    @property
    def port(self) -> int:
        assert self._server is not None, "not running"
        return int(self._server.sockets[0].getsockname()[1])

    def push(self, *responses: Response) -> None:
        """Queue responses for the next chat requests, in order."""
        with self._lock:
            self._queue.extend(responses)

    @property
    def pending(self) -> int:
        """How many queued responses no request has used yet."""
        return len(self._queue)

    def assert_complete(self) -> None:
        """Fail if queued responses were never asked for."""
        if self._queue:
            raise AssertionError(
                f"{len(self._queue)} scripted response(s) were never requested: "
                f"{list(self._queue)!r}"
            )

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path.endswith("/chat/completions")]

    def start(self) -> ChatCompletionsServer:
        if self._thread is not None:
            return self
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="voxfsm-fake-openai", daemon=True
        )
        self._thread.start()
        self._server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._serve, self._host, self._port), self._loop
        ).result(timeout=10)
        log.debug("fake Chat Completions server on %s", self.url)
        return self

    def stop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()
        self._loop = self._thread = self._server = None

    def __enter__(self) -> ChatCompletionsServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def __aenter__(self) -> ChatCompletionsServer:
        return self.start()

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self.stop)

    # ------------------------------------------------------------------ HTTP

    async def _shutdown(self) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._handlers):
            task.cancel()
        await asyncio.gather(*self._handlers, return_exceptions=True)
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            while await self._one_request(reader, writer):
                pass
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass
        finally:
            self._handlers.discard(task)
            writer.close()

    async def _one_request(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        """Serve one request; False when the connection is to be closed."""
        line = await reader.readline()
        if not line.strip():
            return False
        method, target, _ = line.decode("latin-1").split(" ", 2)
        headers: dict[str, str] = {}
        while (h := await reader.readline()) not in (b"\r\n", b"\n", b""):
            key, _, value = h.decode("latin-1").partition(":")
            headers[key.strip().lower()] = value.strip()
        raw_body = await reader.readexactly(int(headers.get("content-length", 0)))
        path = target.split("?", 1)[0]
        if method == "GET" and path.rstrip("/").endswith("/models"):
            listing = {"object": "list", "data": [_model_entry(self.model)]}
            await _send_json(writer, 200, listing)
            return True
        if method != "POST" or not path.rstrip("/").endswith("/chat/completions"):
            await _send_json(writer, 404, _error_body(f"no route for {method} {path}", 404))
            return True
        try:
            body = json.loads(raw_body or b"null")
        except json.JSONDecodeError as exc:
            await _send_json(writer, 400, _error_body(f"request body is not JSON: {exc}", 400))
            return True
        request = RecordedRequest(method, path, headers, body)
        self.requests.append(request)
        response = self._next(request)
        return await self._answer(writer, request, response)

    def _next(self, request: RecordedRequest) -> Response:
        with self._lock:
            if self._queue:
                return self._queue.popleft()
        if self._fn is not None:
            return self._fn(request)
        n = len(self.chat_requests)
        return error(
            500,
            f"the fake server's script ran out at chat request #{n}; queue more answers with "
            "server.push(...) or pass a callable script",
            retry=False,
        )

    async def _answer(
        self,
        writer: asyncio.StreamWriter,
        request: RecordedRequest,
        response: Response,
        *,
        per_chunk: float = 0.0,
        hang_up_after: int | None = None,
    ) -> bool:
        if isinstance(response, Slow):
            await asyncio.sleep(response.delay)
            return await self._answer(writer, request, response.reply, per_chunk=response.per_chunk)
        if isinstance(response, HangUp):
            return await self._answer(
                writer, request, response.reply, per_chunk=per_chunk, hang_up_after=response.after
            )
        if isinstance(response, ErrorResponse):
            extra = {}
            if response.retry_after is not None:
                extra["Retry-After"] = f"{response.retry_after:g}"
            if response.retry is not None:
                extra["x-should-retry"] = "true" if response.retry else "false"
            body = _error_body(response.message, response.status)
            await _send_json(writer, response.status, body, extra)
            return True
        if isinstance(response, RawStream):
            events = [json.dumps(e) if not isinstance(e, str) else e for e in response.events]
            return await self._stream(writer, events, response.done, per_chunk, hang_up_after)
        scripted = normalize_response(response)
        if not request.stream:
            await _send_json(writer, 200, self._completion(request, scripted))
            return True
        events = [json.dumps(e) for e in self._chunks(request, scripted)]
        return await self._stream(writer, events, True, per_chunk, hang_up_after)

    async def _stream(
        self,
        writer: asyncio.StreamWriter,
        events: list[str],
        done: bool,
        per_chunk: float,
        hang_up_after: int | None,
    ) -> bool:
        writer.write(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
            b"cache-control: no-cache\r\ntransfer-encoding: chunked\r\n\r\n"
        )
        if done:
            events = [*events, "[DONE]"]
        for n, data in enumerate(events):
            if hang_up_after is not None and n >= hang_up_after:
                await writer.drain()
                writer.transport.abort()  # no terminating chunk: the client sees a broken body
                return False
            if per_chunk:
                await asyncio.sleep(per_chunk)
            payload = f"data: {data}\n\n".encode()
            writer.write(b"%x\r\n%s\r\n" % (len(payload), payload))
            await writer.drain()
        writer.write(b"0\r\n\r\n")
        await writer.drain()
        return True

    # ------------------------------------------------------------------ wire format

    def _pieces(self, text: str) -> list[str]:
        n = self.fragment
        return [text[i : i + n] for i in range(0, len(text), n)]

    def _chunks(self, request: RecordedRequest, r: ScriptedReply) -> Iterator[dict[str, Any]]:
        cid = f"chatcmpl-fake{next(_ids)}"
        base = {"id": cid, "object": "chat.completion.chunk", "created": int(time.time())}
        base["model"] = request.body.get("model") or self.model

        def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
            return {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

        yield chunk({"role": "assistant", "content": ""})
        for piece in self._pieces(r.text):
            yield chunk({"content": piece})
        calls = [_wire_call(c) for c in r.calls]
        heads = [
            {
                "index": i,
                "id": c["id"],
                "type": "function",
                "function": {"name": c["function"]["name"], "arguments": ""},
            }
            for i, c in enumerate(calls)
        ]
        frags = [
            [
                {"index": i, "function": {"arguments": p}}
                for p in self._pieces(c["function"]["arguments"])
            ]
            for i, c in enumerate(calls)
        ]
        if self.interleave:
            for head in heads:
                yield chunk({"tool_calls": [head]})
            for group in itertools.zip_longest(*frags):
                for frag in group:
                    if frag is not None:
                        yield chunk({"tool_calls": [frag]})
        else:
            for head, parts in zip(heads, frags, strict=True):
                yield chunk({"tool_calls": [head]})
                for frag in parts:
                    yield chunk({"tool_calls": [frag]})
        yield chunk({}, "tool_calls" if calls else "stop")
        options = request.body.get("stream_options") or {}
        if options.get("include_usage"):
            yield {**base, "choices": [], "usage": _usage(request, r)}

    def _completion(self, request: RecordedRequest, r: ScriptedReply) -> dict[str, Any]:
        calls = [_wire_call(c) for c in r.calls]
        message: dict[str, Any] = {"role": "assistant", "content": r.text or None}
        if calls:
            message["tool_calls"] = calls
        return {
            "id": f"chatcmpl-fake{next(_ids)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": request.body.get("model") or self.model,
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "finish_reason": "tool_calls" if calls else "stop",
                }
            ],
            "usage": _usage(request, r),
        }


def _wire_call(c: ScriptedCall) -> dict[str, Any]:
    # a str is sent verbatim, so a script can send arguments that are not valid JSON
    args = c.arguments if isinstance(c.arguments, str) else json.dumps(dict(c.arguments))
    return {
        "id": f"call_fake{next(_ids)}",
        "type": "function",
        "function": {"name": c.name, "arguments": args},
    }


def _usage(request: RecordedRequest, r: ScriptedReply) -> dict[str, int]:
    # word counts stand in for tokens: enough for code that sums or logs usage
    prompt = sum(len(str(m.get("content") or "").split()) for m in request.messages)
    completion = len(r.text.split()) + sum(
        len(_wire_call(c)["function"]["arguments"]) // 4 for c in r.calls
    )
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def _model_entry(model: str) -> dict[str, Any]:
    return {"id": model, "object": "model", "created": 0, "owned_by": "voxfsm-testing"}


def _error_body(message: str, status: int) -> dict[str, Any]:
    kind = "rate_limit_error" if status == 429 else "invalid_request_error"
    if status >= 500:
        kind = "server_error"
    return {"error": {"message": message, "type": kind, "code": status, "param": None}}


_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 429: "Too Many Requests"}


async def _send_json(
    writer: asyncio.StreamWriter,
    status: int,
    body: Any,
    headers: Mapping[str, str] | None = None,
) -> None:
    data = json.dumps(body).encode()
    head = [
        f"HTTP/1.1 {status} {_REASONS.get(status, 'Error' if status >= 400 else 'OK')}",
        "content-type: application/json",
        f"content-length: {len(data)}",
        *(f"{k}: {v}" for k, v in (headers or {}).items()),
    ]
    writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + data)
    await writer.drain()


# ---------------------------------------------------------------------------- pytest

try:
    import pytest
except ImportError:  # the server works without pytest; only the fixture needs it
    pass
else:

    @pytest.fixture
    def openai_server() -> Iterator[ChatCompletionsServer]:
        """A running :class:`ChatCompletionsServer`; ``openai_server.url`` is its base URL."""
        with ChatCompletionsServer() as server:
            yield server
