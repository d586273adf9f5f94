"""The scene grammar read back: what a synthetic caption states, and whether the scene bears it out."""

from __future__ import annotations

import re
from dataclasses import dataclass

from datasets.scenes import COLOURS, OPPOSITE, PREFIXES, RELATION_PHRASES, SHAPES, SIZE_WORDS, Scene, relation_holds

_SIZE = {word: size for size, words in SIZE_WORDS.items() for word in words}
_OBJECT = rf"a ({'|'.join(_SIZE)}) ({'|'.join(COLOURS)}) ({'|'.join(SHAPES)})"
_RELATION = {phrase: relation for relation, phrases in RELATION_PHRASES.items() for phrase in phrases}
_RELATION_PATTERN = "|".join(sorted((re.escape(p) for p in _RELATION), key=len, reverse=True))
_CLAUSE = re.compile(rf"^{_OBJECT}(?: ({_RELATION_PATTERN}) {_OBJECT})?$")
_PREFIX = re.compile(rf"^(?:{'|'.join(p for p in PREFIXES if p)}) ")


@dataclass
class ParsedCaption:
    """What a caption states: objects as (size, colour, shape) and relations as (subject, relation, object)."""

    objects: list[tuple[str, str, str]]
    relations: list[tuple[tuple[str, str, str], str, tuple[str, str, str]]]


def parse_caption(caption: str) -> ParsedCaption | None:
    """The objects and relations a caption of the scene grammar states; None when it is not in the grammar."""
    text = _PREFIX.sub("", " ".join(caption.lower().split()))
    if not text:
        return None
    objects, relations = [], []
    for clause in text.split(" and "):
        match = _CLAUSE.match(clause)
        if match is None:
            return None
        size, colour, shape, relation, size2, colour2, shape2 = match.groups()
        first = (_SIZE[size], colour, shape)
        objects.append(first)
        if relation is not None:
            second = (_SIZE[size2], colour2, shape2)
            objects.append(second)
            relations.append((first, _RELATION[relation], second))
    return ParsedCaption(objects, relations)


@dataclass
class CaptionCheck:
    """The verdict on one caption: parsed, every statement true, every shape mentioned, and the counts behind it."""

    parsed: bool
    true_statements: int
    false_statements: int
    missing_objects: int
    # False relations between two shapes that are in the scene, where the opposite relation holds: the right
    # shapes, placed the wrong way round.
    reversed_relations: int = 0
    true_relations: int = 0

    @property
    def truthful(self) -> bool:
        return self.parsed and self.false_statements == 0

    @property
    def correct(self) -> bool:
        """Everything stated is true and every shape in the scene is mentioned."""
        return self.truthful and self.missing_objects == 0


def check_caption(caption: str, scene: Scene) -> CaptionCheck:
    """Check every stated shape, colour, size and relation of a caption against the scene."""
    parsed = parse_caption(caption)
    if parsed is None:
        return CaptionCheck(False, 0, 0, len(scene.objects))
    by_attributes = {item.attributes: item for item in scene.objects}
    true = false = reversed_relations = true_relations = 0
    for attributes in parsed.objects:
        if attributes in by_attributes:
            true += 1
        else:
            false += 1
    for subject, relation, reference in parsed.relations:
        holds = turned = False
        if subject in by_attributes and reference in by_attributes and subject != reference:
            first, second = by_attributes[subject], by_attributes[reference]
            holds = relation_holds(first, relation, second)
            turned = not holds and relation_holds(first, OPPOSITE[relation], second)
        true, false = (true + 1, false) if holds else (true, false + 1)
        true_relations += holds
        reversed_relations += turned
    mentioned = set(parsed.objects)
    missing = sum(1 for item in scene.objects if item.attributes not in mentioned)
    return CaptionCheck(True, true, false, missing, reversed_relations, true_relations)
