"""The translation model: its step model reproduces the training-time forward pass, and beam search can beat
greedy decoding."""

import numpy as np
import pytest

from datasets.pairs import END, START
from gallery.translation.app import TranslationConfig, build_model
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
