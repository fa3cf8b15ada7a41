"""Run one scenario as its own session and judge it: plain data in, plain data out.

``run_scenario_data(app_spec, scenario_data, options_data)`` is what a worker (a Ray task or
the local asyncio runner) calls: it loads the app (once per process), builds a fresh session
from ``make_session()``, plays the caller's lines through ``session.run()``, checks the
expectations and returns a JSON-safe dict.  Sessions never leave the worker.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Any

import attrs
import cattrs

from voxfsm.agents import AgentHandoff, ChatContext, ChatMessage, FunctionCall, FunctionCallOutput
from voxfsm.io.cli.app import App, load_app
from voxfsm.io.eval.scenario import Scenario, from_data

__all__ = [
    "EvalOptions",
    "ScenarioResult",
    "result_converter",
    "run_scenario",
    "run_scenario_data",
]

log = logging.getLogger("voxfsm.io.eval")

CALLER_INSTRUCTIONS = """\
You are a person phoning a voice assistant. Your goal: {goal}
Reply with only the next thing you say, in one or two short sentences. When your goal is \
reached, or cannot be reached, reply with exactly DONE."""


@attrs.frozen
class EvalOptions:
    """How scenarios run; plain data so it travels to workers as it is."""

    turn_timeout: float = 30.0
    judge_url: str | None = None
    judge_model: str | None = None
    caller_url: str | None = None
    caller_model: str | None = None


@attrs.frozen
class ScenarioResult:
    """What happened in one scenario, and whether it met its expectations."""

    name: str
    app: str
    passed: bool
    reasons: tuple[str, ...]
    path: tuple[str, ...]
    steps: tuple[tuple[str | None, str | None, str, str], ...]
    tools: tuple[str, ...]
    transcript: tuple[dict[str, Any], ...]
    latencies: dict[str, list[float]]
    turns: int
    seconds: float
    worker: str
    error: str | None = None


_RESULTS = cattrs.Converter()


def result_converter() -> cattrs.Converter:
    """The cattrs converter that turns scenario results into JSON-safe data and back."""
    return _RESULTS


class _TimedLLM:
    """Wraps the session's LLM to time each request: first chunk and whole reply."""

    def __init__(self, inner: Any, latencies: dict[str, list[float]]) -> None:
        self._inner = inner
        self._lat = latencies

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def chat(self, **kwargs: Any) -> AsyncIterator[Any]:
        start = time.perf_counter()
        first = True
        async for chunk in self._inner.chat(**kwargs):
            if first:
                self._lat.setdefault("llm_first_chunk", []).append(time.perf_counter() - start)
                first = False
            yield chunk
        self._lat.setdefault("llm", []).append(time.perf_counter() - start)


_APPS: dict[str, App] = {}


def _app(spec: str) -> App:
    # a worker runs many scenarios of one app: import it once per process
    if spec not in _APPS:
        _APPS[spec] = load_app(spec)
    return _APPS[spec]


def _module_llm(app: App, name: str, url: str | None, model: str | None) -> Any:
    if url:
        from voxfsm.agents.llm import OpenAILLM

        return OpenAILLM(model=model or "default", base_url=url)
    factory = getattr(app.module, name, None)
    return factory() if callable(factory) else None


def _entry(item: Any, turn: int) -> dict[str, Any]:
    if isinstance(item, ChatMessage):
        return {"turn": turn, "kind": item.role, "text": item.text_content}
    if isinstance(item, FunctionCall):
        return {"turn": turn, "kind": "call", "text": f"{item.name}({item.arguments})"}
    if isinstance(item, FunctionCallOutput):
        kind = "tool_error" if item.is_error else "output"
        return {"turn": turn, "kind": kind, "text": item.output, "tool": item.name}
    assert isinstance(item, AgentHandoff)
    return {"turn": turn, "kind": "handoff", "text": f"{item.old_agent_id} -> {item.new_agent_id}"}


def _lookup(obj: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        if isinstance(obj, Mapping):
            if part not in obj:
                raise KeyError(part)
            obj = obj[part]
        elif isinstance(obj, Sequence) and not isinstance(obj, str) and part.isdigit():
            if int(part) >= len(obj):
                raise KeyError(part)
            obj = obj[int(part)]
        elif hasattr(obj, part):
            obj = getattr(obj, part)
        else:
            raise KeyError(part)
    return obj


async def _caller_line(llm: Any, goal: str, transcript: Sequence[dict[str, Any]]) -> str | None:
    ctx = ChatContext()
    ctx.add_message(role="system", content=CALLER_INSTRUCTIONS.format(goal=goal))
    for e in transcript:  # the caller sees the call from its side: roles swap
        if e["kind"] == "assistant":
            ctx.add_message(role="user", content=e["text"])
        elif e["kind"] == "user":
            ctx.add_message(role="assistant", content=e["text"])
    if len(ctx.items) == 1:
        ctx.add_message(role="user", content="(the line connects)")
    parts = [chunk.text async for chunk in llm.chat(chat_ctx=ctx, tools=[])]
    line = "".join(parts).strip()
    return None if not line or line.upper().rstrip(".") == "DONE" else line


class _Run:
    """The state of one scenario while it plays."""

    def __init__(self, app: App, spec: str, sc: Scenario, options: EvalOptions) -> None:
        self.app, self.spec, self.sc, self.options = app, spec, sc, options
        self.latencies: dict[str, list[float]] = {}
        self.transcript: list[dict[str, Any]] = []
        self.reasons: list[str] = []
        self.error: str | None = None
        self.turns = 0
        self._seen = 0

    def _collect(self, session: Any, turn: int) -> None:
        items = session.history.items
        self.transcript.extend(_entry(i, turn) for i in items[self._seen :])
        self._seen = len(items)

    async def _timed(self, what: str, aw: Any) -> Any:
        try:
            return await asyncio.wait_for(aw, self.options.turn_timeout)
        except asyncio.TimeoutError:
            raise TimeoutError(
                f"{what} took longer than {self.options.turn_timeout:g} s (raise --turn-timeout)"
            ) from None

    async def play(self) -> Any:
        session = self.app.new_session()
        if session.llm is not None:
            session.update_options(llm=_TimedLLM(session.llm, self.latencies))
        caller = None
        if self.sc.goal:
            caller = _module_llm(
                self.app, "make_caller_llm", self.options.caller_url, self.options.caller_model
            )
            if caller is None:
                raise RuntimeError(
                    "this scenario has a goal but there is no caller LLM: pass --caller-llm URL "
                    "or define make_caller_llm() in the app module"
                )
        if self.sc.mode == "voice":
            return await self._play_voice(session)
        try:
            await self._timed("starting the session", session.start(self.app.new_entry()))
            self._collect(session, 0)
            for turn in range(1, self.sc.turn_limit + 1):
                if caller is None:
                    if turn > len(self.sc.lines):
                        break
                    line: str | None = self.sc.lines[turn - 1]
                else:
                    line = await self._timed(
                        f"the caller LLM (turn {turn})",
                        _caller_line(caller, self.sc.goal or "", self.transcript),
                    )
                    if line is None:
                        break
                assert line is not None
                start = time.perf_counter()
                try:
                    await self._timed(f"turn {turn}", session.run(user_input=line))
                finally:
                    self.latencies.setdefault("turn", []).append(time.perf_counter() - start)
                    self.turns = turn
                    self._collect(session, turn)
            return session
        except BaseException:
            self._collect(session, self.turns)
            await session.aclose(drain_timeout=2.0)
            raise

    async def _play_voice(self, session: Any) -> Any:
        from voxfsm.io.eval.voice import play_voice

        lines = list(self.sc.lines[: self.sc.turn_limit])
        try:
            limit = self.options.turn_timeout * (len(lines) + 1)
            await play_voice(self.app, session, lines, self.latencies, limit)
            return session
        except BaseException:
            await session.aclose(drain_timeout=2.0)
            raise
        finally:
            # turns are counted by what recognition delivered: one user message each
            for item in session.history.items:
                entry = _entry(item, self.turns)
                if entry["kind"] == "user":
                    self.turns += 1
                    entry["turn"] = self.turns
                self.transcript.append(entry)


async def run_scenario(app_spec: str, sc: Scenario, options: EvalOptions) -> ScenarioResult:
    """Play ``sc`` against the app ``app_spec`` (``sc.app`` wins) and judge the outcome."""
    spec = sc.app or app_spec
    begin = time.perf_counter()
    app = _app(spec)
    run = _Run(app, spec, sc, options)
    session = None
    try:
        session = await run.play()
    except Exception as exc:  # the scenario fails with the reason; the run goes on
        run.error = f"{type(exc).__name__}: {exc}"
        run.reasons.append(f"the call broke off: {run.error}")
    steps: list[tuple[str | None, str | None, str, str]] = []
    path = [e["text"].split(" -> ")[1] for e in run.transcript if e["kind"] == "handoff"]
    if session is not None:
        steps = [(s.source, s.trigger, s.target_id, s.kind) for s in session.__fsm_trace__().steps]
        await _check(run, session, path, app, options)
        await session.aclose(drain_timeout=2.0)
    tools = tuple(e["text"].split("(", 1)[0] for e in run.transcript if e["kind"] == "call")
    return ScenarioResult(
        name=sc.name,
        app=spec,
        passed=not run.reasons,
        reasons=tuple(run.reasons),
        path=tuple(path),
        steps=tuple(steps),
        tools=tools,
        transcript=tuple(run.transcript),
        latencies=run.latencies,
        turns=run.turns,
        seconds=time.perf_counter() - begin,
        worker=f"{socket.gethostname()}:{os.getpid()}",
        error=run.error,
    )


async def _check(run: _Run, session: Any, path: list[str], app: App, options: EvalOptions) -> None:
    exp, reasons, tr = run.sc.expect, run.reasons, run.transcript
    for agent in exp.agents:
        if agent not in path:
            reasons.append(f"agent {agent!r} was never reached (path: {' > '.join(path)})")
    if exp.path is not None and tuple(path) != exp.path:
        reasons.append(f"path was {' > '.join(path)}, expected {' > '.join(exp.path)}")
    current = session.current_agent.id
    if exp.final_agent is not None and current != exp.final_agent:
        reasons.append(f"ended with agent {current!r}, expected {exp.final_agent!r}")
    ok_tools = {e["tool"] for e in tr if e["kind"] == "output"}
    failed = {e["tool"]: e["text"] for e in tr if e["kind"] == "tool_error"}
    for tool in exp.tools:
        if tool not in ok_tools:
            why = f"failed: {failed[tool]!r}" if tool in failed else "was never called"
            reasons.append(f"tool {tool!r} {why}")
    called = ok_tools | set(failed)
    for tool in exp.no_tools:
        if tool in called:
            reasons.append(f"tool {tool!r} was called but must not be")
    if exp.userdata:
        _check_userdata(session, exp.userdata, reasons)
    if exp.judge:
        await _judge(run, app, options)


def _check_userdata(session: Any, expected: dict[str, Any], reasons: list[str]) -> None:
    try:
        data = session.userdata
    except ValueError:
        reasons.append("the session has no userdata to check")
        return
    for key, want in expected.items():
        try:
            got = _lookup(data, key)
        except KeyError as exc:
            reasons.append(f"userdata.{key} does not exist (no {exc.args[0]!r})")
            continue
        if got != want:
            reasons.append(f"userdata.{key} is {got!r}, expected {want!r}")


async def _judge(run: _Run, app: App, options: EvalOptions) -> None:
    from voxfsm.agents.evals import judge_message

    llm = _module_llm(app, "make_judge_llm", options.judge_url, options.judge_model)
    if llm is None:
        run.reasons.append(
            "the scenario asks for a judge but there is no judge LLM: pass --judge-llm URL "
            "or define make_judge_llm() in the app module"
        )
        return
    for spec in run.sc.expect.judge:
        turn = spec.turn or run.turns
        said = " ".join(
            e["text"] for e in run.transcript if e["turn"] == turn and e["kind"] == "assistant"
        )
        if not said:
            run.reasons.append(f"judge: the assistant said nothing in turn {turn}")
            continue
        ok, why = await run._timed(
            f"the judge (turn {turn})", judge_message(llm, said, intent=spec.intent)
        )
        if not ok:
            run.reasons.append(f"judge, turn {turn} ({spec.intent!r}): {why}")


def run_scenario_data(
    app_spec: str, scenario: dict[str, Any], options: dict[str, Any]
) -> dict[str, Any]:
    """The worker entry point: plain data in, plain data out (one event loop per call)."""
    sc = from_data(scenario)
    opts = _RESULTS.structure(options, EvalOptions)
    result = asyncio.run(run_scenario(app_spec, sc, opts))
    data: dict[str, Any] = _RESULTS.unstructure(result)
    return data


def quiet_engine() -> Callable[[], None]:
    """Silence the engine's per-tool tracebacks (scenarios raise ToolError on purpose)."""
    engine = logging.getLogger("voxfsm.agents")
    level = engine.level
    engine.setLevel(logging.CRITICAL)
    return lambda: engine.setLevel(level)
