"""Parameter counts of an application's real model, and the units that bring a cell to a target count.

Counting builds the app's own model with its own data, without training: `count_parameters` calls the app's
`App.run(config)` with `gallery.training.fit` (and, as a backstop, `keras.Model.fit`) replaced by a function that
reads `model.count_params()` and stops the run. Every app trains through `training.fit`, so this needs nothing
from an app beyond the uniform `App.run`, and the count is the one its metrics.json will report.

Matching (`match_units`): for a fixed cell, depth and direction, every weight matrix of a recurrent model is
(units x units), (units x something fixed) or fixed, so the count is a quadratic a u^2 + b u + c in the units
(LSTM: a = 4 per layer and direction, GRU 3, vanilla 1, maxout 2; no recurrence: a = 0 for one layer). Three
counts fix the quadratic; its root gives the units, and the chosen units are counted again for real. If that
count is off (an app whose model is not quadratic in the units) a bisection on real counts takes over.
"""

from __future__ import annotations

import contextlib
import io
import math
import tempfile
from collections.abc import Callable
from unittest import mock

import keras

from gallery import training
from gallery.cli import App
from gallery.config import RunConfig

TOLERANCE = 0.05
SAMPLE_UNITS = (8, 16, 32)


class _ModelBuiltError(Exception):
    def __init__(self, parameters: int):
        super().__init__(parameters)
        self.parameters = parameters


class ParameterMatchError(ValueError):
    """No number of units brings this model within the tolerance of the target count."""


def count_parameters(app: App, config: RunConfig) -> int:
    """The parameter count of the model `app.run(config)` builds, found without training it."""

    def stop_at_fit(model, *args, **kwargs):
        raise _ModelBuiltError(int(model.count_params()))

    def stop_at_keras_fit(self, *args, **kwargs):
        raise _ModelBuiltError(int(self.count_params()))

    with tempfile.TemporaryDirectory(prefix="compare-count-") as scratch:
        config = type(config).from_dict({**config.to_dict(), "out": scratch})
        config.validate()
        with (
            mock.patch.object(training, "fit", stop_at_fit),
            mock.patch.object(keras.Model, "fit", stop_at_keras_fit),
            contextlib.redirect_stdout(io.StringIO()),
        ):
            try:
                app.run(config)
            except _ModelBuiltError as built:
                return built.parameters
    raise RuntimeError(f"{app.name}'s App.run never called training.fit, so its model could not be counted")


def match_units(
    count_at: Callable[[int], int], target: int, tolerance: float = TOLERANCE, maximum_units: int = 1 << 14
) -> tuple[int, int]:
    """(units, count) with |count - target| <= tolerance * target, closest to the target; `count_at` is real."""
    if target < 1:
        raise ParameterMatchError(f"the target parameter count must be positive, got {target}")
    counts: dict[int, int] = {}

    def count(units: int) -> int:
        if units not in counts:
            counts[units] = int(count_at(units))
        return counts[units]

    def within(units: int) -> bool:
        return abs(count(units) - target) <= tolerance * target

    guess = _quadratic_guess([(u, count(u)) for u in SAMPLE_UNITS], target)
    if guess is not None and 1 <= guess <= maximum_units and within(guess):
        return guess, count(guess)
    smallest = count(1)
    if smallest > target * (1 + tolerance):
        raise ParameterMatchError(f"even 1 unit gives {smallest:,} parameters, more than {target:,} + {tolerance:.0%}")
    # Not quadratic after all: bisect for the first units whose count reaches the target (counts grow with units).
    low, high = 1, 2
    while count(high) < target:
        if high >= maximum_units:
            raise ParameterMatchError(f"{maximum_units:,} units give only {count(high):,} parameters")
        low, high = high, min(maximum_units, high * 2)
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if count(middle) < target else (low, middle)
    best = min((low, high), key=lambda u: abs(count(u) - target))
    if not within(best):
        raise ParameterMatchError(
            f"no width is within {tolerance:.0%} of {target:,}: {low} units give {count(low):,}, "
            f"{high} give {count(high):,}"
        )
    return best, count(best)


def _quadratic_guess(points: list[tuple[int, int]], target: int) -> int | None:
    """The positive root of the quadratic through three (units, count) points, rounded; None if there is none."""
    (x0, y0), (x1, y1), (x2, y2) = points
    # Divided differences give the exact quadratic through three points, in integers where possible.
    first = (y1 - y0) / (x1 - x0)
    second = ((y2 - y1) / (x2 - x1) - first) / (x2 - x0)
    a = second
    b = first - second * (x0 + x1)
    c = y0 - x0 * (first - second * x1)
    c -= target
    if abs(a) < 1e-12:
        return round(-c / b) if b > 0 else None
    discriminant = b * b - 4 * a * c
    if discriminant < 0:
        return None
    root = (-b + math.sqrt(discriminant)) / (2 * a)
    return round(root) if root > 0 else None
