"""Train, validation and test splits of sentence pairs in which no sentence sits on two sides.

Tatoeba-style files hold several translations of many sentences ("Vete." and "Ve." both for "Go."), and a chain of
such pairs links more sentences still. Split pair by pair, the same source or target sentence lands in training and
in test, and the test rewards memory. Here the pairs that share a source or a target sentence (after the
tokenizer's standardisation) are joined into groups, the connected parts of the pair graph, and whole groups are
dealt to test, validation and train in a seeded order.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

Pair = tuple[str, str]


def sentence_groups(pairs: Sequence[Pair], key: Callable[[str], str]) -> list[list[int]]:
    """Indices of the pairs, grouped so that pairs sharing a source or a target `key` are in one group.

    Groups are in the order of their first pair, each group's indices ascending.
    """
    parent = list(range(len(pairs)))

    def root(index: int) -> int:
        while parent[index] != index:
            parent[index] = parent[parent[index]]
            index = parent[index]
        return index

    first_with: dict[tuple[int, str], int] = {}
    for index, pair in enumerate(pairs):
        for side, text in enumerate(pair):
            seen = first_with.setdefault((side, key(text)), index)
            joined, other = root(index), root(seen)
            if joined != other:
                parent[max(joined, other)] = min(joined, other)
    groups: dict[int, list[int]] = {}
    for index in range(len(pairs)):
        groups.setdefault(root(index), []).append(index)
    return list(groups.values())


def grouped_split(
    pairs: Sequence[Pair],
    key: Callable[[str], str],
    *,
    test_fraction: float,
    validation_fraction: float,
    seed: int,
) -> tuple[list[Pair], list[Pair], list[Pair]]:
    """(train, validation, test): whole groups in a seeded order fill test to `test_fraction` of the pairs, then
    validation to `validation_fraction` of the rest; the remaining groups train."""
    groups = sentence_groups(pairs, key)
    random.Random(seed).shuffle(groups)
    test_target = max(1, round(len(pairs) * test_fraction))
    validation_target = max(1, round((len(pairs) - test_target) * validation_fraction))
    parts: list[list[Pair]] = [[], [], []]  # test, validation, train
    targets = [test_target, validation_target, len(pairs)]
    part = 0
    for group in groups:
        while part < 2 and len(parts[part]) >= targets[part]:
            part += 1
        parts[part].extend(pairs[index] for index in group)
    test, validation, train = parts
    if not train or not validation or not test:
        raise ValueError(
            f"{len(pairs)} pairs in {len(groups)} groups of shared sentences are too few to split into "
            "train, validation and test; give more pairs"
        )
    return train, validation, test


def shared_sentences(first: Sequence[Pair], second: Sequence[Pair], key: Callable[[str], str]) -> set[str]:
    """The standardised sentences, source or target, found in both collections of pairs."""

    def sentences(pairs: Sequence[Pair]) -> set[tuple[int, str]]:
        return {(side, key(text)) for pair in pairs for side, text in enumerate(pair)}

    return {text for _, text in sentences(first) & sentences(second)}
