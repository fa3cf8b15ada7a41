"""The LLM judge: a check_intent tool call, forced, at temperature 0."""

from __future__ import annotations

import json

import pytest
from _llm_helpers import Desk

from voxfsm.agents import AgentSession
from voxfsm.agents.evals import judge_message
from voxfsm.agents.llm import OpenAILLM, ScriptedLLM, call, reply
from voxfsm.agents.llm.testing import ChatCompletionsServer


async def run_desk_turn(server: ChatCompletionsServer, answer: str):  # type: ignore[no-untyped-def]
    server.push(answer)
    async with AgentSession(llm=OpenAILLM(model="agent", base_url=server.url)) as s:
        await s.start(Desk())
        return await s.run(user_input="where is order 7?")


async def test_judge_passes_through_the_real_client(openai_server: ChatCompletionsServer) -> None:
    result = await run_desk_turn(openai_server, "Order 7 left our warehouse on Monday.")
    judge = OpenAILLM(model="judge", base_url=openai_server.url, temperature=0.8)
    openai_server.push(call("check_intent", success=True, reason="It says the order shipped."))
    await (
        result.expect.next_event()
        .is_message(role="assistant")
        .judge(judge, intent="tells the user that order 7 has shipped")
    )
    req = openai_server.chat_requests[-1]
    assert req.body["model"] == "judge"
    assert req.body["temperature"] == 0  # verdicts do not depend on sampling...
    assert judge.temperature == 0.8  # ...without changing the caller's model
    assert req.tool_names == ["check_intent"]
    assert req.tool_choice == {"type": "function", "function": {"name": "check_intent"}}
    params = req.tools[0]["function"]["parameters"]
    assert params["properties"]["success"]["type"] == "boolean"
    assert set(params["required"]) == {"success", "reason"}
    prompt = req.messages[-1]["content"]
    assert "tells the user that order 7 has shipped" in prompt
    assert "Order 7 left our warehouse on Monday." in prompt


async def test_a_negative_verdict_fails_with_the_judges_reason(
    openai_server: ChatCompletionsServer,
) -> None:
    result = await run_desk_turn(openai_server, "I like turtles.")
    openai_server.push(call("check_intent", success=False, reason="It never mentions the order."))
    judge = OpenAILLM(base_url=openai_server.url)
    with pytest.raises(AssertionError, match="It never mentions the order"):
        await (
            result.expect.next_event()
            .is_message(role="assistant")
            .judge(judge, intent="tells the user that order 7 has shipped")
        )


async def test_a_judge_that_gives_no_verdict_fails(openai_server: ChatCompletionsServer) -> None:
    openai_server.push(reply("Looks fine to me!"))
    ok, why = await judge_message(
        OpenAILLM(base_url=openai_server.url), "Hello", intent="greets the user"
    )
    assert not ok
    assert "did not call check_intent" in why and "Looks fine to me!" in why


async def test_an_unusable_verdict_fails(openai_server: ChatCompletionsServer) -> None:
    openai_server.push(call("check_intent", success="maybe", reason="hmm"))
    ok, why = await judge_message(
        OpenAILLM(base_url=openai_server.url), "Hello", intent="greets the user"
    )
    assert not ok and "unusable" in why and "success" in why


async def test_the_judge_works_with_scripted_llm() -> None:
    def verdict(ctx, tools):  # type: ignore[no-untyped-def]
        prompt = ctx.items[-1].text_content
        return call("check_intent", success="shipped" in prompt, reason=json.dumps(prompt[:12]))

    judge = ScriptedLLM(verdict)
    assert (await judge_message(judge, "It shipped.", intent="says it shipped"))[0] is True
    assert (await judge_message(judge, "No idea.", intent="gives a status"))[0] is False
    (request, _) = judge.requests
    assert request.tools == ("check_intent",) and request.tool_choice == "required"
