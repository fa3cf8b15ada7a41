"""Evaluate a workflow over many simulated calls: scenarios, runners (asyncio or Ray), reports.

``voxfsm eval APP SCENARIOS`` (``voxfsm.io.cli.eval``) is the command line; in Python::

    from voxfsm.io.eval import load_scenarios, run_asyncio, run_ray, EvalReport, EvalOptions
    results = run_ray("voxfsm.examples.restaurant", load_scenarios("scenarios/"), EvalOptions(),
                      workers=4)
    EvalReport("voxfsm.examples.restaurant", results, "ray", 4, 0.0).write_html("report.html")
"""

from __future__ import annotations

from voxfsm.io.eval.backends import EvalError, run_asyncio, run_ray
from voxfsm.io.eval.report import EvalReport
from voxfsm.io.eval.runner import EvalOptions, ScenarioResult, run_scenario
from voxfsm.io.eval.scenario import Expect, JudgeSpec, Scenario, ScenarioError, load_scenarios

__all__ = [
    "EvalError",
    "EvalOptions",
    "EvalReport",
    "Expect",
    "JudgeSpec",
    "Scenario",
    "ScenarioError",
    "ScenarioResult",
    "load_scenarios",
    "run_asyncio",
    "run_ray",
    "run_scenario",
]
