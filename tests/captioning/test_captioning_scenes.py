"""The synthetic scenes: captions true of their scenes (by the same parser that scores the model), determinism,
held-out combinations kept out of training, and a checker that catches every kind of false statement."""

import numpy as np
import pytest

from datasets import scene_grammar, scenes
from datasets.captions import Vocabulary, tokenize


@pytest.fixture(scope="module")
def data():
    return scenes.load_scenes(120, 20, 40, image_size=64, seed=3)


def test_every_reference_caption_is_true_and_complete(data):
    for split in (data.train, data.validation, data.test_seen, data.test_unseen):
        for scene, captions in zip(split.scenes, split.captions):
            assert len(captions) >= 3
            assert len(set(captions)) == len(captions)
            for caption in captions:
                check = scene_grammar.check_caption(caption, scene)
                assert check.correct, (caption, scene)
                assert check.true_statements >= len(scene.objects)


def test_scenes_hold_one_to_three_distinct_shapes_with_every_attribute(data):
    counts = {len(scene.objects) for scene in data.train.scenes}
    assert counts == {1, 2, 3}
    seen = {(item.size, item.colour, item.shape) for scene in data.train.scenes for item in scene.objects}
    assert {size for size, _, _ in seen} == set(scenes.SIZES)
    assert {colour for _, colour, _ in seen} == set(scenes.COLOURS)
    assert {shape for _, _, shape in seen} == set(scenes.SHAPES)
    for scene in data.train.scenes:
        assert len({(item.colour, item.shape) for item in scene.objects}) == len(scene.objects)
    relations = {relation for scene in data.train.scenes for _, relation, _ in scene.facts}
    assert relations == set(scenes.RELATIONS)


def test_phrasings_vary(data):
    words = {word for captions in data.train.captions for caption in captions for word in caption.split()}
    for expected in ("there", "we", "shows", "big", "little", "to", "the"):
        assert expected in words


def test_deterministic_by_seed():
    first = scenes.load_scenes(10, 2, 3, seed=7)
    again = scenes.load_scenes(10, 2, 3, seed=7)
    other = scenes.load_scenes(10, 2, 3, seed=8)
    assert np.array_equal(first.train.images, again.train.images)
    assert first.train.captions == again.train.captions
    assert first.test_unseen.captions == again.test_unseen.captions
    assert not np.array_equal(first.train.images, other.train.images)


def test_held_out_combinations_never_appear_in_training_and_always_in_unseen_test(data):
    held = set(data.held_out)
    for split in (data.train, data.validation, data.test_seen):
        assert all(not (scene.combinations() & held) for scene in split.scenes)
    assert all(scene.combinations() & held for scene in data.test_unseen.scenes)
    for colour, shape in held:
        assert not any(f"{colour} {shape}" in caption for captions in data.train.captions for caption in captions)


def test_images_have_the_size_and_a_textured_background(data):
    assert data.train.images.shape == (120, 64, 64, 3)
    assert data.train.images.dtype == np.uint8
    corner = data.train.images[:, :6, :6].reshape(120, -1, 3).astype(float)
    assert corner.std(axis=1).mean() > 3
    assert scenes.load_scenes(2, 1, 1, image_size=96).train.images.shape[1:] == (96, 96, 3)


def test_shapes_are_drawn_in_their_colour_where_the_scene_says():
    rng = np.random.default_rng(0)
    scene = scenes.Scene([scenes.SceneObject("square", "red", "large", 0.5, 0.5, 1, 1)])
    image = scenes.draw_scene(scene, rng, 90).astype(int)
    red, green, blue = image[45, 45]
    assert red > 180 and green < 90 and blue < 90


def _scene_with_two():
    left = scenes.SceneObject("circle", "red", "small", 1 / 6, 0.5, 1, 0)
    right = scenes.SceneObject("square", "blue", "large", 5 / 6, 0.5, 1, 2)
    return scenes.Scene([left, right], [(0, "left of", 1)])


@pytest.mark.parametrize(
    "caption, correct, truthful",
    [
        ("a small red circle left of a large blue square", True, True),
        ("there is a big blue square to the right of a little red circle", True, True),
        ("a large blue square left of a small red circle", False, False),  # wrong relation
        ("a small red circle above a large blue square", False, False),  # wrong axis
        ("a small green circle left of a large blue square", False, False),  # wrong colour
        ("a large red circle left of a large blue square", False, False),  # wrong size
        ("a small red triangle left of a large blue square", False, False),  # wrong shape
        ("a small red circle", False, True),  # true but misses a shape
        ("a small red circle left of a small red circle", False, False),  # a shape beside itself
        ("a red circle left of a blue square", False, False),  # not in the grammar
        ("", False, False),
    ],
)
def test_checker_judges_each_statement(caption, correct, truthful):
    check = scene_grammar.check_caption(caption, _scene_with_two())
    assert check.correct is correct
    assert check.truthful is truthful


@pytest.mark.parametrize(
    "caption, true_relations, reversed_relations",
    [
        ("a small red circle left of a large blue square", 1, 0),
        ("a large blue square left of a small red circle", 0, 1),  # the right shapes, the wrong way round
        ("we see a small red circle to the right of a large blue square", 0, 1),
        ("a small red circle above a large blue square", 0, 0),  # wrong axis: above is not the opposite of left of
        ("a small green circle right of a large blue square", 0, 0),  # a shape that is not there
        ("a small red circle right of a small red circle", 0, 0),
    ],
)
def test_checker_counts_relations_stated_the_wrong_way_round(caption, true_relations, reversed_relations):
    check = scene_grammar.check_caption(caption, _scene_with_two())
    assert (check.true_relations, check.reversed_relations) == (true_relations, reversed_relations)
    assert check.false_statements >= reversed_relations


def test_parser_reads_prefixes_relations_and_clauses():
    parsed = scene_grammar.parse_caption(
        "we see a big red circle to the left of a small blue square and a large green triangle"
    )
    assert parsed.objects == [("large", "red", "circle"), ("small", "blue", "square"), ("large", "green", "triangle")]
    assert parsed.relations == [(("large", "red", "circle"), "left of", ("small", "blue", "square"))]
    assert scene_grammar.parse_caption("a big red circle left of") is None


def test_vocabulary_covers_every_word_the_grammar_writes(data):
    vocabulary = Vocabulary.build([], words=scenes.SceneData.vocabulary_words())
    for captions in data.train.captions + data.test_unseen.captions:
        for caption in captions:
            ids = vocabulary.encode(caption)
            assert vocabulary.unknown_id not in ids
            assert vocabulary.decode(ids) == " ".join(tokenize(caption))
