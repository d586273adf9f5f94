"""Confidence intervals for the figures a run reports: a test accuracy is a share of a finite test set."""

from __future__ import annotations

import math

Z_95 = 1.959963984540054  # the standard normal's 97.5th percentile


def wilson_interval(successes: int, trials: int, z: float = Z_95) -> tuple[float, float]:
    """The Wilson score interval of a proportion (95% by default).

    Unlike the normal approximation p +- z sqrt(p(1-p)/n), it stays inside [0, 1] and is not empty at 0% or 100%,
    which is where small test sets of a well-trained model sit.
    """
    if trials <= 0:
        raise ValueError(f"an interval needs at least one trial, got {trials}")
    if not 0 <= successes <= trials:
        raise ValueError(f"successes must be between 0 and {trials}, got {successes}")
    share = successes / trials
    denominator = 1 + z * z / trials
    centre = (share + z * z / (2 * trials)) / denominator
    half_width = z * math.sqrt(share * (1 - share) / trials + z * z / (4 * trials * trials)) / denominator
    # At 0% and 100% the bound is exactly 0 or 1; the arithmetic above would leave it a rounding error short.
    low = 0.0 if successes == 0 else max(0.0, centre - half_width)
    high = 1.0 if successes == trials else min(1.0, centre + half_width)
    return low, high
