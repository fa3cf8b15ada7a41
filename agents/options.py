"""LiveKit constructor options that ``AgentSession()`` and ``Agent()`` accept, in one table.

Code written for LiveKit passes turn-taking and cloud settings to these constructors.  Every
option listed here is accepted (never a ``TypeError``) and stored on ``session.options`` /
``agent.options``; the table says what each one means offline.  Options with no offline
meaning log one warning per process, naming the option, then have no effect.  A name that is
in no table is a typo and still fails, naming the closest known options.
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Mapping
from typing import Any

import attrs

log = logging.getLogger("voxfsm.agents")

_warned: set[str] = set()

# meaning of each option offline; "" marks an option that has no effect offline (warned once)
SESSION_OPTIONS: dict[str, str] = {
    "turn_detection": (
        '"vad" or "stt": the voice loop\'s own endpointer (VAD + silence); a turn-detector '
        "model object is accepted and the endpointer is used instead"
    ),
    "turn_handling": (
        "a TurnHandlingOptions-like object or dict; its endpointing/interruption fields are "
        "read like the flat options below"
    ),
    "min_endpointing_delay": "seconds of silence that end a user turn (voice loop end_silence_ms)",
    "max_endpointing_delay": (
        "seconds of silence that end a turn whose transcript trails off, with adaptive "
        "endpointing (voice loop max_end_silence_ms)"
    ),
    "allow_interruptions": "False: user speech never cuts the agent off (no barge-in)",
    "min_interruption_duration": "seconds of user speech during playout that count as barge-in",
    "min_interruption_words": "",
    "discard_audio_if_uninterruptible": "",
    "false_interruption_timeout": "",
    "resume_false_interruption": "",
    "agent_false_interruption_timeout": "",
    "preemptive_generation": (
        "True: the voice loop asks for the reply (and synthesizes its first sentence) on the "
        "early transcript in the silence before the endpoint, drops it when speech resumes "
        "or the final transcript differs (voice loop preemptive; voxfsm.agents.preemptive)"
    ),
    "user_away_timeout": "seconds of silence before user_state becomes 'away' (voice loop)",
    "use_tts_aligned_transcript": "",
    "tts_text_transforms": "",
    "min_consecutive_speech_delay": "",
    "expressive": "",
    "video_sampler": "",
    "aec_warmup_duration": "",
    "ivr_detection": "",
    "transcription_timeout": "",
    "session_close_transcript_timeout": "",
    "conn_options": "",
    "loop": "",
    "stt_context_options": "",
    "keyterms_options": "",
    "tool_handling": "",
    "mcp_servers": "",
}

AGENT_OPTIONS: dict[str, str] = {
    name: SESSION_OPTIONS[name]
    for name in (
        "turn_detection",
        "turn_handling",
        "min_endpointing_delay",
        "max_endpointing_delay",
        "tool_handling",
        "expressive",
        "min_consecutive_speech_delay",
        "use_tts_aligned_transcript",
        "mcp_servers",
    )
}

START_OPTIONS: dict[str, str] = {
    "room": "ignored: there is no room offline; the text console or voice loop is the I/O",
    "room_input_options": "ignored (room I/O)",
    "room_output_options": "ignored (room I/O)",
    "room_options": "ignored (room I/O)",
    "record": "ignored: write the call with the voice loop's WAV sink instead",
}


@attrs.define
class TurnOptions:
    """The options that still mean something offline, in the units the voice loop uses."""

    end_silence_ms: int | None = None
    max_end_silence_ms: int | None = None
    min_interruption_ms: int | None = None
    allow_interruptions: bool | None = None
    preemptive_generation: bool | None = None
    user_away_timeout: float | None = None
    turn_detection: Any = None
    extra: dict[str, Any] = attrs.field(factory=dict)
    """Every option as passed (including those with no offline effect)."""


def _ms(seconds: Any) -> int | None:
    return None if seconds is None else round(float(seconds) * 1000)


def _flatten(options: Mapping[str, Any]) -> dict[str, Any]:
    """``turn_handling=`` (object or dict) contributes its fields like flat options."""
    flat = {k: v for k, v in options.items() if k != "turn_handling"}
    handling = options.get("turn_handling")
    if handling is None:
        return flat
    fields = handling if isinstance(handling, Mapping) else vars(handling)
    for key, value in fields.items():
        if isinstance(value, Mapping) or (hasattr(value, "__dict__") and not callable(value)):
            # nested groups (endpointing=..., interruption=...) hold the same names
            inner = value if isinstance(value, Mapping) else vars(value)
            for k, v in inner.items():
                flat.setdefault(_NESTED.get(k, k), v)
        else:
            flat.setdefault(key, value)
    return flat


# LiveKit's nested turn-handling fields, under the flat names of this table
_NESTED = {
    "min_delay": "min_endpointing_delay",
    "max_delay": "max_endpointing_delay",
    "min_duration": "min_interruption_duration",
    "enabled": "allow_interruptions",
}


def accept(owner: str, options: Mapping[str, Any], table: Mapping[str, str]) -> TurnOptions:
    """Check ``options`` against ``table``; warn once for those with no offline meaning."""
    if not options:  # every agent built on a handoff passes none
        return TurnOptions()
    for name, value in options.items():
        if name not in table:
            close = difflib.get_close_matches(name, list(table), n=3)
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            raise TypeError(f"{owner}() got an unexpected keyword argument {name!r}{hint}")
        if not table[name] and value is not None and name not in _warned:
            _warned.add(name)
            log.warning("%s(%s=...) has no offline meaning in voxfsm and is ignored", owner, name)
    flat = _flatten(options)
    detection = flat.get("turn_detection")
    if detection is not None and not isinstance(detection, str) and "turn_detection" not in _warned:
        _warned.add("turn_detection")
        log.warning(
            "%s(turn_detection=%s): no turn-detector model offline; the voice loop's "
            "VAD endpointer decides when the user is done",
            owner,
            type(detection).__name__,
        )
    allow = flat.get("allow_interruptions")
    return TurnOptions(
        end_silence_ms=_ms(flat.get("min_endpointing_delay")),
        max_end_silence_ms=_ms(flat.get("max_endpointing_delay")),
        min_interruption_ms=_ms(flat.get("min_interruption_duration")),
        allow_interruptions=None if allow is None else bool(allow),
        preemptive_generation=flat.get("preemptive_generation"),
        user_away_timeout=flat.get("user_away_timeout"),
        turn_detection=detection,
        extra=dict(options),
    )


def describe(table: Mapping[str, str] = SESSION_OPTIONS) -> str:
    """The table as text (for docs and ``help()``)."""
    return "\n".join(
        f"{k}: {v or 'no offline meaning (warned once, ignored)'}" for k, v in table.items()
    )
