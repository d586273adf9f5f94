"""Synthetic scenes of coloured shapes drawn with Pillow, their reference captions, and a parser that checks them.

Each scene is a square image (64 to 96 pixels) with a noisy, striped background and one to three shapes (circle,
square, triangle) in four colours and two sizes, placed on a 3 x 3 grid so that each new shape shares a row or a
column with the one before it: "left of", "right of", "above" and "below" then hold without doubt. Every scene
gets several reference captions in varied phrasings, all produced from one small grammar:

    caption := [prefix] clause (" and " clause)*        prefix := "there is" | "we see" | "this picture shows"
    clause  := object | object relation object         relation := "left of" | "to the left of" | "right of" |
    object  := "a" size colour shape                                "to the right of" | "above" | "below"
    size    := "small" | "little" | "large" | "big"

`datasets.scene_grammar` reads that grammar back and tests every stated shape, colour, size and relation
against the scene's ground truth, so the same code checks the generator's own captions (in the tests) and the
model's (semantic accuracy).

Splits hold out some colour-shape combinations (by default no blue triangle, red square or green circle is ever
drawn in training): `test_seen` uses only combinations seen in training, `test_unseen` has at least one held-out
combination in every scene, so compositional generalisation is measured on its own. Everything is deterministic
by seed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageDraw

SHAPES = ("circle", "square", "triangle")
COLOURS = {
    "red": (220, 40, 40),
    "green": (40, 170, 60),
    "blue": (40, 80, 230),
    "yellow": (235, 205, 30),
}
SIZES = ("small", "large")
SIZE_WORDS = {"small": ("small", "little"), "large": ("large", "big")}
RELATIONS = ("left of", "right of", "above", "below")
RELATION_PHRASES = {
    "left of": ("left of", "to the left of"),
    "right of": ("right of", "to the right of"),
    "above": ("above",),
    "below": ("below",),
}
OPPOSITE = {"left of": "right of", "right of": "left of", "above": "below", "below": "above"}
PREFIXES = ("", "there is", "we see", "this picture shows")
HELD_OUT = (("blue", "triangle"), ("red", "square"), ("green", "circle"))
GRID = 3
# A relation is stated only between shapes in different grid cells; centres of neighbouring cells are a third of
# the image apart, and jitter moves a centre by less than a sixth, so this margin never misjudges a drawn scene.
RELATION_MARGIN = 0.1


@dataclass(frozen=True)
class SceneObject:
    """One shape: its attributes and its centre in image fractions (0 = left/top, 1 = right/bottom)."""

    shape: str
    colour: str
    size: str
    x: float
    y: float
    row: int = 0
    column: int = 0

    @property
    def attributes(self) -> tuple[str, str, str]:
        return (self.size, self.colour, self.shape)


@dataclass
class Scene:
    """The ground truth of one image: its objects and the (subject, relation, object) facts between neighbours."""

    objects: list[SceneObject]
    facts: list[tuple[int, str, int]] = field(default_factory=list)

    def combinations(self) -> set[tuple[str, str]]:
        return {(item.colour, item.shape) for item in self.objects}

    def to_dict(self) -> dict:
        return {
            "objects": [vars(item).copy() for item in self.objects],
            "facts": [list(fact) for fact in self.facts],
        }


def relation_holds(subject: SceneObject, relation: str, reference: SceneObject) -> bool:
    """Whether `subject relation reference` is true of the two shapes' centres."""
    if relation == "left of":
        return subject.x < reference.x - RELATION_MARGIN
    if relation == "right of":
        return subject.x > reference.x + RELATION_MARGIN
    if relation == "above":
        return subject.y < reference.y - RELATION_MARGIN
    if relation == "below":
        return subject.y > reference.y + RELATION_MARGIN
    raise ValueError(f"unknown relation {relation!r}; choose one of: {', '.join(RELATIONS)}")


# --- generation ----------------------------------------------------------------------------------------------------


def _relation_between(a: tuple[int, int], b: tuple[int, int]) -> str:
    """The relation of cell a to cell b, which share a row or a column."""
    (row_a, column_a), (row_b, column_b) = a, b
    if row_a == row_b:
        return "left of" if column_a < column_b else "right of"
    return "above" if row_a < row_b else "below"


def _allowed(combinations: list[tuple[str, str]], held_out: set, mode: str) -> list[tuple[str, str]]:
    if mode == "seen":
        return [combo for combo in combinations if combo not in held_out]
    if mode == "unseen":
        return [combo for combo in combinations if combo in held_out]
    return combinations


def random_scene(rng: np.random.Generator, *, held_out=HELD_OUT, mode: str = "seen", max_objects: int = 3) -> Scene:
    """A scene of 1..max_objects shapes with distinct colour-shape pairs; `mode` says which pairs may appear.

    `seen`: only pairs outside `held_out`; `unseen`: at least one held-out pair; `any`: anything.
    """
    held = set(held_out)
    every = [(colour, shape) for colour in COLOURS for shape in SHAPES]
    count = int(rng.integers(1, max_objects + 1))
    pool = _allowed(every, held, "seen" if mode == "seen" else "any")
    if mode == "unseen":
        forced = _allowed(every, held, "unseen")
        first = forced[int(rng.integers(len(forced)))]
        rest = [combo for combo in pool if combo != first]
        picks = [first] + [rest[i] for i in rng.choice(len(rest), count - 1, replace=False)]
        rng.shuffle(picks)
    else:
        picks = [pool[i] for i in rng.choice(len(pool), count, replace=False)]
    cells = _chain_of_cells(rng, count)
    cell_size = 1.0 / GRID
    objects = []
    for (colour, shape), (row, column) in zip(picks, cells):
        size = SIZES[int(rng.integers(2))]
        jitter = rng.uniform(-0.12, 0.12, size=2) * cell_size
        x = (column + 0.5) * cell_size + jitter[0]
        y = (row + 0.5) * cell_size + jitter[1]
        objects.append(SceneObject(shape, colour, size, float(x), float(y), row, column))
    facts = [(i + 1, _relation_between(cells[i + 1], cells[i]), i) for i in range(count - 1)]
    return Scene(objects, facts)


def _chain_of_cells(rng: np.random.Generator, count: int) -> list[tuple[int, int]]:
    """Grid cells where each one shares a row or a column with the cell before it."""
    cells = [(int(rng.integers(GRID)), int(rng.integers(GRID)))]
    while len(cells) < count:
        row, column = cells[-1]
        options = [(row, c) for c in range(GRID) if c != column] + [(r, column) for r in range(GRID) if r != row]
        options = [cell for cell in options if cell not in cells]
        cells.append(options[int(rng.integers(len(options)))])
    return cells


def _texture(rng: np.random.Generator, size: int) -> np.ndarray:
    """A grey-ish background with stripes and pixel noise, so the shapes never sit on a flat colour."""
    base = rng.uniform(90, 170) + rng.uniform(-15, 15, size=3)
    angle = rng.uniform(0, np.pi)
    period = rng.uniform(6, 16)
    yy, xx = np.mgrid[0:size, 0:size]
    stripes = 12 * np.sin((xx * np.cos(angle) + yy * np.sin(angle)) * 2 * np.pi / period)
    noise = rng.normal(0, 10, size=(size, size, 3))
    return np.clip(base + stripes[..., None] + noise, 0, 255).astype(np.uint8)


def draw_scene(scene: Scene, rng: np.random.Generator, image_size: int = 64) -> np.ndarray:
    """The scene as an (image_size, image_size, 3) uint8 array."""
    image = Image.fromarray(_texture(rng, image_size))
    draw = ImageDraw.Draw(image)
    cell = image_size / GRID
    for item in scene.objects:
        radius = cell * (0.42 if item.size == "large" else 0.24)
        cx, cy = item.x * image_size, item.y * image_size
        tint = np.clip(np.array(COLOURS[item.colour]) + rng.integers(-20, 21, size=3), 0, 255)
        colour = tuple(int(v) for v in tint)
        box = [cx - radius, cy - radius, cx + radius, cy + radius]
        if item.shape == "circle":
            draw.ellipse(box, fill=colour)
        elif item.shape == "square":
            side = radius * 0.88
            draw.rectangle([cx - side, cy - side, cx + side, cy + side], fill=colour)
        else:
            draw.polygon(
                [(cx, cy - radius), (cx - radius, cy + radius * 0.8), (cx + radius, cy + radius * 0.8)], colour
            )
    return np.asarray(image, dtype=np.uint8)


def _phrase(item: SceneObject, rng: np.random.Generator) -> str:
    size_word = SIZE_WORDS[item.size][int(rng.integers(2))]
    return f"a {size_word} {item.colour} {item.shape}"


def captions_for(scene: Scene, rng: np.random.Generator, count: int = 5) -> list[str]:
    """`count` distinct true captions of a scene (fewer only when the grammar has fewer), in varied phrasings.

    The first caption is canonical (no prefix, the generator's own fact order, the short relation words), so a
    model that learns it well reaches a high BLEU; the others vary the prefix, synonyms and which shape of each
    pair is the subject.
    """
    captions: list[str] = []
    attempts = 0
    while len(captions) < count and attempts < 20 * count:
        attempts += 1
        canonical = not captions
        prefix = "" if canonical else PREFIXES[int(rng.integers(len(PREFIXES)))]
        if len(scene.objects) == 1:
            clauses = [f"a {scene.objects[0].size} {scene.objects[0].colour} {scene.objects[0].shape}"]
            if not canonical:
                clauses = [_phrase(scene.objects[0], rng)]
        else:
            clauses = []
            for subject, relation, reference in scene.facts:
                if not canonical and rng.random() < 0.5:
                    subject, reference = reference, subject
                    relation = OPPOSITE[relation]
                first, second = scene.objects[subject], scene.objects[reference]
                if canonical:
                    words = f"a {first.size} {first.colour} {first.shape} {relation} "
                    words += f"a {second.size} {second.colour} {second.shape}"
                else:
                    phrases = RELATION_PHRASES[relation]
                    words = f"{_phrase(first, rng)} {phrases[int(rng.integers(len(phrases)))]} {_phrase(second, rng)}"
                clauses.append(words)
        caption = (prefix + " " if prefix else "") + " and ".join(clauses)
        if caption not in captions:
            captions.append(caption)
    return captions


# --- splits --------------------------------------------------------------------------------------------------------


@dataclass
class SceneSplit:
    """Images (N, S, S, 3) uint8, their scenes and their reference captions."""

    images: np.ndarray
    scenes: list[Scene]
    captions: list[list[str]]

    def __len__(self) -> int:
        return len(self.scenes)


@dataclass
class SceneData:
    """Train, validation and the two test splits (seen and held-out combinations) of synthetic scenes."""

    train: SceneSplit
    validation: SceneSplit
    test_seen: SceneSplit
    test_unseen: SceneSplit
    held_out: tuple[tuple[str, str], ...]
    image_size: int

    @staticmethod
    def vocabulary_words() -> list[str]:
        """Every word the grammar can produce, in a fixed order."""
        words = ["a", "and"]
        words += [word for prefix in PREFIXES for word in prefix.split()]
        words += [word for size in SIZE_WORDS.values() for word in size]
        words += list(COLOURS) + list(SHAPES)
        words += [word for phrases in RELATION_PHRASES.values() for phrase in phrases for word in phrase.split()]
        return list(dict.fromkeys(words))


def make_split(
    count: int, seed: int, mode: str, image_size: int, *, held_out=HELD_OUT, captions_per_image: int = 5
) -> SceneSplit:
    rng = np.random.default_rng(seed)
    scenes, images, captions = [], [], []
    for _ in range(count):
        scene = random_scene(rng, held_out=held_out, mode=mode)
        scenes.append(scene)
        images.append(draw_scene(scene, rng, image_size))
        captions.append(captions_for(scene, rng, captions_per_image))
    array = np.stack(images) if images else np.zeros((0, image_size, image_size, 3), np.uint8)
    return SceneSplit(array, scenes, captions)


def load_scenes(
    train: int,
    validation: int,
    test: int,
    *,
    image_size: int = 64,
    seed: int = 0,
    held_out=HELD_OUT,
    captions_per_image: int = 5,
) -> SceneData:
    """Deterministic splits: each has its own seed stream, so changing one split's size leaves the others alone."""
    if not 32 <= image_size <= 256:
        raise ValueError(f"image_size must be between 32 and 256 pixels, got {image_size}")
    held_out = tuple(tuple(pair) for pair in held_out)
    streams = np.random.SeedSequence(seed).spawn(4)
    seeds = [int(stream.generate_state(1)[0]) for stream in streams]
    kwargs = {"held_out": held_out, "captions_per_image": captions_per_image}
    return SceneData(
        train=make_split(train, seeds[0], "seen", image_size, **kwargs),
        validation=make_split(validation, seeds[1], "seen", image_size, **kwargs),
        test_seen=make_split(test, seeds[2], "seen", image_size, **kwargs),
        test_unseen=make_split(test, seeds[3], "unseen", image_size, **kwargs),
        held_out=held_out,
        image_size=image_size,
    )
