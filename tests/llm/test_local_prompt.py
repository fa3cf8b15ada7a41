"""What ``LocalLLM`` sends and how it reads replies: the ChatML prompt with the tools in Qwen's
tool format, tool results, the words-or-call decision from the first token's probabilities,
the grammars per ``tool_choice``, and the call parser. No model is loaded here (the ``llama``
tier runs a real one)."""

from __future__ import annotations

import importlib.util
import json
from typing import Annotated, Literal

import pytest

from voxfsm.agents import Agent, ChatContext, FunctionCall, FunctionCallOutput, function_tool
from voxfsm.agents.llm._chatml import CALL_OPEN, Action, call_text, render
from voxfsm.agents.llm._grammar import MalformedReply, parse_arguments, parse_call


class Desk(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="You are the front desk.")

    @function_tool
    async def transfer_to_billing(self) -> None:
        """Transfer the caller to billing for questions about bills."""

    @function_tool
    async def add_to_order(
        self,
        item: Literal["pizza", "coffee"],
        quantity: Annotated[int, "How many"] = 1,
    ) -> str:
        """Add an item to the order."""
        return "ok"


def actions() -> list[Action]:
    return [Action.from_schema(t.schema()) for t in Desk().tools]


def test_tools_are_listed_as_json_signatures_in_qwens_tool_format():
    text = render(Desk().chat_ctx, actions())
    assert text.startswith("<|im_start|>system\nYou are the front desk.\n\n# Tools\n")
    listed = text.split("<tools>\n", 1)[1].split("\n</tools>", 1)[0].splitlines()
    first, second = (json.loads(line)["function"] for line in listed)
    assert first["name"] == "transfer_to_billing"
    assert first["description"] == "Transfer the caller to billing for questions about bills."
    assert second["parameters"]["properties"]["item"]["enum"] == ["pizza", "coffee"]
    assert "within <tool_call></tool_call> XML tags" in text
    assert text.endswith("<|im_start|>assistant\n")


def test_history_calls_are_tool_call_blocks_and_results_are_tool_responses():
    ctx = Desk().chat_ctx.copy()
    ctx.add_message(role="user", content="Two pizzas, and you've got my number")
    ctx.insert(
        FunctionCall(
            call_id="c1", name="add_to_order", arguments='{"item":"pizza",\n "quantity":2}'
        )
    )
    ctx.insert(
        FunctionCallOutput(
            call_id="c1", name="add_to_order", output="Added 2 pizza.", is_error=False
        )
    )
    ctx.add_message(role="assistant", content="Anything else?")
    text = render(ctx, actions())
    assert (
        "<|im_start|>user\nTwo pizzas, and you've got my number<|im_end|>\n"
        '<|im_start|>assistant\n<tool_call>\n{"name": "add_to_order", "arguments": '
        '{"item": "pizza", "quantity": 2}}\n</tool_call><|im_end|>\n'
        "<|im_start|>user\n<tool_response>\nAdded 2 pizza.\n</tool_response><|im_end|>\n"
        "<|im_start|>assistant\nAnything else?<|im_end|>\n"
    ) in text
    assert "&#39;" not in text  # no HTML escaping


def test_a_call_is_written_from_the_shared_opener():
    written = call_text("transfer_to_billing", "")
    assert written.startswith(CALL_OPEN)
    assert written == (
        '<tool_call>\n{"name": "transfer_to_billing", "arguments": {}}\n</tool_call>'
    )


def test_a_call_without_an_output_is_left_out_of_the_prompt():
    ctx = Desk().chat_ctx.copy()
    ctx.add_message(role="user", content="hi")
    ctx.insert(FunctionCall(call_id="c9", name="transfer_to_billing", arguments="{}"))
    assert "<|im_start|>assistant\n<tool_call>" not in render(ctx, actions())


def test_an_agent_without_tools_gets_plain_chatml():
    ctx = ChatContext()
    ctx.add_message(role="system", content="Be brief.")
    ctx.add_message(role="user", content="Hello")
    ctx.add_message(role="assistant", content="Hi!")
    assert render(ctx, None, prefix="") == (
        "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHello<|im_end|>\n"
        "<|im_start|>assistant\nHi!<|im_end|>\n<|im_start|>assistant\n"
    )


def test_ephemeral_instructions_come_last_asked_for_as_the_next_reply():
    ctx = Desk().chat_ctx.copy()
    ctx.add_message(role="system", content="Greet the caller.")
    assert render(ctx, actions()).endswith(
        "<|im_start|>system\nWrite your next reply to the caller; in it: Greet the caller."
        "<|im_end|>\n<|im_start|>assistant\n"
    )


def test_a_call_parses_into_a_known_name_and_reserialized_arguments():
    assert parse_call('transfer_to_billing", "arguments": {}}', actions()) == (
        "transfer_to_billing",
        "{}",
    )
    assert parse_call('add_to_order", "arguments": {"item":"pizza","quantity":2}}', actions()) == (
        "add_to_order",
        '{"item": "pizza", "quantity": 2}',
    )


def test_malformed_calls_are_reported_not_guessed():
    with pytest.raises(MalformedReply, match="names no known tool"):
        parse_call('lookup", "arguments": {"id": 1}}', actions())
    with pytest.raises(MalformedReply, match="not JSON"):
        parse_call('add_to_order", "arguments": {"item": "pizza"', actions())
    with pytest.raises(MalformedReply, match="not an object"):
        parse_arguments(actions()[1], "[1, 2]")


needs_llama = pytest.mark.skipif(
    importlib.util.find_spec("llama_cpp") is None,
    reason="the grammar uses llama.cpp's JSON-schema converter: run .ci/llama.sh",
)


@needs_llama
def test_argument_grammar_follows_the_json_schema():
    from voxfsm.agents.llm._grammar import arguments_grammar, takes_arguments

    grammar = arguments_grammar(actions()[1])
    assert '"\\"pizza\\""' in grammar and '"\\"coffee\\""' in grammar  # the enum, quoted
    assert takes_arguments(actions()[1]) and not takes_arguments(actions()[0])


class _Model:
    """A stand-in for a loaded model: a tiny vocabulary of text pieces."""

    def __init__(self, pieces: list[str]) -> None:
        self._pieces = pieces

    def n_vocab(self) -> int:
        return len(self._pieces)

    def detokenize(self, ids: list[int], special: bool = False) -> bytes:
        return "".join(self._pieces[i] for i in ids).encode()


def test_the_decision_weighs_the_mass_of_every_way_to_start_a_call():
    import numpy as np

    from voxfsm.agents.llm._decide import Vocabulary, call_log_odds

    vocab = Vocabulary(_Model(["Hello", "<", '{"', "To", " Sure", "I"]))
    # "Hello" is the single likeliest token, but "<", '{"' and "To" (of to_takeaway) together
    # outweigh all the words
    logits = np.log(np.array([0.3, 0.25, 0.2, 0.15, 0.05, 0.05]))
    assert call_log_odds(logits, vocab, ["to_takeaway"]) == pytest.approx(np.log(0.6 / 0.4))
    # without a tool whose name starts like "To", that token counts as words
    assert call_log_odds(logits, vocab, ["add_to_order"]) == pytest.approx(np.log(0.45 / 0.55))
