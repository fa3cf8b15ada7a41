"""Caller scenarios: what a simulated caller says (or wants), and what must happen.

A scenario file is TOML (read with ``tomllib``; ``tomli`` on Python 3.10)::

    app = "voxfsm.examples.restaurant"     # optional: overrides the command's APP

    [defaults]                              # optional: applied to every scenario
    max_turns = 8

    [[scenario]]
    name = "takeaway-pays"                  # unique in the run; reports use it
    lines = ["I'd like takeaway", "Two pizzas and a coffee please.", "I'm ready to pay."]
    # or, instead of lines, a goal for an LLM-driven caller (needs a caller LLM):
    # goal = "Order two pizzas and pay by card."
    max_turns = 6                           # turns the caller may take (default: len(lines), or 8)

    [scenario.expect]                       # every key is optional
    agents = ["takeaway", "checkout"]       # must be reached (any order)
    path = ["greeter", "takeaway", "checkout"]   # exact sequence of activations
    final_agent = "checkout"                # active at the end
    tools = ["add_to_order"]                # must be called (and succeed)
    no_tools = ["confirm_checkout"]         # must not be called
    userdata = { "order.pizza" = 2 }        # dotted attribute/key paths at the end
    judge = "The reply names the order total."   # intent for the last turn's reply
    # or judge = [{ turn = 2, intent = "..." }]  (turns count from 1)

``mode = "text"`` (default) sends the caller's lines to ``session.run(user_input=...)``;
``mode = "voice"`` has a simulated caller speak them through the real voice loop (Piper
voice → VAD → Whisper tiny.en → agents → their TTS), see :mod:`voxfsm.io.eval.voice`.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import attrs
import cattrs

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = [
    "Expect",
    "JudgeSpec",
    "Scenario",
    "ScenarioError",
    "load_scenarios",
    "scenario_converter",
]

DEFAULT_GOAL_TURNS = 8


class ScenarioError(ValueError):
    """A scenario file cannot be used; the message names the file, the scenario and the fix."""


@attrs.frozen
class JudgeSpec:
    """Ask a judge LLM whether the assistant's reply in ``turn`` does ``intent``.

    Turns count from 1; 0 means the last turn.
    """

    intent: str
    turn: int = 0


@attrs.frozen
class Expect:
    """What a scenario expects: agents visited, the exact path, the final agent, and more."""

    agents: tuple[str, ...] = ()
    path: tuple[str, ...] | None = None
    final_agent: str | None = None
    tools: tuple[str, ...] = ()
    no_tools: tuple[str, ...] = ()
    userdata: dict[str, Any] = attrs.Factory(dict)
    judge: tuple[JudgeSpec, ...] = ()


@attrs.frozen
class Scenario:
    """One caller scenario: its lines (or a goal for a model-driven caller) and expectations."""

    name: str
    lines: tuple[str, ...] = ()
    goal: str | None = None
    max_turns: int | None = None
    mode: str = "text"
    app: str | None = None
    expect: Expect = Expect()
    tags: tuple[str, ...] = ()

    @property
    def turn_limit(self) -> int:
        if self.max_turns is not None:
            return self.max_turns
        return len(self.lines) if self.lines else DEFAULT_GOAL_TURNS


def scenario_converter() -> cattrs.Converter:
    """The converter for scenarios: plain data in files and between Ray workers."""
    conv = cattrs.Converter(forbid_extra_keys=True)

    def judge_hook(value: Any, _: Any) -> tuple[JudgeSpec, ...]:
        items = [value] if isinstance(value, (str, dict)) else list(value)
        return tuple(
            JudgeSpec(intent=v) if isinstance(v, str) else conv.structure(v, JudgeSpec)
            for v in items
        )

    def strings_hook(value: Any, _: Any) -> tuple[str, ...]:
        # a bare string would otherwise become a tuple of characters
        if isinstance(value, str) or not all(isinstance(v, str) for v in value):
            raise ValueError(f"expected a list of strings, got {value!r}")
        return tuple(value)

    conv.register_structure_hook_func(lambda t: t == tuple[JudgeSpec, ...], judge_hook)
    conv.register_structure_hook_func(lambda t: t == tuple[str, ...], strings_hook)
    return conv


_CONVERTER = scenario_converter()


def _describe(exc: BaseException) -> str:
    # cattrs groups nested errors; transform_error gives one line per bad key, with its path
    if isinstance(exc, cattrs.BaseValidationError):
        return "; ".join(cattrs.transform_error(exc, path="scenario"))
    return str(exc) or type(exc).__name__


def _check(sc: Scenario, where: str) -> None:
    if not sc.name.strip():
        raise ScenarioError(f"{where}: a scenario needs a non-empty name")
    if bool(sc.lines) == bool(sc.goal):
        raise ScenarioError(
            f"{where}: scenario {sc.name!r} needs either `lines` (a scripted caller) or "
            "`goal` (an LLM-driven caller), not both and not neither"
        )
    if sc.mode not in ("text", "voice"):
        raise ScenarioError(
            f'{where}: scenario {sc.name!r}: mode must be "text" or "voice", not {sc.mode!r}'
        )
    if sc.mode == "voice" and not sc.lines:
        raise ScenarioError(
            f"{where}: scenario {sc.name!r}: voice mode needs `lines` for the caller to speak"
        )
    if sc.turn_limit < 1:
        raise ScenarioError(f"{where}: scenario {sc.name!r}: max_turns must be at least 1")
    for j in sc.expect.judge:
        if j.turn < 0 or (sc.lines and j.turn > sc.turn_limit):
            raise ScenarioError(
                f"{where}: scenario {sc.name!r}: judge turn {j.turn} is outside 1..{sc.turn_limit}"
            )


def parse_scenarios(data: dict[str, Any], where: str) -> list[Scenario]:
    """Scenarios from the parsed TOML of one file (``where`` names it in errors)."""
    extra = set(data) - {"app", "defaults", "scenario"}
    if extra:
        raise ScenarioError(
            f"{where}: unknown top-level key(s) {sorted(extra)}; use app, defaults, [[scenario]]"
        )
    raw = data.get("scenario")
    if not isinstance(raw, list) or not raw:
        raise ScenarioError(f"{where}: no scenarios; add at least one [[scenario]] table")
    defaults = data.get("defaults", {})
    app = data.get("app")
    out = []
    for i, item in enumerate(raw, 1):
        merged = {**defaults, **item}
        if app is not None:
            merged.setdefault("app", app)
        label = item.get("name", f"#{i}")
        try:
            sc = _CONVERTER.structure(merged, Scenario)
        except Exception as exc:
            raise ScenarioError(f"{where}: scenario {label!r}: {_describe(exc)}") from None
        _check(sc, where)
        out.append(sc)
    return out


def _files(paths: Iterable[str | Path]) -> list[Path]:
    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found = sorted(p.glob("*.toml"))
            if not found:
                raise ScenarioError(f"{p}: no *.toml scenario files in this folder")
            files.extend(found)
        elif p.is_file():
            files.append(p)
        else:
            raise ScenarioError(f"{p}: no such scenario file or folder")
    return files


def load_scenarios(*paths: str | Path) -> list[Scenario]:
    """Every scenario of the given files (folders: their ``*.toml``), names unique."""
    scenarios: list[Scenario] = []
    for path in _files(paths):
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ScenarioError(f"{path}: not valid TOML: {exc}") from None
        scenarios.extend(parse_scenarios(data, str(path)))
    seen: set[str] = set()
    for sc in scenarios:
        if sc.name in seen:
            raise ScenarioError(f"scenario name {sc.name!r} is used twice; names must be unique")
        seen.add(sc.name)
    return scenarios


def to_data(scenario: Scenario) -> dict[str, Any]:
    """Plain data for a worker (what a Ray task receives)."""
    data: dict[str, Any] = _CONVERTER.unstructure(scenario)
    return data


def from_data(data: dict[str, Any]) -> Scenario:
    return _CONVERTER.structure(data, Scenario)
