"""The adding and copy-memory generators and their memoryless baselines."""

import math

import numpy as np
import pytest

from gallery.compare import probe_data


def test_adding_problem_marks_one_value_in_each_half_and_sums_them(rng):
    inputs, targets = probe_data.adding_problem(500, 20, rng)
    assert inputs.shape == (500, 20, 2) and targets.shape == (500, 1)
    markers = inputs[..., 1]
    assert np.all(markers.sum(axis=1) == 2)
    assert np.all(markers[:, :10].sum(axis=1) == 1) and np.all(markers[:, 10:].sum(axis=1) == 1)
    np.testing.assert_allclose(targets[:, 0], (inputs[..., 0] * markers).sum(axis=1), rtol=1e-6)
    assert inputs[..., 0].min() >= 0 and inputs[..., 0].max() < 1


def test_always_answering_one_gives_the_stated_baseline(rng):
    _, targets = probe_data.adding_problem(200_000, 30, rng)
    empirical = float(np.mean((targets - probe_data.ADDING_CONSTANT_ANSWER) ** 2))
    # Standard error of the mean of (S - 1)^2 is about 0.18 / sqrt(200k) = 4e-4.
    assert empirical == pytest.approx(probe_data.adding_baseline_mse(), abs=2e-3)
    assert probe_data.adding_baseline_mse() == pytest.approx(1 / 6)
    # Answering the mean is the best constant: any other constant does worse.
    assert float(np.mean((targets - 1.1) ** 2)) > empirical


@pytest.mark.parametrize("delay", [1, 5, 30])
def test_copy_memory_layout(delay, rng):
    inputs, targets = probe_data.copy_memory(64, delay, rng)
    length = delay + 20
    assert inputs.shape == targets.shape == (64, length)
    symbols = inputs[:, :10]
    assert symbols.max() < probe_data.COPY_SYMBOLS
    assert np.all(inputs[:, 10 + delay - 1] == probe_data.COPY_DELIMITER)
    others = np.delete(inputs, list(range(10)) + [10 + delay - 1], axis=1)
    assert np.all(others == probe_data.COPY_BLANK)
    assert np.all(targets[:, -10:] == symbols)
    assert np.all(targets[:, :-10] == probe_data.COPY_BLANK)


@pytest.mark.parametrize("delay", [10, 100])
def test_memoryless_copy_answer_scores_the_stated_baseline(delay, rng):
    _, targets = probe_data.copy_memory(256, delay, rng)
    probabilities = probe_data.memoryless_copy_probabilities(delay)
    picked = probabilities[np.arange(delay + 20)[None, :], targets]
    cross_entropy = float(np.mean(-np.log(picked)))
    assert cross_entropy == pytest.approx(probe_data.copy_baseline_loss(delay), rel=1e-12)
    assert probe_data.copy_baseline_loss(delay) == pytest.approx(10 * math.log(8) / (delay + 20))


def test_generators_refuse_lengths_they_cannot_build(rng):
    with pytest.raises(ValueError, match="at least two steps"):
        probe_data.adding_problem(4, 1, rng)
    with pytest.raises(ValueError, match="delay of at least one"):
        probe_data.copy_memory(4, 0, rng)
