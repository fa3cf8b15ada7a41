"""The voice of each example agent, as plugin strings, in one table.

An agent given ``tts="pyttsx3:en-us+f3"`` resolves the string through the ``voxfsm.plugins``
entry points when it is constructed (no audio library is imported until something speaks).
Change a voice here; ``voxfsm.io.Pyttsx3TTS.voices()`` lists the installed ones.
"""

from __future__ import annotations

# espeak-ng variants: each agent of a workflow sounds different on a laptop with no models.
VOICES: dict[str, str] = {
    "restaurant.greeter": "pyttsx3:en-us+f3",
    "restaurant.reservation": "pyttsx3:en-us+m3",
    "restaurant.takeaway": "pyttsx3:en-gb+f4",
    "restaurant.checkout": "pyttsx3:en-gb+m4",
    "medical_triage.triage": "pyttsx3:en-us+f2",
    "medical_triage.support": "pyttsx3:en-us+m2",
    "medical_triage.billing": "pyttsx3:en-gb+f1",
}


def voice(key: str) -> str:
    """The ``tts=`` override for the agent named ``key`` in :data:`VOICES`."""
    return VOICES[key]
