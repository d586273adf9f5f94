"""The hello network's data: one word as one-hot inputs and next-character targets."""

from __future__ import annotations

import numpy as np


def vocabulary(word: str) -> list[str]:
    """Characters in order of first appearance: "hello" gives the lecture's [h, e, l, o]."""
    return list(dict.fromkeys(word))


def encode(word: str, vocab: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """One-hot inputs word[:-1] and target indices word[1:], each with a batch axis of one."""
    ids = np.array([vocab.index(char) for char in word])
    inputs = np.eye(len(vocab), dtype=np.float32)[ids[:-1]][None]
    return inputs, ids[1:][None]
