"""Offline stand-ins for LiveKit's plugin modules: ``from voxfsm.agents.plugins import openai``.

LiveKit apps build their models from plugin modules (``openai.LLM(model="gpt-4.1-mini")``,
``deepgram.STT()``, ``cartesia.TTS()``, ``silero.VAD.load()``, ``noise_cancellation.BVC()``,
``MultilingualModel()``).  Changing ``livekit.plugins`` to ``voxfsm.agents.plugins`` in those
imports gives each name an offline meaning, with no other edit:

* ``X.LLM(...)`` and ``X.realtime.RealtimeModel(...)``: ``inference.LLM("X/model")``, the
  configured offline LLM (``inference.configure``, ``VOXFSM_INFERENCE_LLM``, else ``local``);
* ``X.STT(...)`` / ``X.TTS(...)``: the configured offline STT / TTS (whisper, pyttsx3);
* ``silero.VAD.load()``: Silero offline as well; other ``VAD.load()``: the configured VAD;
* ``noise_cancellation.BVC()`` and friends: ``None`` (no noise filter offline);
* ``turn_detector`` models: a :class:`TurnDetectorModel`, which the session maps to the voice
  loop's endpointer (warned once).

Each cloud name is logged once (see :mod:`voxfsm.agents.inference`).
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
import types
from typing import Any

from voxfsm.agents import inference

# LiveKit plugin packages whose models have an offline stand-in here
KNOWN = frozenset(
    {
        "anthropic", "assemblyai", "aws", "azure", "baseten", "cartesia", "cerebras",
        "deepgram", "elevenlabs", "fireworks", "gladia", "google", "groq", "hume", "inworld",
        "lmnt", "minimax", "mistralai", "neuphonic", "nvidia", "openai", "resemble", "rime",
        "sarvam", "smallestai", "speechify", "speechmatics", "spitch", "together", "xai",
        "silero", "noise_cancellation", "turn_detector",
    }
)  # fmt: skip


class TurnDetectorModel:
    """Stands in for LiveKit's turn-detector models (``MultilingualModel()``...): passed as
    ``turn_detection=``, the voice loop's own endpointer decides when the user is done."""

    def __init__(self, *args: Any, **options: Any) -> None:
        self.options = options


class _Realtime:
    def __init__(self, provider: str) -> None:
        self._provider = provider

    def RealtimeModel(self, *, model: str = "realtime", **_: Any) -> Any:
        """A realtime (speech-to-speech) model offline: the text LLM inside the voice loop."""
        return inference.LLM(f"{self._provider}/{model}")


class _VADLoader:
    def __init__(self, provider: str) -> None:
        self._provider = provider

    def load(self, **_: Any) -> Any:
        return inference.VAD(model=self._provider)


class CloudPlugin(types.ModuleType):
    """One LiveKit plugin module, offline (see the module docstring)."""

    def __init__(self, provider: str) -> None:
        super().__init__(f"voxfsm.agents.plugins.{provider}")
        self.__path__: list[str] = []  # a package, so its submodules can be imported
        self.provider = provider
        self.realtime = _Realtime(provider)
        self.VAD = _VADLoader(provider)
        self.multilingual = types.SimpleNamespace(MultilingualModel=TurnDetectorModel)
        self.english = types.SimpleNamespace(EnglishModel=TurnDetectorModel)

    def LLM(self, *, model: str = "default", **_: Any) -> Any:
        return inference.LLM(f"{self.provider}/{model}")

    def STT(self, *, model: str = "default", **_: Any) -> Any:
        return inference.STT(f"{self.provider}/{model}")

    def TTS(self, *, model: str = "default", **_: Any) -> Any:
        return inference.TTS(f"{self.provider}/{model}")

    def BVC(self, **_: Any) -> None:
        """No noise cancellation offline."""
        return None

    BVCTelephony = NC = BVC

    MultilingualModel = EnglishModel = TurnDetectorModel

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(
            f"{self.provider}.{name} has no offline stand-in; use one of LLM, STT, TTS, "
            "VAD.load, realtime.RealtimeModel, or pass an offline instance"
        )


_made: dict[str, CloudPlugin] = {}


class _Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Makes ``import voxfsm.agents.plugins.openai`` and
    ``from voxfsm.agents.plugins.turn_detector.multilingual import ...`` work: the plugin
    modules are made on demand (``voxfsm.agents.plugins`` itself is a plain module)."""

    prefix = "voxfsm.agents.plugins."

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        if not fullname.startswith(self.prefix):
            return None
        parts = fullname[len(self.prefix) :].split(".")
        if parts[0] not in KNOWN or len(parts) > 2:
            return None
        return importlib.machinery.ModuleSpec(fullname, self, is_package=len(parts) == 1)

    def create_module(self, spec: Any) -> types.ModuleType:
        parts = spec.name[len(self.prefix) :].split(".")
        made = plugin(parts[0])
        if len(parts) == 1:
            return made
        sub = types.ModuleType(spec.name)
        sub.__dict__.update(
            {
                k: getattr(made, k)
                for k in ("MultilingualModel", "EnglishModel", "LLM", "STT", "TTS")
            }
        )
        return sub

    def exec_module(self, module: types.ModuleType) -> None:
        """Nothing to run: the module is complete when made."""


def install_finder() -> None:
    """Called when ``voxfsm.agents.plugins`` is imported (once)."""
    if not any(isinstance(f, _Finder) for f in sys.meta_path):
        sys.meta_path.append(_Finder())


def plugin(name: str) -> CloudPlugin:
    """The offline stand-in of LiveKit's ``livekit.plugins.<name>``."""
    if name not in KNOWN:
        raise AttributeError(f"no LiveKit plugin {name!r} is known offline")
    if name not in _made:
        _made[name] = CloudPlugin(name)
    return _made[name]
