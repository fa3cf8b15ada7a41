"""What every text-to-speech engine offers the voice loop."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import attrs

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt


def _int16_mono(value: Any) -> npt.NDArray[np.int16]:
    import numpy as np

    array = np.asarray(value)
    if array.ndim != 1:
        raise ValueError(
            f"AudioClip samples must be mono (1-D), got shape {array.shape}; "
            "mix down channels first, e.g. samples.mean(axis=1)"
        )
    if array.dtype != np.int16:
        raise TypeError(
            f"AudioClip samples must be int16, got {array.dtype}; "
            "convert with (x * 32767).clip(-32768, 32767).astype(numpy.int16)"
        )
    return array


@attrs.frozen(eq=False)
class AudioClip:
    """Synthesized speech: mono int16 samples at ``sample_rate`` Hz."""

    samples: npt.NDArray[np.int16] = attrs.field(converter=_int16_mono)
    sample_rate: int = attrs.field(validator=attrs.validators.gt(0))

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return len(self.samples) / self.sample_rate

    def to_bytes(self) -> bytes:
        """Raw little-endian int16 PCM."""
        return self.samples.astype("<i2", copy=False).tobytes()

    def resample(self, sample_rate: int) -> AudioClip:
        """The same clip at another rate (needs ``soxr``, part of the ``voice`` extra)."""
        if sample_rate == self.sample_rate:
            return self
        try:
            import soxr
        except ImportError as exc:
            raise ImportError(
                "resampling needs soxr; run `pip install 'voxfsm[voice]'` or `pip install soxr`"
            ) from exc
        samples = soxr.resample(self.samples, self.sample_rate, sample_rate)
        return AudioClip(samples=samples, sample_rate=sample_rate)


@runtime_checkable
class TTS(Protocol):
    """A text-to-speech engine."""

    async def synthesize(self, text: str) -> AudioClip:
        """Render ``text`` to audio without blocking the event loop."""
        ...
