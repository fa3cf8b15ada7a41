"""Per-agent plugin overrides: ``NOT_GIVEN``, and strings resolved through offline providers.

A string such as ``"pyttsx3:en-us+f3"`` or ``"vosk/path/to/model"`` names a provider (the text
before the first ``/`` or ``:``), an optional model (after ``/``) and an optional option (after
``:``).  Providers are registered as entry points in the ``voxfsm.plugins`` group, so the agent
layer never imports the audio layer; each entry point is a class with
``from_spec(model, option)`` and a ``plugin_kind`` ("llm", "stt", "tts" or "vad").
"""

from __future__ import annotations

import functools
import re
from importlib.metadata import entry_points
from typing import Any, Final, TypeVar, Union


class _NotGiven:
    """The type of ``NOT_GIVEN`` (one instance): an option that was not passed at all."""

    _instance: _NotGiven | None = None

    def __new__(cls) -> _NotGiven:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "NOT_GIVEN"

    def __bool__(self) -> bool:
        return False

    def __reduce__(self) -> str:
        return "NOT_GIVEN"


NOT_GIVEN: Final = _NotGiven()

_T = TypeVar("_T")
NotGivenOr = Union[_T, _NotGiven]
"""``NotGivenOr[X]``: an ``X``, or ``NOT_GIVEN`` (LiveKit's annotation for optional overrides)."""
"""Marks an override that was not passed (inherit the session's), unlike ``None`` (disabled)."""

_SPEC = re.compile(r"^(?P<provider>[^/:]+)(?:/(?P<model>[^:]*))?(?::(?P<option>.*))?$")


@functools.cache
def providers() -> dict[str, Any]:
    """Known offline providers by name (entry points of group ``voxfsm.plugins``).

    Read once per process: scanning installed distributions takes milliseconds, and agents
    with string overrides are built on every handoff.
    """
    return {ep.name: ep for ep in entry_points(group="voxfsm.plugins")}


def resolve(kind: str, value: Any) -> Any:
    """Turn a plugin string into an instance; anything else is returned as it is."""
    if not isinstance(value, str):
        return value
    match = _SPEC.match(value)
    if match is None:
        raise ValueError(
            f"{kind}={value!r} is not of the form 'provider', 'provider/model' or 'provider:option'"
        )
    known = providers()
    name = match["provider"]
    if name not in known:
        raise ValueError(
            f"unknown {kind} provider {name!r} in {value!r}; voxfsm runs offline and knows: "
            f"{', '.join(sorted(known)) or '(none installed)'}; or pass an instance"
        )
    factory = known[name].load()
    # a provider says what it is (``plugin_kind``): tts="vosk" or llm="pyttsx3" fails here,
    # at construction, not on the first turn
    provides = getattr(factory, "plugin_kind", None)
    if provides is not None and provides != kind:
        same_kind = sorted(
            n for n, ep in known.items() if getattr(ep.load(), "plugin_kind", kind) == kind
        )
        raise ValueError(
            f"{kind}={value!r}: {name!r} is a {provides} provider, not a {kind} one; "
            f"{kind} providers: {', '.join(same_kind) or '(none installed)'}"
        )
    return factory.from_spec(match["model"] or None, match["option"] or None)


# an empty search path makes this module a package for the import system, so
# ``import voxfsm.agents.plugins.openai`` reaches the finder of voxfsm.agents.cloud_plugins
__path__: list[str] = []


def __getattr__(name: str) -> Any:
    """``from voxfsm.agents.plugins import openai, deepgram, silero``: LiveKit's plugin
    modules, offline (see :mod:`voxfsm.agents.cloud_plugins`)."""
    from voxfsm.agents import cloud_plugins

    if name in cloud_plugins.KNOWN:
        return cloud_plugins.plugin(name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
