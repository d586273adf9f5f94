"""A test accuracy carries its 95% Wilson interval: the formula against SciPy's, and in metrics.json."""

import json

import pytest
from scipy import stats

from gallery import runs
from gallery.statistics import wilson_interval


@pytest.mark.parametrize("successes, trials", [(0, 10), (5, 10), (10, 10), (97, 100), (3497, 3600), (1, 3)])
def test_the_wilson_interval_is_scipys(successes, trials):
    expected = stats.binomtest(successes, trials).proportion_ci(confidence_level=0.95, method="wilson")
    low, high = wilson_interval(successes, trials)
    assert low == pytest.approx(expected.low, abs=1e-9) and high == pytest.approx(expected.high, abs=1e-9)
    assert 0.0 <= low <= successes / trials <= high <= 1.0


def test_an_interval_of_nothing_is_refused():
    with pytest.raises(ValueError, match="at least one trial"):
        wilson_interval(0, 0)
    with pytest.raises(ValueError, match="between 0 and 4"):
        wilson_interval(5, 4)


def test_metrics_json_holds_the_count_and_interval_of_an_accuracy(tmp_path):
    runs.write_metrics(
        tmp_path,
        primary_name="test accuracy",
        primary_value=0.75,
        higher_is_better=True,
        parameters=10,
        train_seconds=1.0,
        primary_count=40,
    )
    primary = json.loads((tmp_path / "metrics.json").read_text())["primary"]
    assert primary["count"] == 40
    assert primary["interval95"] == pytest.approx(list(wilson_interval(30, 40)))
    runs.write_metrics(
        tmp_path, primary_name="nats", primary_value=1.2, higher_is_better=False, parameters=10, train_seconds=1.0
    )
    assert "interval95" not in json.loads((tmp_path / "metrics.json").read_text())["primary"]


def _tables():
    import importlib
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
    return importlib.import_module("tables")


def _record(metrics: dict) -> dict:
    return {"commit": "abcdef123456", "dirty": False, "machine": {"cores": 2}, "wall_seconds": 60.0, "metrics": metrics}


def test_a_results_table_shows_the_interval_stored_or_derived_from_the_count():
    tables = _tables()
    primary = {"name": "test accuracy", "value": 0.75, "higher_is_better": True}
    stored = tables.Row("stored", "a", format="percent")
    counted = tables.Row("counted", "b", metric="metrics.other", format="percent", count="metrics.clips")
    elsewhere = tables.Row("elsewhere", "c", metric="metrics.other", format="percent", interval="metrics.bounds")
    bare = tables.Row("bare", "d", metric="metrics.other", format="percent")
    found = {
        "stored": _record({"primary": {**primary, "interval95": [0.6, 0.85]}}),
        "counted": _record({"primary": primary, "other": 0.9, "clips": 300}),
        "elsewhere": _record({"primary": primary, "other": 0.9, "bounds": [0.88, 0.92], "clips": 300}),
        "bare": _record({"primary": primary, "other": 0.9}),
    }
    text = tables.render(tables.Table((stored, counted, elsewhere, bare)), found)
    low, high = wilson_interval(270, 300)
    assert "| **75.0%** (60.0% to 85.0%) |" in text
    assert f"| **90.0%** ({100 * low:.1f}% to {100 * high:.1f}%) |" in text
    assert "| **90.0%** (88.0% to 92.0%) |" in text
    assert "| **90.0%** | - |" in text
    with pytest.raises(ValueError, match="no count at metrics.clips"):
        tables.render(tables.Table((counted,)), {"counted": _record({"primary": primary, "other": 0.9})})


def test_a_figure_from_several_runs_shows_their_range_not_an_interval():
    tables = _tables()
    primary = {
        "name": "mean test accuracy over 6 held-out speakers",
        "value": 0.9,
        "higher_is_better": True,
        "range": [0.8, 0.97],
        "runs": 6,
    }
    text = tables.render(
        tables.Table((tables.Row("folds", "e", format="percent"),)), {"folds": _record({"primary": primary})}
    )
    assert "| **90.0%** (range 80.0% to 97.0% over 6 runs) |" in text
