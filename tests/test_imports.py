"""Importing the API is cheap and offline: no audio, model or HTTP client libraries load."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("openai", "httpx", "sounddevice", "numpy", "vosk", "pyttsx3", "faster_whisper", "graphviz")


def _loaded_after(statement: str) -> set[str]:
    code = f"import sys\n{statement}\nprint(' '.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def test_importing_the_agent_api_loads_no_audio_or_network_client() -> None:
    loaded = _loaded_after("import voxfsm.agents, voxfsm.agents.llm")
    assert "voxfsm.agents" in loaded
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


def test_importing_the_io_package_defers_its_engines() -> None:
    loaded = _loaded_after("import voxfsm.io")
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


def test_the_openai_client_is_not_imported_with_the_adapter_class() -> None:
    assert "openai" not in _loaded_after("from voxfsm.agents.llm import OpenAILLM")
