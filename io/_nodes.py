"""The voice loop's side of an agent's ``stt_node`` / ``tts_node`` overrides.

The node protocol and its defaults live in :mod:`voxfsm.agents.nodes`; here the loop feeds an
``stt_node`` one utterance of audio and reads its transcripts, and turns what a ``tts_node``
yields into clips it can play. Agents that do not override a node keep the loop's own path,
which does what the default node does (a recognizer stream per session; one clip per
sentence) with less overhead.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

from voxfsm.agents import Agent
from voxfsm.agents.nodes import (
    ModelSettings,
    SpeechEngines,
    SpeechEvent,
    SpeechEventType,
    node_items,
    speech_engines,
)
from voxfsm.io.sentences import split_first_clause, split_sentences
from voxfsm.io.tts.base import AudioClip

__all__ = ["AudioFeed", "NodeRecognition", "as_clip", "engines_for", "segment"]


def segment(buffer: str, first: bool) -> tuple[list[str], str]:
    """Sentences ready to speak; the first clause of a reply at once (nothing said yet)."""
    ready, rest = split_sentences(buffer)
    if not ready and first:
        ready, rest = split_first_clause(rest)
    return ready, rest


def engines_for(stt: Any, tts: Any) -> SpeechEngines:
    return SpeechEngines(stt=stt, tts=tts, segment=segment)


class AudioFeed:
    """One utterance's audio as an async iterator of PCM ``bytes``; ends at :meth:`close`."""

    def __init__(self) -> None:
        self._queue: asyncio.Queue[bytes | None] = asyncio.Queue()

    def put(self, pcm: bytes) -> None:
        self._queue.put_nowait(pcm)

    def close(self) -> None:
        self._queue.put_nowait(None)

    def __aiter__(self) -> AudioFeed:
        return self

    async def __anext__(self) -> bytes:
        item = await self._queue.get()
        if item is None:
            self._queue.put_nowait(None)  # stays ended for a second reader
            raise StopAsyncIteration
        return item


class NodeRecognition:
    """One utterance through ``agent.stt_node``: audio in as it arrives, transcript out."""

    def __init__(
        self, agent: Agent, engines: SpeechEngines, on_interim: Callable[[str], None]
    ) -> None:
        self.agent = agent
        self.feed = AudioFeed()
        self._engines = engines
        self._on_interim = on_interim
        self.task: asyncio.Task[str] = asyncio.ensure_future(self._run())

    async def _run(self) -> str:
        speech_engines.set(self._engines)  # this task's own context: the defaults see them
        finals: list[str] = []
        async for item in node_items(self.agent.stt_node(self.feed, ModelSettings())):
            if isinstance(item, str):
                finals.append(item)
                continue
            if not isinstance(item, SpeechEvent):
                raise TypeError(
                    f"stt_node yielded {type(item).__name__}; yield str (final text) or "
                    "voxfsm.agents.nodes.SpeechEvent"
                )
            text = item.alternatives[0].text if item.alternatives else ""
            if item.type == SpeechEventType.FINAL_TRANSCRIPT:
                finals.append(text)
            elif item.type == SpeechEventType.INTERIM_TRANSCRIPT and text:
                self._on_interim(text)
        return " ".join(t.strip() for t in finals if t.strip())


def as_clip(item: Any) -> AudioClip:
    """A clip a ``tts_node`` yielded, checked: the loop plays ``AudioClip`` objects."""
    if isinstance(item, AudioClip):
        return item
    samples, rate = getattr(item, "samples", None), getattr(item, "sample_rate", None)
    if samples is not None and isinstance(rate, int):
        return AudioClip(samples=samples, sample_rate=rate)
    raise TypeError(
        f"tts_node yielded {type(item).__name__}; yield voxfsm.io.AudioClip objects (mono "
        "int16 samples and a sample_rate), e.g. from Agent.default.tts_node or tts.synthesize()"
    )


async def tts_node_clips(
    agent: Agent, text: AsyncIterator[str], engines: SpeechEngines
) -> AsyncIterator[AudioClip]:
    """The clips of ``agent.tts_node`` for ``text``, checked, with the loop's engines in
    force for the defaults (the caller runs this in a task of its own)."""
    speech_engines.set(engines)
    async for item in node_items(agent.tts_node(text, ModelSettings())):
        yield as_clip(item) if not isinstance(item, AudioClip) else item
