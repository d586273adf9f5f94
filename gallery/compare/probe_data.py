"""The two classic long-memory probes and their memoryless baselines: the adding problem and copy memory.

Adding problem (Hochreiter & Schmidhuber 1997; Le, Jaitly & Hinton 2015): every step carries a value drawn
uniformly from [0, 1) and a marker; exactly two steps are marked, one in each half of the sequence, and the
target is the sum of the two marked values. Always answering 1 (the mean of the sum) has an expected squared
error of Var(U1 + U2) = 2/12 = 1/6 = 0.1667. Le et al. quote 0.1767 for this baseline; that is an empirical
figure from their own sample, the expectation is 1/6, and the test checks the generator against 1/6.

Copy memory (Arjovsky, Shah & Bengio 2016): ten symbols from an alphabet of eight, then T - 1 blanks, a
delimiter, and ten more blanks (T + 20 steps); the target is blanks everywhere except the last ten steps, which
repeat the ten symbols. A model with no memory predicts blank for T + 10 steps and guesses uniformly among the
eight symbols for the last ten: a mean cross entropy of 10 ln 8 / (T + 20) nats per step.
"""

from __future__ import annotations

import math

import numpy as np

ADDING_FEATURES = 2
ADDING_CONSTANT_ANSWER = 1.0
ADDING_BASELINE_MSE = 1.0 / 6.0

COPY_SYMBOLS = 8
COPY_BLANK = 8
COPY_DELIMITER = 9
COPY_VOCABULARY = 10
COPY_LENGTH = 10


def adding_problem(count: int, length: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """`count` sequences of `length` steps with features (value, marker), and their targets, shape (count, 1)."""
    if length < 2:
        raise ValueError(f"the adding problem needs at least two steps, got length {length}")
    values = rng.uniform(0.0, 1.0, size=(count, length))
    half = length // 2
    first = rng.integers(0, half, size=count)
    second = rng.integers(half, length, size=count)
    markers = np.zeros((count, length))
    rows = np.arange(count)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    inputs = np.stack([values, markers], axis=-1).astype(np.float32)
    targets = (values[rows, first] + values[rows, second])[:, None].astype(np.float32)
    return inputs, targets


def adding_baseline_mse() -> float:
    """Expected squared error of always answering 1: the variance of the sum of two uniform values."""
    return ADDING_BASELINE_MSE


def copy_memory(count: int, delay: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """`count` token sequences of delay + 20 steps and their per-step target tokens (both int32)."""
    if delay < 1:
        raise ValueError(f"copy memory needs a delay of at least one step, got {delay}")
    length = delay + 2 * COPY_LENGTH
    symbols = rng.integers(0, COPY_SYMBOLS, size=(count, COPY_LENGTH))
    inputs = np.full((count, length), COPY_BLANK, dtype=np.int32)
    inputs[:, :COPY_LENGTH] = symbols
    inputs[:, COPY_LENGTH + delay - 1] = COPY_DELIMITER
    targets = np.full((count, length), COPY_BLANK, dtype=np.int32)
    targets[:, -COPY_LENGTH:] = symbols
    return inputs, targets


def copy_baseline_loss(delay: int) -> float:
    """Mean cross entropy (nats per step) of the best memoryless answer: blanks, then uniform guesses."""
    return COPY_LENGTH * math.log(COPY_SYMBOLS) / (delay + 2 * COPY_LENGTH)


def memoryless_copy_probabilities(delay: int) -> np.ndarray:
    """The memoryless answer itself, shape (delay + 20, vocabulary): certain blanks, then uniform over symbols."""
    length = delay + 2 * COPY_LENGTH
    probabilities = np.zeros((length, COPY_VOCABULARY))
    probabilities[: length - COPY_LENGTH, COPY_BLANK] = 1.0
    probabilities[length - COPY_LENGTH :, :COPY_SYMBOLS] = 1.0 / COPY_SYMBOLS
    return probabilities
