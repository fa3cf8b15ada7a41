"""``check --workers``: shards with their own seeds, merged coverage, the smallest failure."""

from __future__ import annotations

from pathlib import Path

import attrs
import pytest

from voxfsm.io.eval.parallel_check import CheckShard, check_shard, run_check_shards, shards_for

SLOPPY = str(Path(__file__).with_name("sloppy_desk.py"))


def test_the_budget_is_split_with_distinct_seeds() -> None:
    shards = shards_for("app", 11, 5, 100, 2.0, 3)
    assert [s.examples for s in shards] == [4, 4, 3]
    assert [s.seed for s in shards] == [100, 101, 102]
    assert [s.examples for s in shards_for("app", 2, 5, 1, 2.0, 4)] == [1, 1]


def test_merged_coverage_is_the_sum_of_the_shards() -> None:
    shards = shards_for("voxfsm.examples.restaurant", 6, 8, 7, 10.0, 2)
    parts = [check_shard(attrs.asdict(s)) for s in shards]
    report = run_check_shards(shards, backend="asyncio", workers=2)
    assert report.examples == 6 == sum(p["examples"] for p in parts)
    assert report.failure is None
    for edge, n in parts[0]["hits"]:
        # the same seeds give the same runs: merged counts are the two shards added up
        other = dict((tuple(e), m) for e, m in parts[1]["hits"])
        assert report.coverage.hits[tuple(edge)] == n + other.get(tuple(edge), 0)
    assert report.coverage.conversations == sum(p["conversations"] for p in parts)


def test_a_failure_found_in_a_shard_is_shrunk_and_kept(capsys: pytest.CaptureFixture[str]) -> None:
    report = run_check_shards(
        [CheckShard(SLOPPY, 30, 6, seed, 10.0) for seed in (1, 2)], backend="asyncio", workers=2
    )
    assert report.failure is not None and report.failure.check == "undeclared-handoff"
    assert len(report.failure.steps) == 1  # shrunk to the one bad call
    assert "go" in report.failure.regression_test
