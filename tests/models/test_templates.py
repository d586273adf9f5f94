"""Every layout template with every cell: builds, trains a step, has the right shapes, respects masks, and its
step model reproduces the full-sequence forward pass."""

import keras
import numpy as np
import pytest

from models.attention import ChannelsAsImages, GridCoordinates, GroundedWords, NextWordLoss, StrongestChannel
from models.decoding import StepRunner
from models.stacks import RNNSpec
from models.templates import (
    INJECTIONS,
    many_to_many,
    many_to_many_inference,
    many_to_one,
    one_to_many,
    one_to_many_inference,
    seq2seq,
    seq2seq_inference,
)

SPECS = {
    "rnn": RNNSpec("rnn", 8, 2),
    "maxout": RNNSpec("rnn", 8, 1, activation="maxout"),
    "lstm": RNNSpec("lstm", 8, 2),
    "gru": RNNSpec("gru", 8, 2),
    "none": RNNSpec("none", 8, 1),
}


def predict(model, inputs):
    # An eager call: tracing a predict function for every small model would dominate the test's time.
    return np.asarray(model(inputs, training=False))


def train_one_step(model, inputs, targets):
    # Eagerly: tracing the training graph of each small model would dominate the test time.
    model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), run_eagerly=True)
    before = [w.copy() for w in model.get_weights()]
    loss = model.train_on_batch(inputs, targets)
    assert np.isfinite(loss)
    assert any(not np.allclose(a, b) for a, b in zip(before, model.get_weights()))


def step_through(inference, tokens, start_inputs=None):
    runner = StepRunner(inference)
    context, states = runner.start(start_inputs, batch_size=tokens.shape[0])
    outputs = []
    for t in range(tokens.shape[1]):
        logits, states, _ = runner(tokens[:, t], context, states)
        outputs.append(logits)
    return np.stack(outputs, axis=1)


@pytest.mark.parametrize("name", SPECS)
def test_many_to_many(name, rng):
    model = many_to_many(SPECS[name], 11, vocab_size=11, embedding_dim=6)
    tokens = rng.integers(0, 11, (4, 9))
    assert predict(model, tokens).shape == (4, 9, 11)
    full = predict(model, tokens)
    assert np.abs(step_through(many_to_many_inference(model), tokens) - full).max() < 1e-5
    train_one_step(model, tokens, rng.integers(0, 11, (4, 9)))


def test_many_to_many_on_vectors(rng):
    model = many_to_many(SPECS["gru"], 5, feature_dim=5)
    frames = rng.random((2, 6, 5)).astype("float32")
    full = predict(model, frames)
    assert np.abs(step_through(many_to_many_inference(model), frames) - full).max() < 1e-5


@pytest.mark.parametrize("name", SPECS)
@pytest.mark.parametrize("pooling", ["last", "mean", "attention"])
def test_many_to_one_ignores_padding(name, pooling, rng):
    spec = SPECS[name]
    spec = RNNSpec(spec.cell, spec.units, spec.layers, spec.activation, bidirectional=spec.cell != "none")
    model = many_to_one(spec, 5, vocab_size=12, pooling=pooling)
    tokens = rng.integers(1, 12, (3, 6))
    padded = np.concatenate([tokens, np.zeros((3, 4), int)], axis=1)
    assert predict(model, tokens).shape == (3, 5)
    assert np.abs(predict(model, tokens) - predict(model, padded)).max() < 1e-5
    train_one_step(model, padded, rng.integers(0, 5, (3,)))


@pytest.mark.parametrize("name", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("inject", INJECTIONS)
def test_one_to_many(name, inject, rng):
    attention = "dot" if inject in ("init", "merge") else "additive"
    model = one_to_many(SPECS[name], 13, feature_shape=(4, 6), inject=inject, attention=attention)
    features = rng.normal(size=(3, 4, 6)).astype("float32")
    tokens = rng.integers(0, 13, (3, 5))
    full = predict(model, [features, tokens])
    assert full.shape == (3, 5, 13)
    assert np.abs(step_through(one_to_many_inference(model), tokens, features) - full).max() < 1e-5
    train_one_step(model, [features, tokens], rng.integers(0, 13, (3, 5)))


@pytest.mark.parametrize("inject", INJECTIONS)
def test_one_to_many_with_a_reader_over_the_attended_context(inject, rng):
    model = one_to_many(SPECS["lstm"], 11, feature_shape=(5, 6), inject=inject, attention="additive", reader=True)
    assert model.get_layer("reader_0").units == 8
    features = rng.normal(size=(2, 5, 6)).astype("float32")
    tokens = rng.integers(0, 11, (2, 6))
    full = predict(model, [features, tokens])
    inference = one_to_many_inference(model)
    # Two decoder layers and the reader, two LSTM states each.
    assert inference.state_count == 6
    assert np.abs(step_through(inference, tokens, features) - full).max() < 1e-5
    train_one_step(model, [features, tokens], rng.integers(0, 11, (2, 6)))
    with pytest.raises(ValueError, match="needs attention"):
        one_to_many(SPECS["gru"], 11, feature_shape=(5, 6), attention="none", reader=True)


def test_one_to_many_with_an_image_encoder(rng):
    encoder = keras.Sequential(
        [keras.layers.Conv2D(4, 3, strides=2, activation="relu"), keras.layers.Reshape((-1, 4))], name="encoder"
    )
    model = one_to_many(SPECS["gru"], 9, encoder=encoder, input_shape=(16, 16, 3), inject="par", attention="dot")
    images = rng.random((2, 16, 16, 3)).astype("float32")
    tokens = rng.integers(0, 9, (2, 4))
    full = predict(model, [images, tokens])
    assert np.abs(step_through(one_to_many_inference(model), tokens, images) - full).max() < 1e-5


def test_one_to_many_with_grid_coordinates_and_a_reader(rng):
    encoder = keras.Sequential(
        [keras.layers.Conv2D(4, 3, strides=2), GridCoordinates(), keras.layers.Reshape((-1, 6))], name="encoder"
    )
    model = one_to_many(
        SPECS["gru"], 9, encoder=encoder, input_shape=(10, 10, 3), inject="init", attention="dot", reader=True
    )
    images = rng.random((2, 10, 10, 3)).astype("float32")
    tokens = rng.integers(0, 9, (2, 4))
    full = predict(model, [images, tokens])
    assert np.abs(step_through(one_to_many_inference(model), tokens, images) - full).max() < 1e-5
    train_one_step(model, [images, tokens], rng.integers(0, 9, (2, 4)))


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


def test_one_to_many_with_grounded_words_steps_like_the_full_pass(rng):
    groups = [[3, 4, 5], [6, 7]]
    model = one_to_many(
        SPECS["lstm"], 9, feature_shape=(5, 6), inject="par", attention="dot", reader=True, word_groups=groups
    )
    assert model.get_layer("ground_1").units == 2
    features = rng.normal(size=(2, 5, 6)).astype("float32")
    tokens = rng.integers(0, 9, (2, 4))
    full = predict(model, [features, tokens])
    assert np.allclose(np.exp(full).sum(axis=-1), 1.0, atol=1e-5)
    inference = one_to_many_inference(model)
    assert np.abs(step_through(inference, tokens, features) - full).max() < 1e-5
    train_one_step(model, [features, tokens], rng.integers(0, 9, (2, 4)))
    with pytest.raises(ValueError, match="need attention"):
        one_to_many(SPECS["gru"], 9, feature_shape=(5, 6), attention="none", word_groups=groups)


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


def test_one_to_many_with_an_auxiliary_word_loss_steps_like_the_full_pass(rng):
    groups = [[3, 4, 5], [6, 7]]
    common = {"feature_shape": (5, 6), "inject": "par", "attention": "dot", "reader": True}
    model = one_to_many(SPECS["lstm"], 9, word_groups=groups, word_loss=0.5, **common)
    features = rng.normal(size=(2, 5, 6)).astype("float32")
    tokens = rng.integers(1, 9, (2, 4))
    full = predict(model, [features, tokens])
    assert np.abs(step_through(one_to_many_inference(model), tokens, features) - full).max() < 1e-5
    model([features, tokens], training=True)
    assert len(model.losses) == 1
    train_one_step(model, [features, tokens], rng.integers(0, 9, (2, 4)))
    with pytest.raises(ValueError, match="needs word groups"):
        one_to_many(SPECS["lstm"], 9, word_loss=0.5, **common)


def test_group_encoders_must_match_the_groups_and_the_encoder_grid():
    def grid(rows, name):
        return keras.Sequential(
            [
                keras.Input((8, 8, 3)),
                keras.layers.Conv2D(4, 8 // rows, strides=8 // rows),
                keras.layers.Reshape((-1, 4)),
            ],
            name=name,
        )

    groups = [[3, 4], [5, 6]]
    common = {"encoder": grid(2, "encoder"), "input_shape": (8, 8, 3), "attention": "dot", "word_groups": groups}
    with pytest.raises(ValueError, match="one word group each"):
        one_to_many(SPECS["gru"], 9, group_encoders=[grid(2, "a")], **common)
    with pytest.raises(ValueError, match="grid of 4"):
        one_to_many(SPECS["gru"], 9, group_encoders=[grid(2, "a"), grid(4, "b")], **common)
    model = one_to_many(SPECS["gru"], 9, group_encoders=[grid(2, "a"), grid(2, "b")], **common)
    assert model.get_layer("ground_read_1").output.shape == (None, None, 4)


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


def test_no_recurrence_baseline_carries_no_state(rng):
    model = many_to_many(SPECS["none"], 7, vocab_size=7)
    tokens = rng.integers(0, 7, (2, 5))
    # Each output depends on its own input only: changing an earlier token leaves later outputs alone.
    changed = tokens.copy()
    changed[:, 0] = (changed[:, 0] + 1) % 7
    assert np.abs(predict(model, tokens)[:, 1:] - predict(model, changed)[:, 1:]).max() == 0
    model = seq2seq(SPECS["none"], 6, 6, attention="dot")
    source, target = rng.integers(1, 6, (2, 4)), rng.integers(0, 6, (2, 3))
    full = predict(model, [source, target])
    assert np.abs(step_through(seq2seq_inference(model), target, source) - full).max() < 1e-5
    with pytest.raises(ValueError, match="par or merge"):
        one_to_many(SPECS["none"], 5, feature_shape=(3,), inject="init")


@pytest.mark.parametrize("name", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("attention", ["none", "additive", "dot"])
def test_seq2seq(name, attention, rng):
    base = SPECS[name]
    spec = RNNSpec(base.cell, base.units, base.layers, bidirectional=attention == "additive")
    model = seq2seq(spec, 10, 12, attention=attention)
    source = rng.integers(1, 10, (3, 6))
    source[0, 3:] = 0
    target = rng.integers(0, 12, (3, 5))
    full = predict(model, [source, target])
    assert full.shape == (3, 5, 12)
    assert np.abs(step_through(seq2seq_inference(model), target, source) - full).max() < 1e-5
    # Padding the source must not change the translation.
    longer = np.concatenate([source, np.zeros((3, 3), int)], axis=1)
    assert np.abs(predict(model, [longer, target]) - full).max() < 1e-5
    train_one_step(model, [source, target], rng.integers(0, 12, (3, 5)))


def test_generative_layouts_refuse_bidirectional_decoders():
    with pytest.raises(ValueError, match="bidirectional"):
        one_to_many(RNNSpec("gru", 4, bidirectional=True), 5, feature_shape=(3,))
    model = many_to_many(RNNSpec("gru", 4, bidirectional=True), 5, vocab_size=5)
    with pytest.raises(ValueError, match="bidirectional"):
        many_to_many_inference(model)


def test_unknown_choices_are_named():
    with pytest.raises(ValueError, match="init, pre, par, merge"):
        one_to_many(SPECS["gru"], 5, feature_shape=(3,), inject="late")
    with pytest.raises(ValueError, match="none, additive, dot"):
        seq2seq(SPECS["gru"], 5, 5, attention="multihead")
    with pytest.raises(ValueError, match="last, mean, attention"):
        many_to_one(SPECS["gru"], 3, vocab_size=4, pooling="max")
