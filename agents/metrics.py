"""Metrics and usage in LiveKit's shapes: ``LLMMetrics``/``STTMetrics``/``TTSMetrics``/
``EOUMetrics``, ``UsageCollector`` and ``session.usage``.

voxfsm measures a voice turn as one ``MetricsEvent("voice_turn", values)`` (milliseconds from
the end of the user's speech to each stage).  :func:`expand` turns it into LiveKit's per-stage
payloads, so a ``metrics_collected`` handler written for LiveKit gets them as ``ev.metrics``
(differs: a *list* of payloads per turn, not one event per payload).  Offline models report
no token counts; usage counts what voxfsm can measure (TTS characters, STT audio seconds,
LLM requests and reply characters).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from typing import Any, Literal, Union

import attrs

log = logging.getLogger("voxfsm.agents.metrics")


@attrs.define
class LLMMetrics:
    label: str = ""
    request_id: str = ""
    timestamp: float = attrs.field(factory=time.time)
    duration: float = 0.0
    ttft: float = 0.0
    cancelled: bool = False
    completion_tokens: int = 0
    prompt_tokens: int = 0
    prompt_cached_tokens: int = 0
    total_tokens: int = 0
    tokens_per_second: float = 0.0
    speech_id: str | None = None
    type: Literal["llm_metrics"] = "llm_metrics"


@attrs.define
class STTMetrics:
    label: str = ""
    request_id: str = ""
    timestamp: float = attrs.field(factory=time.time)
    duration: float = 0.0
    audio_duration: float = 0.0
    streamed: bool = False
    type: Literal["stt_metrics"] = "stt_metrics"


@attrs.define
class TTSMetrics:
    label: str = ""
    request_id: str = ""
    timestamp: float = attrs.field(factory=time.time)
    ttfb: float = 0.0
    duration: float = 0.0
    audio_duration: float = 0.0
    cancelled: bool = False
    characters_count: int = 0
    streamed: bool = True
    speech_id: str | None = None
    type: Literal["tts_metrics"] = "tts_metrics"


@attrs.define
class EOUMetrics:
    timestamp: float = attrs.field(factory=time.time)
    end_of_utterance_delay: float = 0.0
    """Seconds from the end of the user's speech to the endpoint decision."""
    transcription_delay: float = 0.0
    """Seconds from the end of the user's speech to the final transcript."""
    on_user_turn_completed_delay: float = 0.0
    speech_id: str | None = None
    type: Literal["eou_metrics"] = "eou_metrics"


@attrs.define
class VADMetrics:
    label: str = ""
    timestamp: float = attrs.field(factory=time.time)
    idle_time: float = 0.0
    inference_duration_total: float = 0.0
    inference_count: int = 0
    type: Literal["vad_metrics"] = "vad_metrics"


AgentMetrics = Union[LLMMetrics, STTMetrics, TTSMetrics, EOUMetrics, VADMetrics]


@attrs.frozen
class MetricsCollectedEvent:
    """Metrics a stage reported (the ``metrics_collected`` event, LiveKit style)."""

    metrics: Any
    type: Literal["metrics_collected"] = "metrics_collected"


def expand(name: str, values: dict[str, float]) -> list[AgentMetrics]:
    """A voxfsm timing event as LiveKit payloads (seconds; stages that were not reached are
    left out)."""
    if name != "voice_turn":
        return []
    sec = {k.removesuffix("_ms"): v / 1000 for k, v in values.items()}
    out: list[AgentMetrics] = []
    if "endpoint" in sec:
        out.append(
            EOUMetrics(
                end_of_utterance_delay=sec["endpoint"],
                transcription_delay=sec.get("stt_final", sec["endpoint"]),
            )
        )
    if "stt_final" in sec:
        out.append(STTMetrics(label="stt", duration=sec["stt_final"] - sec.get("endpoint", 0.0)))
    if "llm_first_token" in sec:
        start = sec.get("stt_final", 0.0)
        out.append(
            LLMMetrics(
                label="llm",
                ttft=sec["llm_first_token"] - start,
                duration=sec.get("turn_done", sec["llm_first_token"]) - start,
            )
        )
    if "tts_first_audio" in sec:
        out.append(
            TTSMetrics(label="tts", ttfb=sec["tts_first_audio"] - sec.get("llm_first_token", 0.0))
        )
    return out


@attrs.define
class UsageSummary:
    llm_prompt_tokens: int = 0
    llm_prompt_cached_tokens: int = 0
    llm_completion_tokens: int = 0
    llm_requests: int = 0
    tts_characters_count: int = 0
    tts_audio_duration: float = 0.0
    stt_audio_duration: float = 0.0


def _flatten(metrics: Any) -> Iterable[Any]:
    if isinstance(metrics, (list, tuple)):
        for m in metrics:
            yield from _flatten(m)
    elif isinstance(metrics, MetricsCollectedEvent):
        yield from _flatten(metrics.metrics)
    elif hasattr(metrics, "values") and hasattr(metrics, "name"):  # voxfsm MetricsEvent
        yield from expand(metrics.name, metrics.values)
    else:
        yield metrics


class UsageCollector:
    """Adds up metrics payloads: ``collect(ev.metrics)`` in a handler, then ``get_summary()``."""

    def __init__(self) -> None:
        self._summary = UsageSummary()

    def __call__(self, metrics: Any) -> None:
        self.collect(metrics)

    def collect(self, metrics: Any) -> None:
        s = self._summary
        for m in _flatten(metrics):
            if isinstance(m, LLMMetrics):
                s.llm_requests += 1
                s.llm_prompt_tokens += m.prompt_tokens
                s.llm_prompt_cached_tokens += m.prompt_cached_tokens
                s.llm_completion_tokens += m.completion_tokens
            elif isinstance(m, TTSMetrics):
                s.tts_characters_count += m.characters_count
                s.tts_audio_duration += m.audio_duration
            elif isinstance(m, STTMetrics):
                s.stt_audio_duration += m.audio_duration

    def get_summary(self) -> UsageSummary:
        return attrs.evolve(self._summary)


@attrs.define
class LLMModelUsage:
    provider: str = ""
    model: str = ""
    input_tokens: int = 0
    output_tokens: int = 0
    requests: int = 0
    type: Literal["llm_usage"] = "llm_usage"


@attrs.define
class TTSModelUsage:
    provider: str = ""
    model: str = ""
    characters_count: int = 0
    audio_duration: float = 0.0
    type: Literal["tts_usage"] = "tts_usage"


@attrs.define
class STTModelUsage:
    provider: str = ""
    model: str = ""
    audio_duration: float = 0.0
    type: Literal["stt_usage"] = "stt_usage"


ModelUsage = Union[LLMModelUsage, TTSModelUsage, STTModelUsage]


@attrs.define
class AgentSessionUsage:
    """``session.usage``: what the session used so far, per kind of model."""

    model_usage: list[ModelUsage] = attrs.field(factory=list)


def session_usage(summary: UsageSummary, llm: Any, stt: Any, tts: Any) -> AgentSessionUsage:
    def name(obj: Any) -> tuple[str, str]:
        return type(obj).__name__, str(getattr(obj, "model", "") or "")

    out: list[ModelUsage] = []
    if llm is not None:
        provider, model = name(llm)
        out.append(
            LLMModelUsage(
                provider=provider,
                model=model,
                input_tokens=summary.llm_prompt_tokens,
                output_tokens=summary.llm_completion_tokens,
                requests=summary.llm_requests,
            )
        )
    if tts is not None:
        provider, model = name(tts)
        out.append(
            TTSModelUsage(
                provider=provider,
                model=model,
                characters_count=summary.tts_characters_count,
                audio_duration=summary.tts_audio_duration,
            )
        )
    if stt is not None:
        provider, model = name(stt)
        out.append(
            STTModelUsage(provider=provider, model=model, audio_duration=summary.stt_audio_duration)
        )
    return AgentSessionUsage(out)


def log_metrics(metrics: Any, *, logger: logging.Logger | None = None) -> None:
    """Log each payload on one line (what LiveKit's ``metrics.log_metrics`` is used for)."""
    for m in _flatten(metrics):
        fields = {
            k: (round(v, 3) if isinstance(v, float) else v)
            for k, v in attrs.asdict(m).items()
            if k not in ("type", "timestamp") and v not in (None, "", 0, 0.0)
        }
        (logger or log).info("%s %s", getattr(m, "type", type(m).__name__), fields)
