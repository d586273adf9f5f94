"""The translation model: its step model reproduces the training-time forward pass, and beam search can beat
greedy decoding."""

import numpy as np
import pytest

from datasets.pairs import END, START
from gallery.translation.config import TranslationConfig
from gallery.translation.data import Encoded
from gallery.translation.model import build_model, initialise_output_bias
from gallery.translation.train import compile_model
from models.decoding import StepRunner, beam_search, greedy
from models.templates import seq2seq_inference


@pytest.mark.parametrize(
    ("cell", "attention", "bidirectional"), [("lstm", "additive", True), ("gru", "dot", False), ("lstm", "none", False)]
)
def test_step_model_equals_training_forward_pass(cell, attention, bidirectional, rng):
    config = TranslationConfig.from_preset("smoke", cell=cell, attention=attention, bidirectional=bidirectional)
    model = build_model(config, 20, 17)
    source = rng.integers(4, 20, (3, 7))
    source[1, 4:] = 0  # a shorter sentence, padded
    target_in = np.concatenate([np.full((3, 1), START), rng.integers(4, 17, (3, 5))], axis=1)
    full = np.asarray(model({"source": source, "target_in": target_in}, training=False))

    inference = seq2seq_inference(model)
    assert inference.has_attention == (attention != "none")
    runner = StepRunner(inference)
    context, states = runner.start(source)
    steps = []
    for t in range(target_in.shape[1]):
        logits, states, weights = runner(target_in[:, t], context, states)
        steps.append(logits)
        if weights is not None:
            # Attention is a distribution over the real source tokens only.
            np.testing.assert_allclose(weights.sum(axis=-1), 1.0, atol=1e-5)
            assert np.abs(weights[1, 4:]).max() < 1e-6
    assert np.abs(np.stack(steps, axis=1) - full).max() < 1e-5


def test_loss_of_a_bucketed_batch_equals_the_loss_padded_to_full_width(rng):
    config = TranslationConfig.from_preset("smoke")
    model = build_model(config, 20, 17)
    compile_model(model, config)
    rows, width = 6, 18
    lengths = [2, 3, 3, 4, 5, 5]
    encoded = Encoded(*(np.zeros((rows, width + (k > 0)), np.int32) for k in range(3)))
    for row, length in enumerate(lengths):
        words = rng.integers(4, 17, length)
        encoded.source[row, :length] = rng.integers(4, 20, length)
        encoded.target_in[row, : length + 1] = [START, *words]
        encoded.target_out[row, : length + 1] = [*words, END]
    bucketed = encoded.batches(rows)
    (inputs, targets, weights) = bucketed[0]
    assert inputs["source"].shape[1] == 8 and targets.shape[1] == 8  # cut from 18 and 19 to the longest, rounded
    full_inputs = {"source": encoded.source, "target_in": encoded.target_in}
    full_weights = (encoded.target_out != 0).astype(np.float32)
    order = bucketed.rows(0)
    padded = model.evaluate(full_inputs, encoded.target_out, sample_weight=full_weights, verbose=0, return_dict=True)
    cut = model.evaluate(inputs, targets, sample_weight=weights, verbose=0, return_dict=True)
    assert sorted(order) == list(range(rows))
    assert abs(padded["loss"] - cut["loss"]) < 1e-5
    assert abs(padded["token_accuracy"] - cut["token_accuracy"]) < 1e-6


def test_output_bias_starts_the_decoder_at_the_unigram_distribution(rng):
    config = TranslationConfig.from_preset("smoke")
    model = build_model(config, 20, 17)
    target_out = np.zeros((50, 6), np.int32)
    target_out[:, :5] = rng.choice([4, 5, 6, END], size=(50, 5), p=[0.6, 0.2, 0.1, 0.1])
    bias = initialise_output_bias(model, target_out)
    frequencies = np.exp(bias)
    np.testing.assert_allclose(frequencies.sum(), 1.0, rtol=1e-5)
    counts = np.bincount(target_out[target_out != 0], minlength=17)
    np.testing.assert_allclose(frequencies, (counts + 1) / (counts + 1).sum(), rtol=1e-5)
    np.testing.assert_array_equal(model.get_layer("output").get_weights()[1], bias)


class ScriptedRunner:
    """A fake step model with fixed next-token probabilities given the previous token (ids 4 = A, 5 = B, 6 = C).

    From [start], A (0.6) beats B (0.4). After A the best token is C (0.42), after C the end (0.55); after B the
    end is almost certain (0.9). Greedy writes "A C" with probability 0.6 * 0.42 * 0.55 = 0.139; the best sentence
    is "B" with 0.4 * 0.9 = 0.36, which only a search that keeps B alive finds.
    """

    VOCAB = 7

    def __init__(self):
        table = np.full((self.VOCAB, self.VOCAB), 1e-12)
        table[START, [4, 5]] = [0.6, 0.4]
        table[4, [END, 5, 6]] = [0.3, 0.28, 0.42]
        table[5, [END, 6]] = [0.9, 0.1]
        table[6, [END, 6]] = [0.55, 0.45]
        table[END, END] = 1.0
        self.log_table = np.log(table)

    def __call__(self, tokens, context, states):
        tokens = np.asarray(tokens)
        return self.log_table[tokens], [tokens[:, None].astype(np.float32)], None


def test_beam_search_beats_greedy_on_a_constructed_case():
    runner = ScriptedRunner()
    starts = np.array([START])
    states = [np.zeros((1, 1), np.float32)]
    greedy_result = greedy(runner, [], states, starts, END, 6)
    beam_result = beam_search(runner, [], states, starts, END, 6, beam_width=2)
    assert greedy_result.tokens == [[4, 6]]
    assert beam_result.tokens == [[5]]
    log = runner.log_table
    greedy_probability = np.exp(log[START, 4] + log[4, 6] + log[6, END])
    beam_probability = np.exp(log[START, 5] + log[5, END])
    assert beam_probability > 2 * greedy_probability
