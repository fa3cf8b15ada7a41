"""The one internal audio format: everything is converted to it at the edges."""

from __future__ import annotations

SAMPLE_RATE = 16_000
"""Samples per second of every internal frame."""

FRAME_MS = 20
"""Duration of one internal frame; webrtcvad accepts 10, 20 or 30 ms."""

FRAME_SAMPLES = SAMPLE_RATE * FRAME_MS // 1000
"""Samples in one frame (mono, int16)."""

FRAME_BYTES = FRAME_SAMPLES * 2
