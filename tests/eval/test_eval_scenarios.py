"""The scenario file format: what it accepts, and the errors that say what to fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from voxfsm.io.eval import JudgeSpec, ScenarioError, load_scenarios
from voxfsm.io.eval.scenario import from_data, to_data

ROOT = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, text: str, name: str = "s.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_a_file_with_defaults_app_lines_and_expectations(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
app = "voxfsm.examples.restaurant"
[defaults]
max_turns = 4
[[scenario]]
name = "pays"
lines = ["takeaway please", "two pizzas and a coffee"]
[scenario.expect]
agents = ["takeaway"]
userdata = { "order.pizza" = 2 }
judge = "offers the menu"
[[scenario]]
name = "goal"
goal = "order a pizza"
expect = { judge = [{ turn = 2, intent = "asks what to order" }] }
""",
    )
    pays, goal = load_scenarios(path)
    assert pays.app == "voxfsm.examples.restaurant" and pays.turn_limit == 4
    assert pays.lines == ("takeaway please", "two pizzas and a coffee")
    assert pays.expect.userdata == {"order.pizza": 2}
    assert pays.expect.judge == (JudgeSpec("offers the menu", 0),)
    assert goal.goal == "order a pizza" and goal.expect.judge == (
        JudgeSpec("asks what to order", 2),
    )
    assert from_data(to_data(pays)) == pays  # what a worker receives is the same scenario


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('name = "a"\nlines = ["hi"]\nexpct = {}', "extra fields found (expct)"),
        ('name = "a"\nlines = "hi"', "scenario.lines"),
        ('name = "a"\nlines = ["hi"]\nmax_turns = "many"', "scenario.max_turns"),
        ('name = "a"', "needs either `lines`"),
        ('name = "a"\nlines = ["x"]\nmode = "video"', 'mode must be "text" or "voice"'),
        ('name = "a"\ngoal = "x"\nmode = "voice"', "voice mode needs `lines`"),
        ('name = "a"\nlines = ["x"]\ngoal = "y"', "not both"),
        (
            'name = "a"\nlines = ["x"]\n[scenario.expect]\njudge = [{ turn = 5, intent = "i" }]',
            "outside 1..1",
        ),
    ],
)
def test_bad_scenarios_are_refused_naming_file_scenario_and_field(
    tmp_path: Path, body: str, message: str
) -> None:
    path = write(tmp_path, f"[[scenario]]\n{body}\n")
    with pytest.raises(ScenarioError) as err:
        load_scenarios(path)
    assert str(path) in str(err.value) and message in str(err.value)


def test_file_level_mistakes(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="not valid TOML"):
        load_scenarios(write(tmp_path, "[[scenario]\n"))
    with pytest.raises(ScenarioError, match="no scenarios"):
        load_scenarios(write(tmp_path, 'app = "x"\n'))
    with pytest.raises(ScenarioError, match=r"unknown top-level key\(s\) \['scenarios'\]"):
        load_scenarios(write(tmp_path, '[[scenarios]]\nname = "a"\n'))
    with pytest.raises(ScenarioError, match="no such scenario file"):
        load_scenarios(tmp_path / "missing.toml")
    one = write(tmp_path, '[[scenario]]\nname = "a"\nlines = ["x"]\n', "one.toml")
    two = write(tmp_path, '[[scenario]]\nname = "a"\nlines = ["y"]\n', "two.toml")
    with pytest.raises(ScenarioError, match="'a' is used twice"):
        load_scenarios(one, two)


def test_the_shipped_scenarios_cover_every_example_with_at_least_fifty() -> None:
    scenarios = load_scenarios(ROOT / "examples" / "scenarios")
    assert len(scenarios) >= 50
    apps = {sc.app for sc in scenarios}
    assert apps == {
        f"voxfsm.examples.{n}"
        for n in (
            "restaurant",
            "customer_service",
            "drive_thru",
            "medical_triage",
            "front_desk",
            "intake",
        )
    }


def test_the_voice_scenarios_are_a_folder_of_their_own() -> None:
    voice = load_scenarios(ROOT / "examples" / "scenarios" / "voice")
    assert voice and all(sc.mode == "voice" and sc.lines for sc in voice)
    shipped = load_scenarios(ROOT / "examples" / "scenarios")
    assert all(sc.mode == "text" for sc in shipped)  # the 54 stay fast
