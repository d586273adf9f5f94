"""Decoding: greedy, sampling and beam search on step models, with carried state."""

import keras
import numpy as np
import pytest

from models.decoding import StepRunner, beam_search, feed, greedy, sample
from models.stacks import RNNSpec
from models.templates import InferenceModels, many_to_many, many_to_many_inference

END = 0


def table_model(log_probs: np.ndarray) -> InferenceModels:
    """A constructed Keras step model whose next-token log-probabilities depend only on the previous token."""
    vocab = log_probs.shape[0]
    token = keras.Input(shape=(1,), dtype="int32", name="token")
    table = keras.layers.Embedding(vocab, vocab, name="table")
    logits = keras.layers.Reshape((vocab,))(table(token))
    step = keras.Model(token, logits)
    table.set_weights([log_probs.astype("float32")])
    return InferenceModels(start=None, step=step, context_count=0, state_count=0)


def constructed_case():
    # Tokens: 0 = end, 1 = A, 2 = B, 3 = start. From the start, A (0.6) beats B (0.4); but after A every
    # continuation is unlikely (best 0.34), while after B the end follows with 0.9. So greedy says "A end"
    # (0.6 * 0.34 = 0.204) and the best sequence is "B end" (0.4 * 0.9 = 0.36).
    probabilities = np.full((4, 4), 1e-6)
    probabilities[3, [1, 2]] = [0.6, 0.4]
    probabilities[1, [0, 1, 2]] = [0.34, 0.33, 0.33]
    probabilities[2, [0, 1, 2]] = [0.9, 0.05, 0.05]
    return table_model(np.log(probabilities / probabilities.sum(axis=1, keepdims=True)))


def test_beam_search_finds_the_sequence_greedy_misses():
    runner = StepRunner(constructed_case())
    start = np.array([3])
    greedy_result = greedy(runner, [], [], start, END, max_length=5)
    beam_result = beam_search(runner, [], [], start, END, max_length=5, beam_width=2, length_penalty=0.0)
    assert greedy_result.tokens == [[1]]
    assert beam_result.tokens == [[2]]
    assert beam_result.scores[0] == pytest.approx(np.log(0.36), abs=1e-4)
    assert beam_result.scores[0] > greedy_result.scores[0]


@pytest.fixture(scope="module")
def language_model():
    keras.utils.set_random_seed(7)
    model = many_to_many(RNNSpec("lstm", 16, 2), 9, vocab_size=9, embedding_dim=8)
    return model, StepRunner(many_to_many_inference(model))


def test_beam_of_one_is_greedy(language_model):
    _, runner = language_model
    start = np.array([1, 2, 3, 4])
    context, states = runner.start(batch_size=4)
    by_greedy = greedy(runner, context, states, start, END, max_length=12)
    by_beam = beam_search(runner, context, states, start, END, max_length=12, beam_width=1)
    assert by_beam.tokens == by_greedy.tokens


def test_carried_state_generation_equals_the_full_forward_pass(language_model):
    model, runner = language_model
    context, states = runner.start(batch_size=2)
    prime = np.array([[1, 2, 3], [4, 5, 6]])
    # The prime is fed step by step, its last token starts the generation.
    logits, states = feed(runner, prime[:, :-1], context, states)
    generated = greedy(runner, context, states, prime[:, -1], None, max_length=6)
    # Feed prime + generated through the full model: each step's argmax must be the generated token.
    sequence = np.concatenate([prime, np.array(generated.tokens)], axis=1)
    full = np.asarray(model(sequence, training=False))
    assert np.abs(full[:, prime.shape[1] - 2] - logits).max() < 1e-5
    predicted = full[:, prime.shape[1] - 1 : -1].argmax(-1)
    assert (predicted == np.array(generated.tokens)).all()


def test_sampling_is_repeatable_by_seed_and_top_k_one_is_greedy(language_model):
    _, runner = language_model
    context, states = runner.start(batch_size=3)
    start = np.array([1, 1, 1])
    first = sample(runner, context, states, start, 20, temperature=1.0, seed=3)
    again = sample(runner, context, states, start, 20, temperature=1.0, seed=3)
    other = sample(runner, context, states, start, 20, temperature=1.0, seed=4)
    assert first.tokens == again.tokens
    assert first.tokens != other.tokens
    top_one = sample(runner, context, states, start, 20, top_k=1, seed=5)
    assert top_one.tokens == greedy(runner, context, states, start, None, 20).tokens


def test_bad_sampling_arguments_are_refused(language_model):
    _, runner = language_model
    context, states = runner.start(batch_size=1)
    with pytest.raises(ValueError, match="temperature"):
        sample(runner, context, states, np.array([1]), 5, temperature=0)
    with pytest.raises(ValueError, match="top_k"):
        sample(runner, context, states, np.array([1]), 5, top_k=0)


def test_beam_top_k_is_a_stable_sort_cut_to_k():
    from models.decoding import _top_k

    rng = np.random.default_rng(0)
    # Few distinct values, so ties are everywhere; -inf as at the first step of a beam; k up to the whole row.
    values = rng.integers(0, 5, size=(50, 40)).astype(float)
    values[::3, :25] = -np.inf
    for k in (1, 4, 40):
        expected = np.argsort(-values, axis=1, kind="stable")[:, :k]
        np.testing.assert_array_equal(_top_k(values, k), expected)
