"""What ``LocalLLM`` sends and how it reads replies: the ChatML prompt with tools as actions,
tool results, the grammar's alternatives per ``tool_choice``, and the reply parser.
No model is loaded here (the ``llama`` tier runs a real one)."""

from __future__ import annotations

import importlib.util
from typing import Annotated, Literal

import pytest

from voxfsm.agents import Agent, ChatContext, FunctionCall, FunctionCallOutput, function_tool
from voxfsm.agents.llm._chatml import Action, render
from voxfsm.agents.llm._grammar import TEXT, MalformedReply, Parsed, action_of, parse_reply


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


def test_tools_are_listed_as_actions_with_their_signature_and_description():
    text = render(Desk().chat_ctx, actions())
    assert text.startswith("<|im_start|>system\nYou are the front desk.\n\n")
    assert "Your tools:\n- transfer_to_billing {} — Transfer the caller to billing" in text
    assert '- add_to_order {"item": "pizza" | "coffee", "quantity": integer, optional}' in text
    assert "(quantity: How many)" in text
    assert text.endswith("<|im_start|>assistant\n")


def test_history_uses_the_action_format_and_tool_results_are_tool_responses():
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
        '<|im_start|>assistant\nadd_to_order {"item": "pizza", "quantity": 2}<|im_end|>\n'
        "<|im_start|>user\n<tool_response>\nadd_to_order: Added 2 pizza.\n</tool_response>"
        "<|im_end|>\n"
        "<|im_start|>assistant\nAnything else?<|im_end|>\n"
    ) in text
    assert "&#39;" not in text  # no HTML escaping


def test_a_call_without_an_output_is_left_out_of_the_prompt():
    ctx = Desk().chat_ctx.copy()
    ctx.add_message(role="user", content="hi")
    ctx.insert(FunctionCall(call_id="c9", name="transfer_to_billing", arguments="{}"))
    assert "transfer_to_billing {}<|im_end|>" not in render(ctx, actions())


def test_an_agent_without_tools_gets_plain_chatml():
    ctx = ChatContext()
    ctx.add_message(role="system", content="Be brief.")
    ctx.add_message(role="user", content="Hello")
    ctx.add_message(role="assistant", content="Hi!")
    assert render(ctx, None, prefix="") == (
        "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHello<|im_end|>\n"
        "<|im_start|>assistant\nHi!<|im_end|>\n<|im_start|>assistant\n"
    )


def test_ephemeral_instructions_come_last_as_a_system_turn():
    ctx = Desk().chat_ctx.copy()
    ctx.add_message(role="system", content="Greet the caller.")
    assert render(ctx, actions()).endswith(
        "<|im_start|>system\nGreet the caller.<|im_end|>\n<|im_start|>assistant\n"
    )


@pytest.mark.parametrize(
    ("output", "parsed"),
    [
        ("Hello there!", Parsed(text="Hello there!")),
        ("transfer you now", Parsed(text="transfer you now")),
        ("transfer_to_billing {}", Parsed(call=("transfer_to_billing", "{}"))),
        (
            'add_to_order {"item":"pizza","quantity":2}',
            Parsed(call=("add_to_order", '{"item": "pizza", "quantity": 2}')),
        ),
    ],
)
def test_replies_parse_into_text_or_one_call(output, parsed):
    assert parse_reply(output, actions()) == parsed


def test_malformed_replies_are_reported_not_guessed():
    with pytest.raises(MalformedReply, match="names no known tool"):
        parse_reply('lookup {"id": 1}', actions())
    with pytest.raises(MalformedReply, match="not JSON"):
        parse_reply('add_to_order {"item": "pizza"', actions())


def test_a_reply_is_known_to_be_words_as_soon_as_it_leaves_every_tool_name():
    acts = actions()
    assert action_of("transfer_to", acts) is None  # could still be the call
    assert action_of("transfer_to_billing ", acts) == "transfer_to_billing"
    assert action_of("Sure", acts) == TEXT  # streamed at once
    assert action_of("trans", acts) is None and action_of("transit", acts) == TEXT


needs_llama = pytest.mark.skipif(
    importlib.util.find_spec("llama_cpp") is None,
    reason="the grammar uses llama.cpp's JSON-schema converter: run .ci/llama.sh",
)


@needs_llama
def test_the_grammar_offers_words_and_every_tool_under_auto():
    from voxfsm.agents.llm._grammar import build_grammar

    root = build_grammar(actions(), say=True).splitlines()[0]
    assert root.startswith("root ::= text | ")
    assert '"transfer_to_billing " args-0' in root and '"add_to_order " args-1' in root


@needs_llama
def test_required_drops_say_and_a_named_choice_keeps_only_that_tool():
    from voxfsm.agents.llm._grammar import build_grammar

    required = build_grammar(actions(), say=False).splitlines()[0]
    assert "text" not in required and "transfer_to_billing" in required
    named = build_grammar(actions(), say=False, only="add_to_order").splitlines()[0]
    assert named == 'root ::= "add_to_order " args-0'
    with pytest.raises(ValueError, match="not among the tools"):
        build_grammar(actions(), say=False, only="nope")


@needs_llama
def test_argument_grammar_follows_the_json_schema():
    from voxfsm.agents.llm._grammar import build_grammar

    grammar = build_grammar(actions(), say=False, only="add_to_order")
    assert '"\\"pizza\\""' in grammar and '"\\"coffee\\""' in grammar  # the enum, quoted


class _Tokenizer:
    """Tokenizes a tool name into one token per character (id = code point)."""

    def tokenize(self, text: bytes, add_bos: bool = False, special: bool = False) -> list[int]:
        return list(text)


def test_tool_bias_raises_the_tools_first_tokens_at_the_first_position_only():
    import numpy as np

    from voxfsm.agents.llm.local import _first_token_bias

    bias = _first_token_bias(_Tokenizer(), actions(), at=3, bias=1.5)
    first = np.zeros(200, dtype=np.float32)
    bias([1, 2, 3], first)
    assert first[ord("t")] == first[ord("a")] == 1.5  # transfer_to_billing, add_to_order
    assert np.count_nonzero(first) == 2
    later = np.zeros(200, dtype=np.float32)
    bias([1, 2, 3, 4], later)
    assert not later.any()
