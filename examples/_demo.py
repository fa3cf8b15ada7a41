"""What the scripted demo LLMs of the examples have in common."""

from __future__ import annotations

import re
from typing import Union

from voxfsm.agents.llm import ScriptedCall, ScriptedLLM, ScriptedReply, reply

Rules = list[
    tuple[Union[str, "re.Pattern[str]"], Union[ScriptedReply, ScriptedCall, list[ScriptedCall]]]
]
"""Script rules in match order: exact ``str`` keys, then anchored tool-output patterns, then the
caller's phrases (a rule is matched against the last item the LLM is given)."""


def demo_llm(rules: Rules) -> ScriptedLLM:
    """A ``ScriptedLLM`` over ``rules`` that asks again when nothing matches."""
    return ScriptedLLM(rules, default=reply("Sorry, could you say that again?"))
