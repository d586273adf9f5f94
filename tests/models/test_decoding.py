"""Decoding: greedy, sampling and beam search on step models, with carried state; the compiled loops against the
stepwise NumPy reference (tests/test_jax_backend.py runs the same comparisons on JAX)."""

import keras
import numpy as np
import pytest

from models.decoding import (
    StepRunner,
    beam_search,
    beam_search_stepwise,
    feed,
    feed_stepwise,
    greedy,
    greedy_stepwise,
    sample,
    sample_stepwise,
)
from models.stacks import RNNSpec
from models.templates import (
    InferenceModels,
    many_to_many,
    many_to_many_inference,
    one_to_many,
    one_to_many_inference,
    seq2seq,
    seq2seq_inference,
)

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


# --- the compiled loops give what the stepwise NumPy reference gives -------------------------------------------------
# Plain functions, so jax_decoding_checks.py runs the very same checks on the JAX backend.


def small_language_model() -> StepRunner:
    keras.utils.set_random_seed(7)
    model = many_to_many(RNNSpec("lstm", 16, 2), 9, vocab_size=9, embedding_dim=8)
    return StepRunner(many_to_many_inference(model))


def small_translator() -> tuple[StepRunner, np.ndarray]:
    """A seq2seq model with additive attention and a batch of sources of several lengths (0 pads)."""
    keras.utils.set_random_seed(3)
    model = seq2seq(RNNSpec("gru", 12, 1), 10, 9, embedding_dim=6, attention="additive")
    sources = np.random.default_rng(0).integers(1, 10, (5, 6))
    sources[1, 4:] = 0
    sources[3, 2:] = 0
    return StepRunner(seq2seq_inference(model)), sources


def assert_same(compiled, reference) -> None:
    assert compiled.tokens == reference.tokens
    np.testing.assert_allclose(compiled.scores, reference.scores, rtol=1e-5, atol=1e-5)
    assert (compiled.attention is None) == (reference.attention is None)
    if reference.attention is not None:
        assert [m.shape for m in compiled.attention] == [m.shape for m in reference.attention]
        for ours, theirs in zip(compiled.attention, reference.attention):
            np.testing.assert_allclose(ours, theirs, atol=1e-5)


def check_language_model(runner: StepRunner) -> None:
    """Greedy, sampling (temperature, top-k), beam search and feeding, with and without an end token."""
    assert runner.loops is not None
    start = np.array([1, 2, 3, 4])
    context, states = runner.start(batch_size=4)
    unended = greedy_stepwise(runner, context, states, start, None, 12)
    assert_same(greedy(runner, context, states, start, None, 12), unended)
    # An end token that the first row writes halfway: rows stop at different steps, the bookkeeping is exercised.
    end_id = unended.tokens[0][6]
    reference = greedy_stepwise(runner, context, states, start, end_id, 12)
    assert min(map(len, reference.tokens)) < 12
    assert_same(greedy(runner, context, states, start, end_id, 12), reference)
    for temperature, top_k, end, seed in ((1.0, None, None, 0), (0.7, 3, end_id, 1), (1.5, None, end_id, 2)):
        arguments = {"temperature": temperature, "top_k": top_k, "seed": seed, "end_id": end}
        reference = sample_stepwise(runner, context, states, start, 30, **arguments)
        assert_same(sample(runner, context, states, start, 30, **arguments), reference)
    for width in (1, 3):
        reference = beam_search_stepwise(runner, context, states, start, end_id, 12, beam_width=width)
        assert_same(beam_search(runner, context, states, start, end_id, 12, beam_width=width), reference)
    prefixes = np.array([[1, 2, 3, 4, 5], [5, 4, 3, 2, 1], [1, 1, 1, 1, 1], [8, 0, 8, 0, 8]])
    logits, fed = feed(runner, prefixes, context, states)
    reference_logits, reference_states = feed_stepwise(runner, prefixes, context, states)
    np.testing.assert_allclose(logits, reference_logits, atol=1e-5)
    for ours, theirs in zip(fed, reference_states):
        np.testing.assert_allclose(ours, theirs, atol=1e-5)


def check_translator(runner: StepRunner, sources: np.ndarray) -> None:
    """Greedy with attention maps, sampling and beam search on an encoder-decoder with a context."""
    context, states = runner.start(sources)
    start = np.full(len(sources), 1)
    end_id = greedy_stepwise(runner, context, states, start, None, 10).tokens[0][4]
    reference = greedy_stepwise(runner, context, states, start, end_id, 10)
    assert reference.attention is not None and min(map(len, reference.tokens)) < 10
    assert_same(greedy(runner, context, states, start, end_id, 10), reference)
    arguments = {"temperature": 0.9, "seed": 0, "end_id": end_id}
    reference = sample_stepwise(runner, context, states, start, 10, **arguments)
    assert_same(sample(runner, context, states, start, 10, **arguments), reference)
    for penalty in (1.0, 0.0):
        arguments = {"beam_width": 3, "length_penalty": penalty}
        reference = beam_search_stepwise(runner, context, states, start, end_id, 10, **arguments)
        assert_same(beam_search(runner, context, states, start, end_id, 10, **arguments), reference)


def test_compiled_loops_equal_the_stepwise_reference_on_a_language_model(language_model):
    check_language_model(language_model[1])


def test_compiled_loops_equal_the_stepwise_reference_on_an_encoder_decoder_with_attention():
    check_translator(*small_translator())


def test_compiled_greedy_returns_the_attention_of_a_captioner():
    keras.utils.set_random_seed(5)
    model = one_to_many(RNNSpec("lstm", 8, 1), 7, feature_shape=(9, 4), embedding_dim=5, inject="par", attention="dot")
    runner = StepRunner(one_to_many_inference(model))
    features = np.random.default_rng(1).normal(size=(3, 9, 4)).astype("float32")
    context, states = runner.start(features)
    start = np.full(3, 1)
    compiled = greedy(runner, context, states, start, 2, 8)
    assert_same(compiled, greedy_stepwise(runner, context, states, start, 2, 8))
    assert compiled.attention[0].shape[1] == 9  # one weight per region
    np.testing.assert_allclose(compiled.attention[0].sum(axis=1), 1.0, atol=1e-5)


def test_compiled_beam_search_breaks_ties_as_the_reference_does():
    # Every row of the table has ties (few distinct values), so the order among equal candidates decides.
    values = np.random.default_rng(2).integers(0, 3, size=(6, 6)).astype("float32")
    runner = StepRunner(table_model(values))
    start = np.arange(1, 6)
    for width in (2, 4):
        reference = beam_search_stepwise(runner, [], [], start, END, 7, beam_width=width)
        assert_same(beam_search(runner, [], [], start, END, 7, beam_width=width), reference)
    assert_same(greedy(runner, [], [], start, END, 7), greedy_stepwise(runner, [], [], start, END, 7))


def test_sampling_draws_the_same_numbers_up_front_as_step_by_step():
    # The compiled loop relies on this: one draw of (steps, batch, 1) is the stream of `steps` draws of (batch, 1).
    together = np.random.default_rng(11).random((5, 3, 1))
    one_by_one = np.random.default_rng(11)
    np.testing.assert_array_equal(together, np.stack([one_by_one.random((3, 1)) for _ in range(5)]))


def test_zero_steps_and_a_runner_without_loops(language_model):
    _, runner = language_model
    context, states = runner.start(batch_size=2)
    empty = greedy(runner, context, states, np.array([1, 2]), END, 0)
    assert empty.tokens == [[], []]
    assert feed(runner, np.zeros((2, 0), int), context, states)[0] is None
    stepwise = StepRunner(runner.inference, compiled_loops=False)
    assert stepwise.loops is None
    assert greedy(stepwise, context, states, np.array([1, 2]), END, 9).tokens == (
        greedy(runner, context, states, np.array([1, 2]), END, 9).tokens
    )
