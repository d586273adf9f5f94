"""Every layout template with every cell: builds, trains a step, has the right shapes, respects masks, and its
step model reproduces the full-sequence forward pass."""

import keras
import numpy as np
import pytest

from models.decoding import StepRunner
from models.stacks import RNNSpec
from models.templates import (
    INJECTIONS,
    DecoderHead,
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


def test_one_to_many_with_an_image_encoder(rng):
    encoder = keras.Sequential(
        [keras.layers.Conv2D(4, 3, strides=2, activation="relu"), keras.layers.Reshape((-1, 4))], name="encoder"
    )
    model = one_to_many(SPECS["gru"], 9, encoder=encoder, input_shape=(16, 16, 3), inject="par", attention="dot")
    images = rng.random((2, 16, 16, 3)).astype("float32")
    tokens = rng.integers(0, 9, (2, 4))
    full = predict(model, [images, tokens])
    assert np.abs(step_through(one_to_many_inference(model), tokens, images) - full).max() < 1e-5


@keras.saving.register_keras_serializable(package="rnn_gallery_tests")
class MemoryHead(DecoderHead):
    """A head with a recurrent layer of its own over the decoder output, and doubled logits."""

    def __init__(self, units: int):
        self.units = units

    def recurrent(self, layers, spec):
        return layers.stack(None if spec is None else RNNSpec("gru", self.units), "memory")

    def read(self, layers, stack, step, features, states):
        read, final_states = stack(step.output, initial_states=states)
        return [*features, read], final_states

    def logits(self, layers, step, logits):
        return layers("double", lambda: keras.layers.Rescaling(2.0, name="double"))(logits)

    def get_config(self):
        return {"units": self.units}


def test_a_decoder_head_adds_layers_and_states_and_is_rebuilt_from_the_saved_model(tmp_path, rng):
    model = one_to_many(SPECS["lstm"], 9, feature_shape=(5, 6), inject="par", attention="dot", head=MemoryHead(4))
    features = rng.normal(size=(2, 5, 6)).astype("float32")
    tokens = rng.integers(0, 9, (2, 4))
    full = predict(model, [features, tokens])
    model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras", safe_mode=True)
    inference = one_to_many_inference(loaded)
    # Two LSTM layers with two states each, and the head's GRU with one.
    assert inference.state_count == 5 and inference.state_widths[-1] == 4
    assert np.abs(step_through(inference, tokens, features) - full).max() < 1e-5
    assert np.allclose(
        full, 2 * predict(keras.Model(model.inputs, model.get_layer("output").output), [features, tokens])
    )
    train_one_step(model, [features, tokens], rng.integers(0, 9, (2, 4)))


def test_the_step_model_is_rebuilt_from_the_stored_arguments_only():
    model = one_to_many(SPECS["gru"], 7, feature_shape=(3, 4), inject="merge", attention="additive")
    arguments = model.get_layer("one_to_many_arguments").arguments
    assert (arguments["inject"], arguments["attention"], arguments["head"]) == ("merge", "additive", None)
    bare = keras.Model(model.inputs, model.get_layer("output").output)
    with pytest.raises(ValueError, match="build and train it again"):
        one_to_many_inference(bare)

    class Unregistered(DecoderHead):
        pass

    with pytest.raises(ValueError, match="register_keras_serializable"):
        one_to_many(SPECS["gru"], 7, feature_shape=(3, 4), head=Unregistered())


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
