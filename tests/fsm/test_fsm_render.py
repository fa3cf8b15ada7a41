"""Renderers: DOT parsed back with pydot, Mermaid checked line by line, text width, real `dot`."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pydot
import pytest
from _fsm_fakes import FakeSession, FakeState, FakeTool

from voxfsm.fsm import render as R
from voxfsm.fsm.graph import WorkflowGraph, build_graph
from voxfsm.fsm.spec import Unresolved

# pydot's parser uses pyparsing names that newer pyparsing deprecates; not our code.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:pydot.dot_parser")


class Billing(FakeState):
    terminal = True
    SUMMARY = "Answer billing questions; quote invoices by number."
    TOOLS = (
        FakeTool("lookup_invoice", "Find an invoice."),
        FakeTool("back", "Return to the front desk.", lambda: (Desk,)),
    )


class Verify(FakeState):
    TOOLS = (FakeTool("done", "Finish the check."),)


class Support(FakeState):
    TOOLS = (FakeTool("to_billing", "Billing.", lambda: (Billing,)),)


class Desk(FakeState):
    SUMMARY = 'Desk: "Acme"; greet & route callers to the right department'
    TOOLS = (
        FakeTool("to_billing", "Send the caller to billing.", lambda: (Billing,)),
        FakeTool("to_support", "Technical problems.", lambda: (Support,)),
        FakeTool("verify", "Check identity.", lambda: (Verify,), kind="task"),
        FakeTool("hours", "Opening hours."),
        FakeTool("to_ghost", "Ghost.", lambda: (Unresolved("Ghost", "NameError"),)),
    )


AGENTS = ["desk", "billing", "support", "verify"]


def session_graph() -> WorkflowGraph:
    desk = Desk()
    s = FakeSession().start(desk).task("verify", Verify(), desk).complete()
    s.handoff("to_billing", Billing()).handoff("back", desk).handoff("to_billing", Billing())
    s.handoff("lookup_invoice", Support(), declared=False).swap(Billing())
    return build_graph(s)


def parse_dot(text: str) -> pydot.Dot:
    graphs = pydot.graph_from_dot_data(text)
    assert graphs is not None and len(graphs) == 1, text
    return graphs[0]


def unq(s: object) -> str | None:
    return None if s is None else str(s).strip('"')


DEFAULTS = {"graph", "node", "edge"}


def dot_nodes(g: pydot.Dot) -> dict[str, pydot.Node]:
    names = {str(unq(n.get_name())): n for n in g.get_nodes()}
    return {k: v for k, v in names.items() if k not in DEFAULTS}


def dot_edges(g: pydot.Dot) -> dict[tuple[str, str, str | None], pydot.Edge]:
    out: dict[tuple[str, str, str | None], pydot.Edge] = {}
    for e in g.get_edges():
        key = (str(unq(e.get_source())), str(unq(e.get_destination())), unq(e.get("label")))
        assert key not in out, f"duplicate edge {key}"
        out[key] = e
    return out


def test_dot_parses_and_has_every_state_edge_and_staying_tool() -> None:
    dot = parse_dot(build_graph(Desk).to_dot())
    nodes = dot_nodes(dot)
    assert set(AGENTS) <= set(nodes)
    edges = dot_edges(dot)
    assert ("desk", "billing", "to_billing") in edges
    assert ("desk", "support", "to_support") in edges
    assert ("support", "billing", "to_billing") in edges
    assert ("billing", "desk", "back") in edges
    assert edges[("desk", "verify", "verify (task)")].get("dir") == '"both"'
    # staying tools live inside the node, never as self-loops
    assert all(src != dst for src, dst, _ in edges)
    assert "hours" in nodes["desk"].get("label") and "lookup_invoice" in nodes["billing"].get(
        "label"
    )
    assert "to_billing" not in nodes["desk"].get("label")
    # terminal states get a double border, tasks a dashed one
    assert nodes["billing"].get("peripheries") == '"2"'
    assert nodes["desk"].get("peripheries") is None
    assert "dashed" in nodes["verify"].get("style")
    # the unresolved target is drawn as its own red note node
    (ghost,) = [n for name, n in nodes.items() if name.startswith("voxfsm:unresolved")]
    assert "Ghost" in ghost.get("label")
    assert edges[("desk", next(k for k in nodes if k.startswith("voxfsm:u")), "to_ghost")]


def test_dot_highlights_current_visited_and_taken_edges_from_a_session() -> None:
    g = session_graph()
    assert g.current == "billing"
    dot = parse_dot(g.to_dot())
    nodes, edges = dot_nodes(dot), dot_edges(dot)
    assert unq(nodes["billing"].get("fillcolor")) == R.COLORS["current_fill"]
    for visited in ("desk", "verify", "support"):
        assert unq(nodes[visited].get("fillcolor")) == R.COLORS["visited_fill"]
    taken = edges[("desk", "billing", "to_billing ×2")]
    assert unq(taken.get("penwidth")) == "2.5"
    assert unq(taken.get("color")) == R.COLORS["visited_line"]
    assert unq(edges[("billing", "desk", "back ×1")].get("penwidth")) == "2.5"
    assert unq(edges[("desk", "support", "to_support")].get("penwidth")) == "1"  # never taken
    undeclared = edges[("billing", "support", "lookup_invoice (undeclared) ×1")]
    assert unq(undeclared.get("color")) == R.COLORS["undeclared"]
    assert unq(edges[("support", "billing", "update_agent() ×1")].get("style")) == "dotted"
    assert ("desk", "verify", "verify (task) ×1") in edges


def test_unvisited_states_are_plain_in_a_session_graph() -> None:
    s = FakeSession().start(Desk())
    nodes = dot_nodes(parse_dot(build_graph(s).to_dot()))
    assert unq(nodes["desk"].get("fillcolor")) == R.COLORS["current_fill"]
    assert unq(nodes["support"].get("fillcolor")) == "white"


# Every line the Mermaid renderer may produce, as a small grammar.
MERMAID_LINE = [
    ("header", re.compile(r"stateDiagram-v2")),
    ("direction", re.compile(r"direction (LR|TB)")),
    ("classdef", re.compile(r"classDef (\w+) [\w#:,\-. ]+")),
    ("alias", re.compile(r'state "([^"]+)" as (\w+)')),
    ("bare", re.compile(r"state (\w+)")),
    ("edge", re.compile(r"(\[\*\]|\w+) --> (\[\*\]|\w+)(?: : ([^:]+))?")),
    ("desc", re.compile(r"(\w+) : ([^:]+)")),
    ("class", re.compile(r"class ([\w,]+) (\w+)")),
    ("note", re.compile(r"note (?:left|right) of (\w+)")),
]


def parse_mermaid(text: str) -> dict[str, list[tuple[str, ...]]]:
    out: dict[str, list[tuple[str, ...]]] = {k: [] for k, _ in MERMAID_LINE}
    out["note_text"] = []
    lines = text.splitlines()
    assert lines[0] == "stateDiagram-v2"
    in_note = False
    for line in lines:
        stripped = line.strip()
        if in_note:  # a note's body is free text up to `end note`
            in_note = stripped != "end note"
            if in_note:
                out["note_text"].append((stripped,))
            continue
        for kind, rx in MERMAID_LINE:
            m = rx.fullmatch(stripped)
            if m:
                out[kind].append(m.groups())
                in_note = kind == "note"
                break
        else:
            raise AssertionError(f"not valid stateDiagram-v2 syntax: {line!r}")
    assert not in_note, "a note is never closed"
    return out


def test_mermaid_is_well_formed_with_states_edges_and_tools() -> None:
    mm = parse_mermaid(build_graph(Desk).to_mermaid())
    edges = {(a, b, lbl) for a, b, lbl in mm["edge"]}
    assert ("[*]", "desk", None) in edges
    assert ("desk", "billing", "to_billing") in edges
    assert ("billing", "desk", "back") in edges
    assert ("desk", "verify", "verify (task)") in edges
    assert ("verify", "desk", "returns") in edges  # the call-and-return's way back
    assert ("billing", "[*]", None) in edges  # terminal
    assert ("desk", "[*]", None) not in edges
    assert ("desk", "· hours") in mm["desc"]
    # Mermaid syntax characters in the summary are escaped, not emitted raw
    (summary,) = [d for s, d in mm["desc"] if s == "desk" and not d.startswith("·")]
    assert "#quot;Acme#quot;" in summary and "#59;" in summary and "#58;" in summary
    assert all(a != b for a, b, _ in edges)
    assert ("desk,billing,support,verify", "visited") not in mm["class"]
    assert ("verify", "task") in mm["class"]


def test_mermaid_highlights_session_states_and_counts_edges() -> None:
    mm = parse_mermaid(session_graph().to_mermaid())
    classes = {name: set(members.split(",")) for members, name in mm["class"]}
    assert classes["current"] == {"billing"}
    assert classes["visited"] == {"desk", "verify", "support"}
    labels = {lbl for _, _, lbl in mm["edge"]}
    assert {"to_billing ×2", "back ×1", "returns ×1", "update_agent() ×1"} <= labels
    assert "lookup_invoice (undeclared) ×1" in labels


def test_mermaid_aliases_ids_it_cannot_use_verbatim() -> None:
    class Odd(FakeState):
        ID = "front-desk"
        TOOLS = (FakeTool("x", "X.", lambda: (End,)),)

    class End(FakeState):
        ID = "end"
        terminal = True

    mm = parse_mermaid(build_graph(Odd).to_mermaid())
    aliases: dict[str, str] = {label: alias for label, alias in mm["alias"]}
    assert set(aliases) == {"front-desk", "end"}
    assert (aliases["front-desk"], aliases["end"], "x") in mm["edge"]


def test_text_fits_80_columns_and_names_everything() -> None:
    class Wordy(FakeState):
        ID = "a_rather_long_agent_identifier_for_the_international_billing_department_desk"
        SUMMARY = "word " * 200
        TOOLS = (FakeTool("transfer_to_the_department_of_long_names", "blah " * 100),)

    class Start(FakeState):
        TOOLS = (FakeTool("go", "Go.", lambda: (Wordy, Desk)),)

    text = build_graph(Start).to_text()
    assert max(len(line) for line in text.splitlines()) <= 80
    for name in ["start", "desk", "billing", "support", "verify", "hours", "to_support"]:
        assert name in text
    assert "transfer_to_the_department_of_long_names" in text
    session_text = str(session_graph())
    assert (
        "CURRENT"
        in session_text.splitlines()[
            next(i for i, ln in enumerate(session_text.splitlines()) if ln.startswith("▶"))
        ]
    )
    assert "to_billing ×2 → billing" in session_text
    assert max(len(line) for line in session_text.splitlines()) <= 80


def svg_texts(svg: bytes) -> str:
    root = ET.fromstring(svg)
    return " ".join(t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text"))


def test_svg_via_real_dot_contains_every_agent(tmp_path: Path) -> None:
    out = session_graph().render(tmp_path / "flow.svg")
    svg = out.read_bytes()
    texts = svg_texts(svg)
    for agent in AGENTS:
        assert agent in texts.split()
    assert R.COLORS["current_fill"] in svg.decode()


def test_png_via_real_dot(tmp_path: Path) -> None:
    data = build_graph(Desk).render(tmp_path / "flow.png").read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 1000


@pytest.mark.parametrize(
    ("suffix", "probe"),
    [(".dot", "digraph workflow"), (".mmd", "stateDiagram-v2"), (".txt", "workflow from desk")],
)
def test_render_picks_the_format_by_suffix(tmp_path: Path, suffix: str, probe: str) -> None:
    out = build_graph(Desk).render(tmp_path / f"flow{suffix}")
    assert out.read_text(encoding="utf-8").startswith(probe)


def test_unknown_suffix_names_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="suffixes") as err:
        build_graph(Desk).render(tmp_path / "flow.jpeg")
    for suffix in (".dot", ".svg", ".png", ".mmd", ".txt"):
        assert suffix in str(err.value)
    assert not (tmp_path / "flow.jpeg").exists()


def test_missing_dot_says_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    R.images._pipe.cache_clear()
    with pytest.raises(R.GraphvizNotFound, match="apt-get install graphviz"):
        build_graph(Support).render(tmp_path / "x.svg")


def test_jupyter_bundle_is_svg_with_dot() -> None:
    g = session_graph()
    bundle = g._repr_mimebundle_()
    assert bundle["image/svg+xml"].lstrip().startswith("<?xml")
    assert "text/vnd.mermaid" not in bundle
    assert g._repr_svg_() == bundle["image/svg+xml"]
    assert bundle["text/plain"] == str(g)


def test_jupyter_bundle_falls_back_to_mermaid_without_dot(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(R.images, "dot_available", lambda: False)
    g = session_graph()
    bundle = g._repr_mimebundle_()
    assert "image/svg+xml" not in bundle
    assert bundle["text/vnd.mermaid"] == g.to_mermaid()
    assert bundle["text/markdown"].startswith("```mermaid\nstateDiagram-v2")
    assert g._repr_svg_() is None


def test_registry_is_open_to_new_formats(tmp_path: Path) -> None:
    @R.register("ids", ".ids")
    def ids(graph: WorkflowGraph) -> str:
        return ",".join(s.id for s in graph.states)

    try:
        out = build_graph(Desk).render(tmp_path / "flow.ids")
        assert out.read_text() == "desk,billing,support,verify"
        assert (
            build_graph(Desk)
            .render(tmp_path / "x.txt", format="ids")
            .read_text()
            .startswith("desk,")
        )
    finally:
        del R.FORMATS["ids"]


class Legacy(FakeState):
    terminal = True


class Inferring(FakeState):
    TOOLS = (FakeTool("old_route", "Undeclared in code.", inferred=lambda: (Legacy,)),)


def legend_rows(dot_text: str) -> str:
    (legend,) = [n for n in parse_dot(dot_text).get_subgraphs() if "legend" in n.get_name()]
    (node,) = [n for n in legend.get_nodes() if unq(n.get_name()) == "voxfsm:legend"]
    return str(node.get("label"))


def test_dot_legend_names_only_what_the_drawing_uses() -> None:
    static = legend_rows(build_graph(Desk).to_dot())
    assert "declared handoff" in static and "AgentTask call" in static
    for absent in ("current agent", "visited agent", "taken N times", "not declared"):
        assert absent not in static
    run = legend_rows(session_graph().to_dot())
    for present in ("current agent", "visited agent", "taken N times", "observed at run time"):
        assert present in run
    assert "read from the tool" in legend_rows(build_graph(Inferring).to_dot())


def test_inferred_edges_are_drawn_apart_from_declared_ones() -> None:
    g = build_graph(Inferring)
    edges = dot_edges(parse_dot(g.to_dot()))
    inferred = edges[("inferring", "legacy", "old_route (inferred)")]
    assert unq(inferred.get("style")) == "dashed"
    assert unq(inferred.get("color")) == R.COLORS["inferred"]
    assert "old_route (inferred) → legacy" in g.to_text()
    labels = {lbl for _, _, lbl in parse_mermaid(g.to_mermaid())["edge"]}
    assert "old_route (inferred)" in labels


def test_task_return_edge_is_drawn_in_every_format() -> None:
    g = session_graph()
    edges = dot_edges(parse_dot(g.to_dot()))
    back = edges[("verify", "desk", "returns ×1")]
    assert unq(back.get("style")) == "dashed" and unq(back.get("arrowhead")) == "empty"
    assert "returns ×1 ↩ desk" in g.to_text()
    assert ("verify", "desk", "returns ×1") in parse_mermaid(g.to_mermaid())["edge"]


def test_text_and_mermaid_end_with_the_legend() -> None:
    g = session_graph()
    text = g.to_text(width=60)
    legend = text[text.index("legend:") :]
    assert "▶ current agent" in legend and "×N edge taken N times" in " ".join(legend.split())
    assert all(len(line) <= 60 for line in text.splitlines())
    mm = parse_mermaid(g.to_mermaid())
    assert mm["note"] == [("desk",)]
    assert ("legend",) in mm["note_text"] and any("current agent" in t for (t,) in mm["note_text"])


def test_each_format_is_its_own_module_behind_one_registry() -> None:
    modules = {name: fmt.fn.__module__ for name, fmt in R.FORMATS.items()}
    assert modules == {
        "dot": "voxfsm.fsm.render.dot",
        "svg": "voxfsm.fsm.render.images",
        "png": "voxfsm.fsm.render.images",
        "mermaid": "voxfsm.fsm.render.mermaid",
        "text": "voxfsm.fsm.render.text",
    }
    assert R.mimebundle.__module__ == "voxfsm.fsm.render.notebook"
