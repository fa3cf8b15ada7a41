"""``OpenAILLM``: any OpenAI-compatible Chat Completions server, through the official client.

Local servers and their usual base URLs:

- llama.cpp (``llama-server``) and llama-cpp-python (``python -m llama_cpp.server``):
  ``http://127.0.0.1:8080/v1`` (:data:`LLAMACPP_URL`; ``OpenAILLM.llamacpp()``);
- Ollama: ``http://127.0.0.1:11434/v1`` (:data:`OLLAMA_URL`; ``OpenAILLM.ollama("llama3.2")``);
- vLLM and others: pass ``base_url=``.

The ``openai`` package is imported on the first request, so building agents and sessions
(and resolving ``llm="ollama/..."`` strings) stays cheap and never touches the network.
"""

from __future__ import annotations

import asyncio
import copy
import ipaddress
import logging
import os
import time
import weakref
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import attrs

from voxfsm.agents._openai_format import (
    ToolCallAssembler,
    to_openai_tool_choice,
    to_openai_tools,
)
from voxfsm.agents.llm.base import LLMChunk, LLMError, ToolChoice
from voxfsm.agents.llm.stream import LLM

if TYPE_CHECKING:
    import openai

    from voxfsm.agents.chat import ChatContext
    from voxfsm.agents.tools import FunctionTool

log = logging.getLogger("voxfsm.agents.llm")

LLAMACPP_URL = "http://127.0.0.1:8080/v1"
OLLAMA_URL = "http://127.0.0.1:11434/v1"
DEFAULT_MODEL = "local"
"""Sent when no model is named: llama.cpp's servers serve their one model under any name."""

# Local servers ignore the key, but the client refuses to start without one.
_NO_KEY = "not-needed"


def is_loopback(url: str) -> bool:
    """Whether ``url`` points at this machine (``localhost``, 127.0.0.0/8, ``::1``)."""
    host = urlsplit(url).hostname or ""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class OpenAILLM(LLM):
    """A model behind an OpenAI-compatible server, streamed through ``openai.AsyncOpenAI``.

    ``model``, ``base_url`` and ``api_key`` default to ``VOXFSM_LLM_MODEL``,
    ``OPENAI_BASE_URL`` and ``OPENAI_API_KEY``; with none of them set, the model is
    ``"local"``, the server llama.cpp's default :data:`LLAMACPP_URL`, and the key a
    placeholder (local servers ignore it).
    ``timeout`` (seconds, also the longest wait between two streamed chunks; default 30) and
    ``max_retries`` (default 1, so a server that never answers is reported within about a
    minute) go to the client, which retries refused connections, timeouts, 429 (it
    honours ``Retry-After``) and 5xx before a reply starts streaming. A stream that breaks off
    is never retried, since part of the reply may already have been spoken. What still fails
    is raised as :class:`~voxfsm.agents.llm.LLMError` naming the endpoint and the likely fix.

    ``stream_tools=False`` sends requests that carry tools without streaming (requests
    without tools still stream), for servers that cannot stream tool calls: llama-cpp-python's
    ``chatml-function-calling`` handler fails on ``tool_choice="auto"`` with ``stream=True``.

    Every reply is bounded: ``max_tokens`` (sent to the server, which stops generating),
    ``max_reply_chars`` (text and call arguments received) and ``max_reply_seconds`` (a stream
    that keeps sending); passing one raises ``LLMError`` naming the option.

    A loopback ``base_url`` never goes through ``HTTP(S)_PROXY``: a proxy would fail on, or
    see, traffic meant to stay on this machine.
    """

    default_base_url: str | None = None
    """A preset's server; ``None`` reads ``OPENAI_BASE_URL``, then uses llama.cpp's URL."""

    def __init__(
        self,
        *,
        model: str | None = None,
        base_url: str | None = None,
        api_key: str | None = None,
        temperature: float | None = None,
        timeout: float = 30.0,
        max_retries: int = 1,
        extra_body: Mapping[str, Any] | None = None,
        parallel_tool_calls: bool | None = None,
        stream_tools: bool = True,
        max_tokens: int | None = None,
        max_reply_chars: int | None = 32_000,
        max_reply_seconds: float | None = 300.0,
    ) -> None:
        if max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, got {max_retries}")
        if timeout <= 0:
            raise ValueError(f"timeout must be a positive number of seconds, got {timeout}")
        for name, bound in (
            ("max_tokens", max_tokens),
            ("max_reply_chars", max_reply_chars),
            ("max_reply_seconds", max_reply_seconds),
        ):
            if bound is not None and not bound > 0:
                raise ValueError(f"{name} must be positive (or None for no bound), got {bound}")
        self.model: str = model or os.environ.get("VOXFSM_LLM_MODEL") or DEFAULT_MODEL
        self.base_url: str = (
            base_url or self.default_base_url or os.environ.get("OPENAI_BASE_URL") or LLAMACPP_URL
        ).rstrip("/")
        self._api_key = api_key or os.environ.get("OPENAI_API_KEY") or _NO_KEY
        self.temperature = temperature
        self.timeout = timeout
        self.max_retries = max_retries
        self.extra_body = dict(extra_body) if extra_body else None
        self.parallel_tool_calls = parallel_tool_calls
        self.stream_tools = stream_tools
        self.max_tokens = max_tokens
        self.max_reply_chars = max_reply_chars
        self.max_reply_seconds = max_reply_seconds
        # One client per event loop: pooled connections belong to the loop that opened them.
        self._client: openai.AsyncOpenAI | None = None
        self._client_loop: weakref.ref[asyncio.AbstractEventLoop] | None = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(model={self.model!r}, base_url={self.base_url!r})"

    def with_options(self, **changes: Any) -> OpenAILLM:
        """A copy with some settings changed (``temperature=0``...), sharing the HTTP client."""
        allowed = {
            "temperature",
            "extra_body",
            "parallel_tool_calls",
            "model",
            "stream_tools",
            "max_tokens",
        }
        unknown = set(changes) - allowed
        if unknown:
            raise TypeError(f"with_options() cannot change {sorted(unknown)}")
        clone = copy.copy(self)
        for name, value in changes.items():
            setattr(clone, name, dict(value) if name == "extra_body" and value else value)
        return clone

    @property
    def endpoint(self) -> str:
        """What error messages name: the URL requests go to, and the model."""
        return f"{self.base_url}/chat/completions (model {self.model!r})"

    # ------------------------------------------------------------------ presets

    @classmethod
    def ollama(cls, model: str, **kwargs: Any) -> OpenAILLM:
        """A model served by Ollama on this machine (``ollama pull MODEL`` first)."""
        return OllamaLLM(model=model, **kwargs)

    @classmethod
    def llamacpp(cls, model: str | None = None, *, port: int = 8080, **kwargs: Any) -> OpenAILLM:
        """The model of a llama.cpp server (``llama-server`` or ``llama_cpp.server``) here."""
        kwargs.setdefault("base_url", f"http://127.0.0.1:{port}/v1")
        return LlamaCppLLM(model=model, **kwargs)

    @classmethod
    def from_spec(cls, model: str | None, option: str | None) -> OpenAILLM:
        """Build from a plugin string's parts; ``model:option`` is taken as a model tag."""
        return cls(model=_tagged(model, option))

    # ------------------------------------------------------------------ requests

    def request(
        self,
        chat_ctx: ChatContext,
        tools: Sequence[FunctionTool],
        tool_choice: ToolChoice = "auto",
    ) -> dict[str, Any]:
        """The keyword arguments for ``chat.completions.create`` (public so tests can look)."""
        req: dict[str, Any] = {
            "model": self.model,
            "messages": chat_ctx.to_openai(),
            "stream": True,
        }
        if tools:
            req["tools"] = to_openai_tools(tools)
            choice = to_openai_tool_choice(tool_choice, tools)
            if choice is not None:
                req["tool_choice"] = choice
            if self.parallel_tool_calls is not None:
                req["parallel_tool_calls"] = self.parallel_tool_calls
        if self.temperature is not None:
            req["temperature"] = self.temperature
        if self.max_tokens is not None:
            req["max_tokens"] = self.max_tokens
        if self.extra_body:
            req["extra_body"] = dict(self.extra_body)
        return req

    async def chat(
        self,
        *,
        chat_ctx: ChatContext,
        tools: Sequence[FunctionTool],
        tool_choice: ToolChoice = "auto",
    ) -> AsyncIterator[LLMChunk]:
        """Stream a reply: text deltas as they come, then all tool calls once complete.

        Calls are held back until the server has finished the reply, so a stream that
        breaks off never leaves a half-emitted set of calls in the conversation.
        """
        req = self.request(chat_ctx, tools, tool_choice)
        whole = bool(tools) and not self.stream_tools
        if whole:
            req["stream"] = False
        calls = ToolCallAssembler()
        state = _Reply()
        parts = self._whole(req, calls, state) if whole else self._streamed(req, calls, state)
        async for piece in parts:
            yield LLMChunk(piece)
        if state.finish is None:
            raise self._broken(None, tools=bool(tools))
        if state.finish == "length":
            log.warning(
                "the reply from %s was cut at the token limit; raise max_tokens= "
                "or the server's context size",
                self.endpoint,
            )
        requests = calls.finish()
        for r in requests:
            if not r.name:
                raise LLMError(
                    f"{self.endpoint} sent a tool call ({r.call_id}) with no function name; "
                    "the server's tool-call parser or chat template is probably wrong for this "
                    "model (for llama.cpp try --jinja or a function-calling chat format)"
                )
        if requests:
            yield LLMChunk(calls=tuple(requests))
        elif not state.text:
            raise LLMError(
                f"{self.endpoint} returned an empty reply (finish_reason {state.finish!r}): no "
                "text and no tool call. Check that the model is an instruct/chat model with a "
                "chat template, and that the prompt fits its context size"
            )

    async def _streamed(
        self, req: dict[str, Any], calls: ToolCallAssembler, state: _Reply
    ) -> AsyncIterator[str]:
        import openai

        started = time.perf_counter()
        try:
            stream = await self._client_for_loop().chat.completions.create(**req)
        except openai.APIError as exc:
            raise self._error(exc) from exc
        received = 0  # characters of text and call arguments: a stream that never ends is cut
        try:
            async for chunk in stream:
                self._check_bounds(received, started)
                for choice in chunk.choices:
                    if choice.index != 0:
                        continue  # we ask for one choice; ignore servers that send more
                    delta = choice.delta
                    if delta is not None:
                        for tc in delta.tool_calls or ():
                            fn = tc.function
                            calls.add(
                                tc.index,
                                tc.id,
                                fn.name if fn else None,
                                fn.arguments if fn else None,
                            )
                            received += len(fn.arguments or "") if fn else 0
                        if delta.content:
                            received += len(delta.content)
                            if not state.text:
                                log.debug(
                                    "first token from %s after %.0f ms",
                                    self.base_url,
                                    (time.perf_counter() - started) * 1000,
                                )
                            state.text = True
                            yield delta.content
                    if choice.finish_reason:
                        state.finish = choice.finish_reason
        except openai.APIError as exc:
            raise self._error(exc, streaming=True) from exc
        except LLMError:
            raise
        except Exception as exc:  # the transport's own errors (e.g. a peer that hung up)
            raise self._broken(exc) from exc
        finally:
            await stream.close()

    def _check_bounds(self, received: int, started: float) -> None:
        limit = self.max_reply_chars
        if limit is not None and received > limit:
            raise LLMError(
                f"{self.endpoint} sent more than {limit} characters in one reply and was cut "
                "off; the model may be looping. Raise OpenAILLM(max_reply_chars=...) or set "
                "max_tokens= to let the server stop it"
            )
        seconds = self.max_reply_seconds
        if seconds is not None and time.perf_counter() - started > seconds:
            raise LLMError(
                f"{self.endpoint} was still streaming one reply after {seconds:g} s and was "
                "cut off; raise OpenAILLM(max_reply_seconds=...) for a slower model"
            )

    async def _whole(
        self, req: dict[str, Any], calls: ToolCallAssembler, state: _Reply
    ) -> AsyncIterator[str]:
        import openai

        try:
            resp = await self._client_for_loop().chat.completions.create(**req)
        except openai.APIError as exc:
            raise self._error(exc) from exc
        if not resp.choices:
            return  # finish stays None: reported like a reply that never finished
        choice = resp.choices[0]
        state.finish = choice.finish_reason or "stop"
        for n, tc in enumerate(choice.message.tool_calls or ()):
            fn = getattr(tc, "function", None)
            calls.add(n, tc.id, fn.name if fn else None, fn.arguments if fn else None)
        if choice.message.content:
            state.text = True
            yield choice.message.content

    async def aclose(self) -> None:
        """Close the HTTP client (a new one is made if the model is used again)."""
        client, self._client = self._client, None
        if client is not None:
            await client.close()

    async def __aenter__(self) -> OpenAILLM:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # ------------------------------------------------------------------ internals

    def _client_for_loop(self) -> openai.AsyncOpenAI:
        loop = asyncio.get_running_loop()
        if (
            self._client is None
            or self._client_loop is None
            or self._client_loop() is not loop
            or self._client.is_closed()  # e.g. closed through a with_options() copy
        ):
            self._client = self._make_client()
            self._client_loop = weakref.ref(loop)
        return self._client

    def _make_client(self) -> openai.AsyncOpenAI:
        import openai

        http_client = None
        if is_loopback(self.base_url):
            # trust_env=False: no proxy variables (nor .netrc) for traffic to this machine.
            http_client = openai.DefaultAsyncHttpxClient(trust_env=False, timeout=self.timeout)
        return openai.AsyncOpenAI(
            base_url=self.base_url,
            api_key=self._api_key,
            timeout=self.timeout,
            max_retries=self.max_retries,
            http_client=http_client,
        )

    def _error(self, exc: openai.APIError, *, streaming: bool = False) -> LLMError:
        import openai

        where = self.endpoint
        tries = f" (after {self.max_retries} retries)" if self.max_retries else ""
        if streaming and isinstance(exc, openai.APITimeoutError):
            return LLMError(
                f"{where} stopped sending for more than {self.timeout:g} s in the middle of a "
                "reply. The server may be overloaded or stuck: check it, or raise timeout="
            )
        if streaming and isinstance(exc, openai.APIConnectionError):
            # the client reports a body cut short as a connection error; it is not retried
            return self._broken(exc.__cause__ or exc)
        if isinstance(exc, openai.APITimeoutError):
            return LLMError(
                f"{where} did not answer within {self.timeout:g} s{tries}. The model may still "
                "be loading or be too slow for this machine: raise timeout=, use a smaller "
                "model, or check the server's load"
            )
        if isinstance(exc, openai.APIConnectionError):
            cause = f": {exc.__cause__}" if exc.__cause__ else ""
            return LLMError(
                f"cannot reach the LLM server at {where}{tries}{cause}. Is it running? Start "
                "one (e.g. `python -m llama_cpp.server --model MODEL.gguf --port 8080` or "
                "`ollama serve`), or point base_url= / OPENAI_BASE_URL at it"
            )
        if isinstance(exc, openai.APIStatusError):
            status = exc.status_code
            detail = _server_message(exc)
            if status == 429:
                fix = (
                    "the server is rate-limiting or busy: wait, send fewer concurrent "
                    "requests, or raise max_retries="
                )
            elif status in (401, 403):
                fix = "the server refused the API key: pass api_key= or set OPENAI_API_KEY"
            elif status == 404:
                fix = (
                    f"no such model or path: check model= (for Ollama, `ollama pull "
                    f"{self.model}`) and that base_url ends in /v1"
                )
            elif status in (400, 422):
                fix = (
                    "the server rejected the request: the conversation may exceed the "
                    "model's context size, or the server may not support tools or this "
                    "tool_choice (llama.cpp needs --jinja or a function-calling chat format)"
                )
            elif status >= 500:
                fix = f"the server failed{tries}; its log says why (out of memory, crashed)"
            else:
                fix = "see the server's message"
            return LLMError(f"{where} answered HTTP {status}: {detail}. {fix}")
        if streaming:
            return self._broken(exc)
        return LLMError(f"{where} failed: {exc}")

    def _broken(self, exc: BaseException | None, *, tools: bool = False) -> LLMError:
        why = f": {exc}" if exc else " (no finish_reason)"
        hint = (
            " Some servers cannot stream tool calls (llama-cpp-python's "
            "chatml-function-calling fails on tool_choice='auto'): pass stream_tools=False"
            if tools and exc is None
            else ""
        )
        return LLMError(
            f"the reply stream from {self.endpoint} broke off before the model finished{why}. "
            "The server may have crashed, run out of memory or been restarted; check its log "
            f"and try again.{hint}"
        )


class OllamaLLM(OpenAILLM):
    """A model served by Ollama (:data:`OLLAMA_URL`); plugin string ``ollama/MODEL[:TAG]``."""

    plugin_kind = "llm"
    """What a plugin string naming this provider must be used for."""

    default_base_url = OLLAMA_URL

    @classmethod
    def from_spec(cls, model: str | None, option: str | None) -> OpenAILLM:
        if not model:
            raise ValueError(
                "an Ollama LLM needs a model name: llm='ollama/llama3.2' (or 'ollama/qwen2.5:3b')"
            )
        return cls(model=_tagged(model, option))


class LlamaCppLLM(OpenAILLM):
    """A llama.cpp server (:data:`LLAMACPP_URL`); plugin string ``llamacpp[/MODEL][:PORT]``."""

    plugin_kind = "llm"
    """What a plugin string naming this provider must be used for."""

    default_base_url = LLAMACPP_URL

    @classmethod
    def from_spec(cls, model: str | None, option: str | None) -> OpenAILLM:
        if option is None:
            return cls(model=model)
        if not option.isdigit():
            raise ValueError(
                f"in llm='llamacpp/...:{option}' the part after ':' is the server's port "
                "on 127.0.0.1, e.g. 'llamacpp/smollm2:8011'"
            )
        return cls(model=model, base_url=f"http://127.0.0.1:{option}/v1")


@attrs.define
class _Reply:
    """What the response paths learned besides the text they yield."""

    text: bool = False
    finish: str | None = None


def _tagged(model: str | None, option: str | None) -> str | None:
    # plugin strings split at ':', but model names such as 'qwen2.5:3b' contain one
    if model and option:
        return f"{model}:{option}"
    return model or option


def _server_message(exc: openai.APIStatusError) -> str:
    """The server's own error text, without the client's 'Error code: N - {...}' wrapping."""
    body = exc.body
    if isinstance(body, Mapping):
        inner = body.get("error", body)
        msg = inner.get("message") if isinstance(inner, Mapping) else inner
        if msg:
            return str(msg)
    return str(exc.message)
