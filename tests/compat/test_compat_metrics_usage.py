"""metrics_collected payloads in LiveKit's shapes, UsageCollector and session.usage."""

from __future__ import annotations

import logging

import pytest

from voxfsm.agents import AgentSession, MetricsEvent, metrics
from voxfsm.agents.llm import ScriptedLLM
from voxfsm.agents.voice import MetricsCollectedEvent

TURN = {
    "endpoint_ms": 300.0,
    "stt_final_ms": 420.0,
    "llm_first_token_ms": 470.0,
    "tts_first_audio_ms": 520.0,
    "turn_done_ms": 900.0,
}


def test_a_voice_turn_reads_as_livekit_payloads() -> None:
    eou, stt, llm, tts = MetricsEvent("voice_turn", TURN).metrics
    assert isinstance(eou, metrics.EOUMetrics) and eou.end_of_utterance_delay == 0.3
    assert eou.transcription_delay == 0.42
    assert isinstance(stt, metrics.STTMetrics)
    assert isinstance(llm, metrics.LLMMetrics) and round(llm.ttft, 3) == 0.05
    assert isinstance(tts, metrics.TTSMetrics) and round(tts.ttfb, 3) == 0.05


def test_usage_collector_sums_what_handlers_give_it() -> None:
    collector = metrics.UsageCollector()
    collector.collect(metrics.TTSMetrics(characters_count=12, audio_duration=1.5))
    collector.collect(MetricsCollectedEvent(metrics.LLMMetrics(prompt_tokens=10)))
    collector(MetricsEvent("voice_turn", TURN).metrics)
    summary = collector.get_summary()
    assert (summary.tts_characters_count, summary.llm_prompt_tokens) == (12, 10)
    assert summary.llm_requests == 2 and summary.tts_audio_duration == 1.5


async def test_session_usage_counts_its_metrics_events() -> None:
    session = AgentSession(llm=ScriptedLLM({}))
    session.emit("metrics_collected", MetricsEvent("voice_turn", TURN))
    (llm_usage,) = session.usage.model_usage
    assert isinstance(llm_usage, metrics.LLMModelUsage)
    assert llm_usage.provider == "ScriptedLLM" and llm_usage.requests == 1


def test_log_metrics_writes_one_line_per_payload(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="voxfsm.agents.metrics"):
        metrics.log_metrics(MetricsEvent("voice_turn", TURN).metrics)
    assert len(caplog.records) == 4
