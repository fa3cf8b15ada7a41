"""``beta.Instructions`` and ``beta.workflows.WorkflowInstructions``.

``Instructions`` is a ``str`` (its common text) that also keeps LiveKit's ``audio``/``text``
variants.  ``WorkflowInstructions`` customizes a prebuilt task's instructions by section:
``persona`` (who the assistant is; replaces the task's own opening) and ``extra`` (added at
the end); the task's own rules stay in between.
"""

from __future__ import annotations

from typing import Any, TypeVar

from voxfsm.agents.plugins import NOT_GIVEN

_I = TypeVar("_I", bound="Instructions")


class Instructions(str):
    """Instructions with variants per modality; the text itself is the common part.

    voxfsm sends the common text whatever the modality (differs: LiveKit renders the
    ``audio`` or ``text`` variant per turn)."""

    audio: str | None
    text: str | None

    def __new__(
        cls: type[_I],
        common: str = "",
        *,
        audio: str | None = None,
        text: str | None = None,
        **_: Any,
    ) -> _I:
        self = str.__new__(cls, common or audio or "")
        self.audio = audio
        self.text = text
        return self


class WorkflowInstructions(Instructions):
    """Sections of a prebuilt task's instructions: ``persona`` and ``extra``; a section left
    ``NOT_GIVEN`` keeps the task's default, ``""`` removes it."""

    persona: Any
    extra: str

    def __new__(
        cls,
        audio: str = "",
        *,
        text: str | None = None,
        persona: Any = NOT_GIVEN,
        extra: str = "",
        **_: Any,
    ) -> WorkflowInstructions:
        self = super().__new__(cls, audio, audio=audio or None, text=text)
        self.persona = persona
        self.extra = str(extra or "")
        return self

    def resolve(self, *, persona: str, rules: str, extra: str = "") -> str:
        """The full text: this object's persona (or ``persona``), ``rules``, then the extras."""
        chosen = persona if self.persona is NOT_GIVEN else str(self.persona)
        return "\n".join(p.strip() for p in (chosen, rules, self.extra, extra) if p and p.strip())


def task_instructions(given: Any, *, persona: str, rules: str, extra: str = "") -> str:
    """A prebuilt task's instructions: its own (``persona`` then ``rules`` then ``extra``),
    customized by a ``WorkflowInstructions``, or replaced by any other text given."""
    if isinstance(given, WorkflowInstructions):
        return given.resolve(persona=persona, rules=rules, extra=extra)
    if given is NOT_GIVEN or given is None:
        return "\n".join(p.strip() for p in (persona, rules, extra) if p and p.strip())
    return "\n".join(p.strip() for p in (str(given), extra) if p and p.strip())
