"""The captioning layers and head: grounded words, the word loss, the views' layers, coordinates, and the head on
the one-to-many template (steps like the full pass, clear errors)."""

import keras
import numpy as np
import pytest

from gallery.captioning.layers import ChannelsAsImages, GridCoordinates, GroundedWords, NextWordLoss, StrongestChannel
from gallery.captioning.model import CaptionHead
from models.decoding import StepRunner
from models.stacks import RNNSpec
from models.templates import INJECTIONS, one_to_many, one_to_many_inference


def step_through(model, tokens, features):
    runner = StepRunner(one_to_many_inference(model))
    context, states = runner.start(features)
    outputs = []
    for t in range(tokens.shape[1]):
        logits, states, _ = runner(tokens[:, t], context, states)
        outputs.append(logits)
    return np.stack(outputs, axis=1)


def test_grounded_words_take_the_group_mass_from_the_language_model_and_the_choice_from_the_region(rng):
    groups = [[2, 3, 4], [5, 6]]
    language = rng.normal(size=(2, 3, 8)).astype("float32")
    regions = [rng.normal(size=(2, 3, len(group))).astype("float32") for group in groups]
    output = np.asarray(GroundedWords(groups)([language, *regions]))

    def softmax(x):
        e = np.exp(x - x.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)

    expected = softmax(language.astype("float64"))
    for group, region in zip(groups, regions):
        mass = expected[..., group].sum(axis=-1, keepdims=True)
        expected[..., group] = mass * softmax(region.astype("float64"))
    assert np.allclose(np.exp(output), expected, atol=1e-6)
    assert np.allclose(np.exp(output).sum(axis=-1), 1.0, atol=1e-5)
    # Within a group, the language model's preferences do not matter: only how much it wants the group at all.
    shifted = language.copy()
    shifted[..., 2] += 5.0
    shifted[..., 3] -= 5.0
    moved = np.asarray(GroundedWords(groups)([shifted, *regions]))
    ratio = np.exp(moved[..., 2] - moved[..., 3])
    assert np.allclose(ratio, np.exp(output[..., 2] - output[..., 3]), rtol=1e-4)
    with pytest.raises(ValueError, match="disjoint"):
        GroundedWords([[1, 2], [2, 3]])


def test_next_word_loss_scores_each_step_against_the_following_token_while_training_only(rng):
    logits = rng.normal(size=(2, 4, 6)).astype("float32")
    tokens = np.array([[1, 2, 3, 0], [1, 5, 4, 2]])
    layer = NextWordLoss(0.5)
    assert np.array_equal(np.asarray(layer([logits, tokens], training=False)), logits) and not layer.losses
    layer([logits, tokens], training=True)
    log_probs = logits - np.log(np.exp(logits).sum(axis=-1, keepdims=True))
    # Steps 0-1 of the first row (step 2 is followed by padding) and 0-2 of the second.
    pairs = [(0, 0, 2), (0, 1, 3), (1, 0, 5), (1, 1, 4), (1, 2, 2)]
    expected = 0.5 * np.mean([-log_probs[row, step, token] for row, step, token in pairs])
    assert float(layer.losses[0]) == pytest.approx(expected, rel=1e-5)
    assert NextWordLoss.from_config(layer.get_config()).weight == 0.5


def test_channels_as_images_and_back_keep_the_strongest_channel(rng):
    images = rng.uniform(0, 1, (2, 4, 6, 3)).astype("float32")
    grey = np.asarray(ChannelsAsImages()(images))
    assert grey.shape == (6, 4, 6, 1)
    assert np.array_equal(grey[1, ..., 0], images[0, ..., 1]) and np.array_equal(grey[5, ..., 0], images[1, ..., 2])
    regions = np.asarray(StrongestChannel(3)(grey))
    assert regions.shape == (2, 24, 1)
    assert np.array_equal(regions[..., 0], images.max(axis=-1).reshape(2, 24))
    layer = StrongestChannel.from_config(StrongestChannel(5).get_config())
    assert layer.channels == 5


def test_grid_coordinates_name_each_cell():
    grid = GridCoordinates()(np.zeros((2, 3, 5, 1), "float32"))
    assert grid.shape == (2, 3, 5, 3)
    rows, columns = np.asarray(grid[0, ..., 1]), np.asarray(grid[0, ..., 2])
    assert np.allclose(rows[:, 0], [-1, 0, 1]) and np.allclose(rows[0], -1)
    assert np.allclose(columns[0], [-1, -0.5, 0, 0.5, 1]) and np.allclose(columns[:, 4], 1)


@pytest.mark.parametrize("inject", INJECTIONS)
def test_the_reader_carries_its_own_state_step_by_step(inject, rng):
    head = CaptionHead(8, reader=True)
    model = one_to_many(RNNSpec("lstm", 8, 2), 11, feature_shape=(5, 6), inject=inject, attention="additive", head=head)
    assert model.get_layer("reader_0").units == 8
    features = rng.normal(size=(2, 5, 6)).astype("float32")
    tokens = rng.integers(0, 11, (2, 6))
    full = np.asarray(model([features, tokens], training=False))
    # Two decoder layers and the reader, two LSTM states each.
    assert one_to_many_inference(model).state_count == 6
    assert np.abs(step_through(model, tokens, features) - full).max() < 1e-5
    with pytest.raises(ValueError, match="needs attention"):
        one_to_many(RNNSpec("gru", 8), 11, feature_shape=(5, 6), attention="none", head=head)


def test_the_head_refuses_what_it_cannot_build():
    with pytest.raises(ValueError, match="two word groups"):
        CaptionHead(8, word_groups=[[1, 2]])
    with pytest.raises(ValueError, match="needs word groups"):
        CaptionHead(8, word_loss=0.5)
    encoder = keras.Sequential([keras.layers.Conv2D(4, 4, strides=4), keras.layers.Reshape((-1, 4))], name="encoder")
    with pytest.raises(ValueError, match="encoder's grid"):
        one_to_many(
            RNNSpec("gru", 8),
            9,
            encoder=encoder,
            input_shape=(16, 16, 3),
            attention="dot",
            head=CaptionHead(8, word_groups=[[3, 4], [5, 6]]),
        )
