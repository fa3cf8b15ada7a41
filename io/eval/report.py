"""The evaluation report: pass/fail with reasons, paths, latencies, edge coverage, graphs.

Built in the driver from the workers' plain results; written as JSON and as one
self-contained HTML file (inline SVG from the local ``dot``, Mermaid text when it is missing).
"""

from __future__ import annotations

import html
import json
import math
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs

from voxfsm.fsm import render as fsm_render
from voxfsm.fsm.graph import WorkflowGraph, build_graph
from voxfsm.fsm.spec import Step, Trace
from voxfsm.io.cli.app import load_app

__all__ = ["EvalReport", "percentile"]

Edge = tuple[str, str, str]


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..100) of a non-empty sequence."""
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


@attrs.frozen
class _Taken:
    """A trace source for ``build_graph``: the entry plus every step all scenarios took."""

    entry: Any
    steps: tuple[Step, ...]

    def __fsm_trace__(self) -> Trace:
        return Trace(entry=self.entry, current=None, steps=self.steps)


def declared_edges(graph: WorkflowGraph) -> set[Edge]:
    """Handoff edges a tool declares (what coverage counts)."""
    return {
        (e.source, e.tool, e.target)
        for e in graph.edges
        if e.declared and e.tool is not None and e.kind in ("handoff", "task")
    }


@attrs.frozen
class AppSummary:
    app: str
    graph: WorkflowGraph
    declared: frozenset[Edge]
    hits: dict[Edge, int]

    @property
    def covered(self) -> set[Edge]:
        return {e for e in self.declared if self.hits.get(e)}

    def to_json(self) -> dict[str, Any]:
        return {
            "edges_declared": len(self.declared),
            "edges_covered": len(self.covered),
            "coverage": round(len(self.covered) / len(self.declared), 3) if self.declared else 1.0,
            "edges": [
                {"source": s, "tool": t, "target": d, "taken": self.hits.get((s, t, d), 0)}
                for s, t, d in sorted(self.declared | set(self.hits))
            ],
        }


def _app_summary(app_spec: str, results: Sequence[dict[str, Any]]) -> AppSummary:
    app = load_app(app_spec)
    static = build_graph(app.entry)
    classes = {s.id: s.cls for s in static.states}
    steps: list[Step] = []
    hits: Counter[Edge] = Counter()
    for r in results:
        for source, tool, target, kind in r["steps"]:
            if tool is not None and source is not None:
                hits[(source, tool, target)] += 1
            if target in classes:
                steps.append(Step(source, tool, target, classes[target], kind=kind))
    graph = build_graph(_Taken(app.entry, tuple(steps))) if steps else static
    return AppSummary(app_spec, graph, frozenset(declared_edges(static)), dict(hits))


@attrs.define
class EvalReport:
    """All results of one ``voxfsm eval`` run, in scenario order."""

    app: str
    results: list[dict[str, Any]]
    backend: str
    workers: int
    seconds: float
    apps: dict[str, AppSummary] = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        by_app: dict[str, list[dict[str, Any]]] = {}
        for r in self.results:
            by_app.setdefault(r["app"], []).append(r)
        self.apps = {a: _app_summary(a, rs) for a, rs in by_app.items()}

    @property
    def failed(self) -> list[dict[str, Any]]:
        return [r for r in self.results if not r["passed"]]

    def latencies(self) -> dict[str, dict[str, float]]:
        """p50/p95 per stage (ms) over every turn of every scenario."""
        stages: dict[str, list[float]] = {}
        for r in self.results:
            for stage, values in r["latencies"].items():
                stages.setdefault(stage, []).extend(values)
        return {
            stage: {
                "p50_ms": round(percentile(v, 50) * 1000, 2),
                "p95_ms": round(percentile(v, 95) * 1000, 2),
                "count": len(v),
            }
            for stage, v in sorted(stages.items())
            if v
        }

    def path_counts(self) -> dict[str, int]:
        counts = Counter(f"{r['app']}: {' > '.join(r['path'])}" for r in self.results)
        return dict(counts.most_common())

    def to_json(self) -> dict[str, Any]:
        return {
            "app": self.app,
            "backend": self.backend,
            "workers": self.workers,
            "seconds": round(self.seconds, 3),
            "scenarios": len(self.results),
            "passed": len(self.results) - len(self.failed),
            "failed": [r["name"] for r in self.failed],
            "latency": self.latencies(),
            "paths": self.path_counts(),
            "coverage": {a: s.to_json() for a, s in self.apps.items()},
            "results": self.results,
        }

    def write_json(self, path: str | Path) -> Path:
        out = Path(path)
        out.write_text(json.dumps(self.to_json(), indent=2, ensure_ascii=False), "utf-8")
        return out

    def write_html(self, path: str | Path) -> Path:
        out = Path(path)
        out.write_text(_html(self), "utf-8")
        return out


_CSS = """body{font-family:system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;
text-align:left;vertical-align:top}.pass{color:#176f2c}.fail{color:#b00020;font-weight:bold}
details{margin:.3em 0}pre{background:#f6f6f6;padding:.5em;white-space:pre-wrap}
.t-user{color:#0b5394}.t-assistant{color:#222}.t-call,.t-output,.t-handoff{color:#777}
.t-tool_error{color:#b00020}svg{max-width:100%;height:auto}"""


def _e(text: object) -> str:
    return html.escape(str(text))


def _table(head: Sequence[str], rows: Sequence[Sequence[object]], raw: bool = False) -> str:
    cells = "".join(
        "<tr>" + "".join(f"<td>{c if raw else _e(c)}</td>" for c in row) + "</tr>" for row in rows
    )
    return "<table><tr>" + "".join(f"<th>{_e(h)}</th>" for h in head) + f"</tr>{cells}</table>"


def _graph_html(summary: AppSummary) -> str:
    svg = fsm_render.svg_or_none(summary.graph)
    if svg is not None:
        return svg[svg.find("<svg") :]  # drop the XML prologue and doctype
    return "<pre>" + _e(summary.graph.to_mermaid()) + "</pre>"


def _transcript(r: dict[str, Any]) -> str:
    lines = [
        f'<div class="t-{_e(e["kind"])}">[{e["turn"]}] {_e(e["kind"])}: {_e(e["text"])}</div>'
        for e in r["transcript"]
        if e["kind"] != "system"
    ]
    return "".join(lines) or "<i>no transcript</i>"


def _html(report: EvalReport) -> str:
    data = report.to_json()
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>voxfsm eval: {_e(report.app)}"
        f"</title><style>{_CSS}</style></head><body>",
        f"<h1>voxfsm eval — {_e(report.app)}</h1>",
        f"<p>{data['passed']} of {data['scenarios']} scenarios passed "
        f"({report.backend}, {report.workers} worker(s), {report.seconds:.1f} s).</p>",
    ]
    if report.failed:
        parts.append("<h2>Failed</h2>")
        parts.append(
            _table(
                ["scenario", "reasons"],
                [[r["name"], "; ".join(r["reasons"])] for r in report.failed],
            )
        )
    parts.append("<h2>Latency per stage</h2>")
    parts.append(
        _table(
            ["stage", "p50 ms", "p95 ms", "samples"],
            [[k, v["p50_ms"], v["p95_ms"], v["count"]] for k, v in data["latency"].items()],
        )
    )
    for app, summary in report.apps.items():
        cov = summary.to_json()
        parts.append(f"<h2>{_e(app)}: paths taken</h2>")
        parts.append(
            f"<p>{cov['edges_covered']} of {cov['edges_declared']} declared handoff edges "
            f"taken ({cov['coverage']:.0%}).</p>"
        )
        parts.append(_graph_html(summary))
        parts.append(
            _table(
                ["edge", "taken"],
                [[f"{e['source']} —{e['tool']}→ {e['target']}", e["taken"]] for e in cov["edges"]],
            )
        )
    parts.append("<h2>Paths</h2>")
    parts.append(_table(["path", "scenarios"], list(data["paths"].items())))
    parts.append("<h2>Scenarios</h2>")
    rows = []
    for r in report.results:
        verdict = (
            '<span class="pass">pass</span>' if r["passed"] else '<span class="fail">FAIL</span>'
        )
        rows.append(
            [
                _e(r["name"]),
                verdict,
                _e("; ".join(r["reasons"])),
                _e(" > ".join(r["path"])),
                r["turns"],
                f"{r['seconds']:.2f}",
                f"<details><summary>transcript</summary>{_transcript(r)}</details>",
            ]
        )
    parts.append(
        _table(
            ["scenario", "result", "reasons", "path", "turns", "s", "transcript"], rows, raw=True
        )
    )
    parts.append("</body></html>")
    return "\n".join(parts)
