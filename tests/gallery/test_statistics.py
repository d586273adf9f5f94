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
