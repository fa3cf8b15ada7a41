"""``@function_tool``: schemas from type hints, lax validation, handoff declarations, tool lists."""

from __future__ import annotations

import dataclasses
import enum
import json
import logging
from typing import Annotated, Any, Literal

import pytest

from voxfsm.agents import Agent, AgentSession, RunContext, function_tool
from voxfsm.agents.llm import ScriptedLLM, call, reply
from voxfsm.fsm.checks import check_graph
from voxfsm.fsm.graph import build_graph


def params(tool: Any) -> dict[str, Any]:
    schema: dict[str, Any] = tool.schema()
    return schema["parameters"]


def tool_named(agent: Agent, name: str) -> Any:
    return next(t for t in agent.tools if t.name == name)


# --------------------------------------------------------------------------- a kitchen


class Crust(enum.Enum):
    THIN = "thin"
    DEEP = "deep"


received: list[dict[str, Any]] = []


class Kitchen(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="kitchen")

    @function_tool
    async def order_pizza(
        self,
        context: RunContext,
        topping: Annotated[str, "the one topping on the pizza"],
        crust: Crust,
        size: Literal["small", "medium", "large"] = "medium",
        count: int = 1,
        note: str | None = None,
    ) -> str:
        """Order a pizza for the caller.

        The kitchen closes at ten.

        Args:
            count: how many pizzas of this kind
            note: anything the cook should know
        """
        received.append(
            {"topping": topping, "crust": crust, "size": size, "count": count, "note": note}
        )
        return "ordered"

    @function_tool
    async def spice(self, level: Spice) -> str:  # a forward reference to a later class
        """Set the spice level."""
        received.append({"level": level})
        return "spiced"

    @function_tool(name="call_manager", description="Ask for the manager.")
    async def _manager(self, urgent: bool) -> str:
        received.append({"urgent": urgent})
        return "coming"


class Spice(enum.Enum):
    MILD = 1
    HOT = 3


@pytest.fixture(autouse=True)
def _clear() -> None:
    received.clear()


def test_schema_reads_types_descriptions_enums_and_defaults() -> None:
    tool = tool_named(Kitchen(), "order_pizza")
    p = params(tool)
    props = p["properties"]

    assert set(props) == {"topping", "crust", "size", "count", "note"}
    assert props["topping"]["type"] == "string"
    assert props["topping"]["description"] == "the one topping on the pizza"
    assert props["crust"]["enum"] == ["thin", "deep"]
    assert props["size"]["enum"] == ["small", "medium", "large"]
    assert props["count"]["type"] == "integer"
    assert props["count"]["description"] == "how many pizzas of this kind"
    assert props["note"]["description"] == "anything the cook should know"
    assert sorted(p["required"]) == ["crust", "topping"]
    assert p["type"] == "object"


def test_description_comes_from_the_docstring_without_its_args_section() -> None:
    schema = tool_named(Kitchen(), "order_pizza").schema()
    assert schema["name"] == "order_pizza"
    assert "Order a pizza for the caller." in schema["description"]
    assert "closes at ten" in schema["description"]
    assert "Args" not in schema["description"]
    assert "how many pizzas" not in schema["description"]


def test_run_context_is_never_part_of_the_schema_whatever_its_name() -> None:
    @function_tool
    async def where(here: RunContext[Any], city: str) -> str:
        """Where is it."""
        return city

    assert set(params(where)["properties"]) == {"city"}
    assert "context" not in params(tool_named(Kitchen(), "order_pizza"))["properties"]


def test_name_and_description_overrides() -> None:
    tool = tool_named(Kitchen(), "call_manager")
    assert tool.schema()["description"] == "Ask for the manager."
    assert params(tool)["properties"]["urgent"]["type"] == "boolean"


def test_forward_reference_to_a_later_enum_resolves() -> None:
    assert params(tool_named(Kitchen(), "spice"))["properties"]["level"]["enum"] == [1, 3]


# --------------------------------------------------------------------------- validation


def kitchen_llm(**arguments: Any) -> ScriptedLLM:
    return ScriptedLLM(
        {"order": call("order_pizza", **arguments), "hot": call("spice", level=3)},
        default=reply("ok"),
    )


async def test_numeric_strings_fill_ints_and_enum_values_become_members() -> None:
    llm = kitchen_llm(topping="ham", crust="deep", count="12")
    async with AgentSession(llm=llm) as session:
        await session.start(Kitchen())
        result = await session.run(user_input="order")
        result.expect.next_event().is_function_call(name="order_pizza")
        result.expect.next_event().is_function_call_output(output="ordered", is_error=False)
    assert received == [
        {"topping": "ham", "crust": Crust.DEEP, "size": "medium", "count": 12, "note": None}
    ]


async def test_null_for_a_parameter_with_a_default_means_the_default() -> None:
    llm = kitchen_llm(topping="ham", crust="thin", size=None, count=None, note=None)
    async with AgentSession(llm=llm) as session:
        await session.start(Kitchen())
        await session.run(user_input="order")
    assert received == [
        {"topping": "ham", "crust": Crust.THIN, "size": "medium", "count": 1, "note": None}
    ]


@pytest.mark.parametrize(
    ("arguments", "problem"),
    [
        ({"topping": "ham", "crust": "thin", "count": "very"}, "count"),
        ({"topping": "ham", "crust": "stuffed"}, "crust"),
        ({"topping": "ham", "crust": "thin", "size": "huge"}, "size"),
        ({"topping": "ham", "crust": "thin", "extra_cheese": True}, "extra_cheese"),
        ({"topping": None, "crust": "thin"}, "topping"),
    ],
    ids=["word-for-int", "bad-enum", "bad-literal", "unknown-name", "null-required"],
)
async def test_invalid_arguments_name_the_problem_and_nothing_runs(
    arguments: dict[str, Any], problem: str
) -> None:
    async with AgentSession(llm=kitchen_llm(**arguments)) as session:
        await session.start(Kitchen())
        result = await session.run(user_input="order")
        out = result.expect.next_event(type="function_call_output").event().item
        assert out.is_error
        assert problem in out.output
    assert received == []


async def test_arguments_that_are_not_json_are_an_error() -> None:
    from voxfsm.agents.llm import ScriptedCall

    llm = ScriptedLLM({"order": ScriptedCall("order_pizza", "{not json")}, default=reply("ok"))
    async with AgentSession(llm=llm) as session:
        await session.start(Kitchen())
        result = await session.run(user_input="order")
        out = result.expect.next_event(type="function_call_output").event().item
        assert out.is_error
        assert "JSON" in out.output
    assert received == []


# --------------------------------------------------------------------------- raw schema


RAW = {
    "name": "lookup_weather",
    "description": "Weather for a city.",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}


class Forecaster(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="forecaster")

    @function_tool(raw_schema=RAW)
    async def weather(self, raw_arguments: dict[str, Any], ctx: RunContext) -> str:
        received.append(raw_arguments)
        return f"sunny in {raw_arguments['city']}"


async def test_raw_schema_is_sent_as_is_and_the_tool_gets_the_raw_arguments() -> None:
    agent = Forecaster()
    tool = agent.tools[0]
    assert tool.name == "lookup_weather"
    assert tool.schema()["parameters"] == RAW["parameters"]
    assert tool.schema()["description"] == "Weather for a city."

    llm = ScriptedLLM({"weather?": call("lookup_weather", city="Oslo")}, default=reply("ok"))
    async with AgentSession(llm=llm) as session:
        await session.start(agent)
        result = await session.run(user_input="weather?")
        result.expect.next_event().is_function_call(name="lookup_weather")
        result.expect.next_event().is_function_call_output(output="sunny in Oslo")
    assert received == [{"city": "Oslo"}]


# --------------------------------------------------------------------------- tool lists


@function_tool
async def tell_time() -> str:
    """What time is it."""
    return "noon"


@function_tool
async def end_call() -> None:
    """Hang up."""


class Base(Agent):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(instructions="base", **kwargs)

    @function_tool
    async def alpha(self) -> str:
        """First tool."""
        return "base alpha"

    @function_tool
    async def beta(self) -> str:
        """Second tool."""
        return "base beta"


class Derived(Base):
    @function_tool
    async def gamma(self) -> str:
        """Third tool."""
        return "derived gamma"

    @function_tool
    async def alpha(self) -> str:
        """First tool, reworked."""
        return "derived alpha"


def test_tools_are_methods_in_definition_order_then_free_functions() -> None:
    agent = Base(tools=[tell_time])
    assert [t.name for t in agent.tools] == ["alpha", "beta", "tell_time"]


def test_a_subclass_overrides_a_tool_by_attribute_name() -> None:
    agent = Derived()
    names = [t.name for t in agent.tools]
    assert sorted(names) == ["alpha", "beta", "gamma"]
    assert names.index("alpha") < names.index("gamma")
    assert tool_named(agent, "alpha").schema()["description"] == "First tool, reworked."


async def test_the_overriding_tool_is_the_one_that_runs() -> None:
    llm = ScriptedLLM({"a": call("alpha")}, default=reply("ok"))
    async with AgentSession(llm=llm) as session:
        await session.start(Derived())
        result = await session.run(user_input="a")
        result.expect.next_event(type="function_call_output").is_function_call_output(
            output="derived alpha"
        )


async def test_the_llm_sees_agent_tools_then_free_tools_then_session_tools() -> None:
    llm = ScriptedLLM({}, default=reply("ok"))
    async with AgentSession(llm=llm, tools=[end_call]) as session:
        await session.start(Base(tools=[tell_time]))
        await session.run(user_input="hi")
    assert llm.requests[0].tools == ("alpha", "beta", "tell_time", "end_call")


async def test_a_session_tool_can_be_called_by_any_agent() -> None:
    llm = ScriptedLLM({"bye": call("end_call")}, default=reply("ok"))
    async with AgentSession(llm=llm, tools=[end_call]) as session:
        await session.start(Base())
        result = await session.run(user_input="bye")
        result.expect.next_event().is_function_call(name="end_call")
        result.expect.next_event().is_function_call_output(output="", is_error=False)


def test_duplicate_tool_names_fail_at_construction() -> None:
    @function_tool(name="alpha")
    async def another_alpha() -> str:
        """Clashes with Base.alpha."""
        return "x"

    with pytest.raises(ValueError, match="alpha"):
        Base(tools=[another_alpha])

    class TwoNames(Agent):
        def __init__(self) -> None:
            super().__init__(instructions="two")

        @function_tool(name="same")
        async def one(self) -> None:
            """One."""

        @function_tool(name="same")
        async def two(self) -> None:
            """Two."""

    with pytest.raises(ValueError, match="same"):
        TwoNames()

    with pytest.raises(ValueError, match="tell_time"):
        AgentSession(tools=[tell_time, tell_time])


# --------------------------------------------------------------------------- handoff declarations


class Bar(Agent):
    terminal = True

    def __init__(self) -> None:
        super().__init__(instructions="bar")


class Spa(Agent):
    terminal = True

    def __init__(self) -> None:
        super().__init__(instructions="spa")


class Lobby(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="lobby")

    @function_tool
    async def to_bar(self) -> Bar:
        """Go to the bar."""
        return Bar()

    @function_tool
    async def to_spa(self) -> tuple[Spa, str]:
        """Go to the spa."""
        return Spa(), "enjoy"

    @function_tool
    async def maybe_pool(self, open_now: bool) -> Pool | str | None:
        """The pool, if it is open."""
        return Pool() if open_now else "closed"

    @function_tool(handoff=[Bar, Spa])
    async def anywhere(self, place: str) -> Agent:
        """Go to the bar or the spa."""
        return Bar() if place == "bar" else Spa()

    @function_tool
    async def sneak_to_pool(self) -> Agent:
        """Names only the base class, goes to the pool."""
        return Pool()

    @function_tool
    async def wander(self):  # type: ignore[no-untyped-def]
        """No annotation at all, goes to the pool."""
        return Pool()

    @function_tool
    async def conjure(self):  # type: ignore[no-untyped-def]
        """Builds its target from a table at run time: nothing to see in the source."""
        return _PLACES[len(_PLACES) - 1]()


class Pool(Agent):
    terminal = True

    def __init__(self) -> None:
        super().__init__(instructions="pool")


_PLACES: list[type[Agent]] = [Bar, Spa, Pool]


@pytest.mark.parametrize("tool", ["wander", "sneak_to_pool"])
async def test_a_handoff_inferred_from_the_tool_source_does_not_warn(
    tool: str, caplog: pytest.LogCaptureFixture
) -> None:
    # `return Pool()` in the body is enough (what unmodified LiveKit code does)
    llm = ScriptedLLM({"swim": call(tool)}, default=reply("ok"))
    async with AgentSession(llm=llm) as session:
        await session.start(Lobby())
        with caplog.at_level(logging.WARNING):
            result = await session.run(user_input="swim")
        result.expect.contains_agent_handoff(new_agent_type=Pool)
    assert not any(tool in r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING)
    assert getattr(Lobby, tool).inferred_targets == (Pool,)


def test_return_annotations_and_handoff_argument_declare_the_edges() -> None:
    graph = build_graph(Lobby)
    edges = {(e.source, e.tool, e.target) for e in graph.edges if e.declared}
    assert edges >= {
        ("lobby", "to_bar", "bar"),
        ("lobby", "to_spa", "spa"),
        ("lobby", "maybe_pool", "pool"),
        ("lobby", "anywhere", "bar"),
        ("lobby", "anywhere", "spa"),
    }
    # tools that declare nothing still get their edges, read from their source
    inferred = {(e.tool, e.origin) for e in graph.edges if e.tool in ("sneak_to_pool", "wander")}
    assert inferred == {("sneak_to_pool", "inferred"), ("wander", "inferred")}


def test_the_base_agent_class_in_a_return_annotation_names_no_target() -> None:
    # `-> Agent` says "some agent", not "a plain Agent(...) with id default_agent"
    graph = build_graph(Lobby)
    assert "default_agent" not in {e.target for e in graph.edges}
    assert "default_agent" not in graph.states.ids


@pytest.mark.parametrize("tool", ["conjure"])
async def test_an_undeclared_handoff_still_happens_but_warns(
    tool: str, caplog: pytest.LogCaptureFixture
) -> None:
    llm = ScriptedLLM({"swim": call(tool)}, default=reply("ok"))
    async with AgentSession(llm=llm) as session:
        await session.start(Lobby())
        with caplog.at_level(logging.WARNING):
            result = await session.run(user_input="swim")
        result.expect.contains_agent_handoff(new_agent_type=Pool)
        assert session.current_agent.id == "pool"
    assert any(r.levelno == logging.WARNING and tool in r.getMessage() for r in caplog.records)
    observed = build_graph(session)
    undeclared = [e for e in observed.edges if e.tool == tool and not e.declared]
    assert [(e.source, e.target) for e in undeclared] == [("lobby", "pool")]


def test_an_unresolvable_return_annotation_is_a_graph_finding_not_a_crash() -> None:
    class Hidden(Agent):
        def __init__(self) -> None:
            super().__init__(instructions="hidden")

    class Door(Agent):
        def __init__(self) -> None:
            super().__init__(instructions="door")

        @function_tool
        async def through(self) -> Hidden:  # a local class: cannot be resolved by name
            """Go through the door."""
            return Hidden()

    assert [t.name for t in Door().tools] == ["through"]  # construction still works
    findings = [str(f) for f in check_graph(build_graph(Door))]
    assert any("through" in f and "Hidden" in f for f in findings), findings


# --------------------------------------------------------------------------- update_tools


async def test_update_tools_replaces_what_the_llm_may_call() -> None:
    llm = ScriptedLLM({"time?": call("tell_time"), "a": call("alpha")}, default=reply("ok"))
    async with AgentSession(llm=llm) as session:
        agent = Base()
        await session.start(agent)
        await agent.update_tools([*agent.tools, tell_time])
        result = await session.run(user_input="time?")
        result.expect.contains_function_call_output(output="noon", is_error=False)
        assert llm.requests[-2].tools == ("alpha", "beta", "tell_time")

        await agent.update_tools([tell_time])
        result = await session.run(user_input="a")
        out = result.expect.next_event(type="function_call_output").event().item
        assert out.is_error  # alpha is gone
        assert "tell_time" in out.output
        assert [t.name for t in agent.tools] == ["tell_time"]


async def test_update_tools_rejects_duplicate_names() -> None:
    agent = Base()
    with pytest.raises(ValueError, match="tell_time"):
        await agent.update_tools([tell_time, tell_time])
    assert [t.name for t in agent.tools] == ["alpha", "beta"]


# --------------------------------------------------------------------------- structured arguments


@dataclasses.dataclass
class Address:
    street: str
    city: Annotated[str, "the city name"]


class Courier(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="courier")

    @function_tool
    async def deliver(self, to: Address, parcels: list[int]) -> str:
        """Deliver parcels."""
        received.append({"to": to, "parcels": parcels})
        return "on its way"


async def test_nested_types_get_a_flat_schema_and_arrive_as_objects() -> None:
    props = params(Courier().tools[0])["properties"]
    assert "$ref" not in json.dumps(props)
    assert set(props["to"]["properties"]) == {"street", "city"}
    assert props["parcels"]["items"]["type"] == "integer"

    llm = ScriptedLLM(
        {"ship": call("deliver", to={"street": "Main 1", "city": "Oslo"}, parcels=["3", 4])},
        default=reply("ok"),
    )
    async with AgentSession(llm=llm) as session:
        await session.start(Courier())
        result = await session.run(user_input="ship")
        result.expect.contains_function_call_output(output="on its way", is_error=False)
    assert received == [{"to": Address("Main 1", "Oslo"), "parcels": [3, 4]}]


@function_tool
async def whoami(ctx: RunContext, shout: bool = False) -> str:
    """Say which agent is answering."""
    name = ctx.session.current_agent.id
    return name.upper() if shout else name


async def test_a_free_function_tool_gets_the_run_context_too() -> None:
    assert set(params(whoami)["properties"]) == {"shout"}
    llm = ScriptedLLM({"who": call("whoami", shout=True)}, default=reply("ok"))
    async with AgentSession(llm=llm) as session:
        await session.start(Base(tools=[whoami]))
        result = await session.run(user_input="who")
        result.expect.contains_function_call_output(output="BASE")


async def test_a_session_tool_clashing_with_an_agent_tool_is_refused() -> None:
    @function_tool(name="beta")
    async def session_beta() -> str:
        """Clashes with Base.beta."""
        return "session beta"

    llm = ScriptedLLM({}, default=reply("ok"))
    async with AgentSession(llm=llm, tools=[session_beta]) as session:
        with pytest.raises(ValueError, match="beta"):
            await session.start(Base())
        assert llm.requests == []
