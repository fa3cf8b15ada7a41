"""PortAudio device discovery for :mod:`voxfsm.io.audio.devices`: listing, choosing, errors."""

from __future__ import annotations

from types import ModuleType
from typing import Literal

import attrs

__all__ = [
    "AudioDeviceError",
    "DeviceInfo",
    "DeviceSpec",
    "describe",
    "list_devices",
    "open_error",
    "pick_format",
    "resolve",
    "sounddevice",
]

DeviceSpec = int | str | None

_FILES_HINT = (
    "To run without audio devices use files (`voxfsm console APP --input IN.wav "
    "--output OUT.wav`) or type (`voxfsm console APP --text`)."
)


class AudioDeviceError(RuntimeError):
    """No usable audio device; the message lists the devices there are and the alternatives."""


@attrs.frozen
class DeviceInfo:
    """One PortAudio device as ``list_devices()`` reports it."""

    index: int
    name: str
    hostapi: str
    max_input_channels: int
    max_output_channels: int
    default_samplerate: float
    default_input: bool
    default_output: bool

    def __str__(self) -> str:
        marks = ("<" if self.default_input else " ") + (">" if self.default_output else " ")
        return (
            f"{marks} {self.index:2d} {self.name} ({self.hostapi}: {self.max_input_channels} in, "
            f"{self.max_output_channels} out, {self.default_samplerate:g} Hz)"
        )


def sounddevice() -> ModuleType:
    try:
        import sounddevice
    except (ImportError, OSError) as exc:
        # sounddevice raises OSError when the PortAudio shared library is missing
        raise AudioDeviceError(
            f"audio devices are unavailable: {exc}. Install PortAudio "
            "(`apt-get install libportaudio2`, `brew install portaudio`) and "
            f"`pip install 'voxfsm[voice]'`. {_FILES_HINT}"
        ) from exc
    return sounddevice


def _device_infos(sd: ModuleType) -> list[DeviceInfo]:
    default_in, default_out = (int(i) for i in sd.default.device)
    hostapis = sd.query_hostapis()
    return [
        DeviceInfo(
            index=i,
            name=str(d["name"]),
            hostapi=str(hostapis[d["hostapi"]]["name"]),
            max_input_channels=int(d["max_input_channels"]),
            max_output_channels=int(d["max_output_channels"]),
            default_samplerate=float(d["default_samplerate"]),
            default_input=i == default_in,
            default_output=i == default_out,
        )
        for i, d in enumerate(sd.query_devices())
    ]


def list_devices() -> list[DeviceInfo]:
    """Every audio device PortAudio sees (empty when there is none)."""
    return _device_infos(sounddevice())


def describe(devices: list[DeviceInfo], kind: Literal["input", "output"]) -> str:
    usable = [d for d in devices if getattr(d, f"max_{kind}_channels") > 0]
    if not usable:
        return (
            f"There are no {kind} devices (no sound card, or no PulseAudio/PipeWire server "
            "reachable; check `pactl info`)."
        )
    names = ", ".join(f"{d.index} {d.name!r}" for d in usable)
    return f"Available {kind} devices: {names}; pick one by index or name."


def resolve(sd: ModuleType, device: DeviceSpec, kind: Literal["input", "output"]) -> DeviceInfo:
    """Find the device a user means: None = default, an index, or a (sub)string of a name."""
    devices = _device_infos(sd)
    usable = [d for d in devices if getattr(d, f"max_{kind}_channels") > 0]
    found: DeviceInfo | None = None
    if device is None:
        found = next((d for d in usable if getattr(d, f"default_{kind}")), None)
        # no default set but devices exist: the first one is better than failing
        found = found or (usable[0] if usable else None)
        wanted = f"default {kind} device"
    elif isinstance(device, int):
        found = next((d for d in usable if d.index == device), None)
        wanted = f"{kind} device {device}"
    else:
        needle = device.casefold()
        exact = [d for d in usable if d.name.casefold() == needle]
        partial = [d for d in usable if needle in d.name.casefold()]
        found = (exact or partial)[0] if exact or partial else None
        wanted = f"{kind} device matching {device!r}"
    if found is None:
        raise AudioDeviceError(f"no {wanted}. {describe(devices, kind)} {_FILES_HINT}")
    return found


def _supports(sd: ModuleType, kind: str, index: int, rate: float, channels: int) -> bool:
    check = sd.check_input_settings if kind == "input" else sd.check_output_settings
    try:
        check(device=index, samplerate=rate, channels=channels, dtype="int16")
    except Exception:
        return False
    return True


def pick_format(
    sd: ModuleType, info: DeviceInfo, kind: Literal["input", "output"], preferred: int
) -> tuple[int, int]:
    """(rate, channels) to open: ``preferred`` rate and mono when allowed, else device defaults."""
    max_channels = getattr(info, f"max_{kind}_channels")
    channels = (
        1 if _supports(sd, kind, info.index, info.default_samplerate, 1) else min(2, max_channels)
    )
    rate = (
        preferred
        if _supports(sd, kind, info.index, preferred, channels)
        else int(info.default_samplerate)
    )
    return rate, channels


def open_error(
    exc: Exception, info: DeviceInfo, kind: Literal["input", "output"], sd: ModuleType
) -> AudioDeviceError:
    return AudioDeviceError(
        f"cannot open {kind} device {info.index} {info.name!r}: {exc}. "
        f"{describe(_device_infos(sd), kind)} {_FILES_HINT}"
    )
