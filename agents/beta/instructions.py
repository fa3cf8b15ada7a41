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
    _common: str
    _whole: bool

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
        self._common = common
        self._whole = False  # variants are additions to the common text, not whole texts
        return self

    @property
    def common(self) -> str:
        """The text shared by every modality."""
        return self._common

    def render(self, modality: str | None = None) -> str:
        """The text for ``"audio"`` or ``"text"``: the common text, then that variant."""
        variant = self.audio if modality == "audio" else self.text if modality == "text" else None
        if variant is None:
            return self._common
        if self._whole or not self._common:
            return variant
        return f"{self._common}\n\n{variant}"

    @classmethod
    def resolve_template(cls, template: str, **values: Any) -> Instructions:
        """``template.format(**values)`` once per modality (values may be ``Instructions``);
        identical results collapse to plain common text."""

        def fill(modality: str | None) -> str:
            return template.format(
                **{
                    k: v.render(modality) if isinstance(v, Instructions) else v
                    for k, v in values.items()
                }
            )

        common, audio, text = fill(None), fill("audio"), fill("text")
        if audio == text:
            return Instructions(audio)
        out = Instructions(common, audio=audio, text=text)
        out._whole = True  # each variant is already the whole text
        return out


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
