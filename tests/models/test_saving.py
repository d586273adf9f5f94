"""`.keras` round trips: every cell, custom ones included, loads with safe_mode=True and predicts the same."""

import subprocess
import sys

import keras
import numpy as np
import pytest

from gallery.runs import save_model
from models.stacks import RNNSpec
from models.templates import many_to_many, many_to_one, one_to_many, seq2seq

SPECS = [
    RNNSpec("rnn", 6),
    RNNSpec("rnn", 6, activation="leaky_relu"),
    RNNSpec("rnn", 6, activation="maxout"),
    RNNSpec("rnn", 6, activation="elu", explicit=True),
    RNNSpec("lstm", 6, 2),
    RNNSpec("gru", 6),
    RNNSpec("none", 6),
]


def reload(model, tmp_path):
    path = save_model(model, tmp_path / "model.keras")
    return keras.saving.load_model(path, safe_mode=True)


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: f"{s.cell}-{s.activation}{'-explicit' if s.explicit else ''}")
def test_every_cell_round_trips(spec, tmp_path, rng):
    model = many_to_many(spec, 5, vocab_size=5)
    tokens = rng.integers(0, 5, (2, 7))
    loaded = reload(model, tmp_path)
    assert np.array_equal(np.asarray(model(tokens)), np.asarray(loaded(tokens)))


def test_templates_with_attention_and_glue_layers_round_trip(tmp_path, rng):
    features = rng.normal(size=(2, 3, 4)).astype("float32")
    tokens = rng.integers(1, 7, (2, 5))
    cases = [
        (
            one_to_many(RNNSpec("gru", 6), 7, feature_shape=(3, 4), inject="par", attention="additive"),
            [features, tokens],
        ),
        (one_to_many(RNNSpec("lstm", 6), 7, feature_shape=(3, 4), inject="pre", attention="dot"), [features, tokens]),
        (
            one_to_many(RNNSpec("lstm", 6), 7, feature_shape=(3, 4), inject="init", attention="dot"),
            [features, tokens],
        ),
        (
            one_to_many(
                RNNSpec("gru", 6),
                7,
                encoder=keras.Sequential([keras.layers.Conv2D(5, 1), keras.layers.Reshape((-1, 5))], name="encoder"),
                input_shape=(2, 2, 3),
                inject="par",
            ),
            [features.reshape(2, 2, 2, 3), tokens],
        ),
        (seq2seq(RNNSpec("lstm", 6, bidirectional=True), 7, 7, attention="dot"), [tokens, tokens]),
        (many_to_one(RNNSpec("gru", 6), 3, vocab_size=7, pooling="attention"), tokens),
    ]
    for index, (model, inputs) in enumerate(cases):
        folder = tmp_path / str(index)
        loaded = reload(model, folder)
        assert np.array_equal(np.asarray(model(inputs)), np.asarray(loaded(inputs))), model.name


def test_a_fresh_process_loads_custom_cells(tmp_path, rng):
    model = many_to_many(RNNSpec("rnn", 4, activation="maxout"), 5, vocab_size=5)
    tokens = rng.integers(0, 5, (1, 6))
    save_model(model, tmp_path / "model.keras")
    np.save(tmp_path / "tokens.npy", tokens)
    np.save(tmp_path / "expected.npy", np.asarray(model(tokens)))
    script = (
        "import sys, numpy as np, keras, models\n"
        "folder = sys.argv[1]\n"
        "model = keras.saving.load_model(folder + '/model.keras', safe_mode=True)\n"
        "got = np.asarray(model(np.load(folder + '/tokens.npy')))\n"
        "assert np.array_equal(got, np.load(folder + '/expected.npy'))\n"
    )
    subprocess.run([sys.executable, "-c", script, str(tmp_path)], check=True, timeout=120)
