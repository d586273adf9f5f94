"""Decoding shared by every generative application: greedy, temperature and top-k sampling, batched beam search.

Everything runs on a step model (see `models.templates`): each new token costs one step of the recurrence with
the state carried over, never a pass over the prefix. A `StepRunner` wraps the step model and speaks NumPy; on
TensorFlow and JAX it also holds the step model's compiled whole-generation loop (`models.decoding_loops`).
`greedy`, `sample`, `beam_search` and `feed` take that loop when the runner has one and otherwise call the runner
once per token (`*_stepwise`, the reference versions, which need only a `__call__(tokens, context, states)`, so
tests can drive them with any object that has one). Sampling draws its uniform numbers on the host with NumPy, the
same calls in the same order either way, so one seed gives the same text from both.
"""

from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np

from models.templates import InferenceModels


def compiled_call(model: keras.Model):
    """The model's inference call on NumPy inputs, compiled: a tf.function that relaxes to varying shapes on
    TensorFlow, Keras's predict step on JAX and PyTorch."""
    if keras.backend.backend() != "tensorflow":
        return model.predict_on_batch
    import tensorflow as tf

    return tf.function(lambda inputs: model(inputs, training=False), reduce_retracing=True)


class StepRunner:
    """Calls a step model on NumPy arrays: (tokens, context, states) -> (logits, states, attention or None).

    `loops` is the step model's compiled whole-generation loop (`DecodingLoops`) on TensorFlow and JAX, None on
    other backends, for step models fed vectors, or with `compiled_loops=False`; without it decoding calls the
    runner once per token.
    """

    def __init__(self, inference: InferenceModels, compiled_loops: bool = True):
        self.inference = inference
        self._step = compiled_call(inference.step)
        self._start = compiled_call(inference.start) if inference.start is not None else None
        # The loops choose token ids; a step model fed vectors (piano-roll frames) is driven from Python.
        token_inputs = "int" in str(inference.step.inputs[0].dtype)
        supported = keras.backend.backend() in ("tensorflow", "jax") and token_inputs
        self.loops = None
        if compiled_loops and supported:
            # Imported here: models.decoding_loops builds its results with this module's helpers.
            from models.decoding_loops import DecodingLoops

            self.loops = DecodingLoops(inference)

    def start(self, start_inputs=None, batch_size: int | None = None):
        """Context and initial states: from the start model when there is one, zeros otherwise."""
        if self._start is None:
            if batch_size is None:
                raise ValueError("a model without a start model needs batch_size")
            states = [np.zeros((batch_size, width), np.float32) for width in self.inference.state_widths]
            return [], states
        outputs = self._start(start_inputs)
        outputs = [np.asarray(tensor) for tensor in (outputs if isinstance(outputs, (list, tuple)) else [outputs])]
        count = self.inference.context_count
        return outputs[:count], outputs[count:]

    def __call__(self, tokens, context, states):
        tokens = np.asarray(tokens)
        step_input = tokens[:, None] if tokens.ndim == 1 else tokens[:, None, :]
        inputs = [step_input, *context, *states]
        outputs = self._step(inputs if len(inputs) > 1 else inputs[0])
        if not isinstance(outputs, (list, tuple)):
            outputs = [outputs]  # a stateless step model has the logits as its only output
        outputs = [np.asarray(tensor) for tensor in outputs]
        count = self.inference.state_count
        logits, new_states = outputs[0], outputs[1 : 1 + count]
        attention = outputs[1 + count] if self.inference.has_attention else None
        return logits, new_states, attention


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """Log-probabilities over the last axis, in float32 unless given float64.

    float32 because beam search takes this of every beam's logits at every step (12 million values for a batch of
    256, 4 beams and a 12,000-word vocabulary), and NumPy's float32 exp is several times faster; the sums are
    accumulated in float64.
    """
    logits = np.asarray(logits)
    if logits.dtype != np.float64:
        logits = logits.astype(np.float32, copy=False)
    shifted = logits - logits.max(axis=-1, keepdims=True)
    total = np.exp(shifted).sum(axis=-1, keepdims=True, dtype=np.float64)
    return shifted - np.log(total).astype(shifted.dtype)


def feed(runner, tokens: np.ndarray, context, states):
    """Run a batch of prefixes (batch, T) through the step model; returns the last logits and the states.

    One compiled call when the runner has its loops, else one runner call per token."""
    loops = getattr(runner, "loops", None)
    if loops is None:
        return feed_stepwise(runner, tokens, context, states)
    return loops.feed(tokens, context, states)


def feed_stepwise(runner, tokens: np.ndarray, context, states):
    """`feed` with one runner call per token: the reference the compiled loop is tested against."""
    logits = None
    for t in range(tokens.shape[1]):
        logits, states, _ = runner(tokens[:, t], context, states)
    return logits, states


@dataclass
class Decoded:
    """Generated token ids per batch item (without the start token, cut before the end token)."""

    tokens: list[list[int]]
    scores: np.ndarray
    attention: list[np.ndarray] | None = None


def _cut(sequence, end_id):
    sequence = [int(token) for token in sequence]
    if end_id is not None and end_id in sequence:
        sequence = sequence[: sequence.index(end_id)]
    return sequence


def _decoded(sequences: np.ndarray, scores: np.ndarray, attention: np.ndarray | None, end_id) -> Decoded:
    """Rows cut at the end token; each attention map keeps the steps of its tokens and of the end token."""
    decoded = [_cut(row, end_id) for row in sequences]
    maps = None
    if attention is not None:
        extra = 1 if end_id is not None else 0
        maps = [attention[i, : len(decoded[i]) + extra] for i in range(len(decoded))]
    return Decoded(decoded, np.asarray(scores, np.float64), maps)


def greedy(runner, context, states, start_tokens, end_id: int | None, max_length: int) -> Decoded:
    """The most likely token at every step."""
    loops = getattr(runner, "loops", None)
    if loops is None:
        return greedy_stepwise(runner, context, states, start_tokens, end_id, max_length)
    return loops.decode(context, states, start_tokens, end_id, max_length)


def greedy_stepwise(runner, context, states, start_tokens, end_id: int | None, max_length: int) -> Decoded:
    """`greedy` with one runner call per token: the reference the compiled loop is tested against."""
    return _decode_one_by_one(runner, context, states, start_tokens, end_id, max_length, chooser=None)


def _check_sampling(temperature: float, top_k: int | None) -> None:
    if temperature <= 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    if top_k is not None and top_k < 1:
        raise ValueError(f"top_k must be at least 1, got {top_k}")


def sample(
    runner,
    context,
    states,
    start_tokens,
    max_length: int,
    *,
    temperature: float = 1.0,
    top_k: int | None = None,
    seed: int | None = None,
    end_id: int | None = None,
) -> Decoded:
    """Draw each token from softmax(logits / temperature), optionally from the k most likely only.

    Each step takes `rng.random((batch, 1))` of `numpy.random.default_rng(seed)` and picks the first token whose
    cumulative probability exceeds it; the compiled loop gets every step's draws at once, the same numbers in the
    same order, so a seed gives the same tokens whichever way the loop runs.
    """
    _check_sampling(temperature, top_k)
    loops = getattr(runner, "loops", None)
    if loops is None:
        return sample_stepwise(
            runner,
            context,
            states,
            start_tokens,
            max_length,
            temperature=temperature,
            top_k=top_k,
            seed=seed,
            end_id=end_id,
        )
    batch = np.asarray(start_tokens).shape[0]
    # One (batch, 1) draw per step, in step order: the same stream as the stepwise loop's calls.
    draws = np.random.default_rng(seed).random((max(max_length, 0), batch, 1))
    return loops.decode(
        context, states, start_tokens, end_id, max_length, draws=draws, temperature=temperature, top_k=top_k
    )


def sample_stepwise(
    runner,
    context,
    states,
    start_tokens,
    max_length: int,
    *,
    temperature: float = 1.0,
    top_k: int | None = None,
    seed: int | None = None,
    end_id: int | None = None,
) -> Decoded:
    """`sample` with one runner call per token, in NumPy: the reference the compiled loop is tested against."""
    _check_sampling(temperature, top_k)
    rng = np.random.default_rng(seed)

    def chooser(log_probs):
        scaled = log_probs / temperature
        if top_k is not None and top_k < scaled.shape[-1]:
            kth = np.sort(scaled, axis=-1)[:, -top_k][:, None]
            scaled = np.where(scaled < kth, -np.inf, scaled)
        probs = np.exp(log_softmax(scaled))
        cumulative = probs.cumsum(axis=-1)
        draws = rng.random((probs.shape[0], 1)) * cumulative[:, -1:]
        return (cumulative < draws).sum(axis=-1).clip(max=probs.shape[-1] - 1)

    return _decode_one_by_one(runner, context, states, start_tokens, end_id, max_length, chooser=chooser)


def _decode_one_by_one(runner, context, states, start_tokens, end_id, max_length, chooser) -> Decoded:
    tokens = np.asarray(start_tokens)
    batch = tokens.shape[0]
    generated, attention_steps = [], []
    scores = np.zeros(batch)
    finished = np.zeros(batch, bool)
    for _ in range(max_length):
        logits, states, attention = runner(tokens, context, states)
        log_probs = log_softmax(logits)
        tokens = log_probs.argmax(axis=-1) if chooser is None else chooser(log_probs)
        scores += np.where(finished, 0.0, log_probs[np.arange(batch), tokens])
        generated.append(tokens)
        if attention is not None:
            attention_steps.append(attention)
        if end_id is not None:
            finished |= tokens == end_id
            if finished.all():
                break
    sequences = np.stack(generated, axis=1) if generated else np.zeros((batch, 0), int)
    attention = np.stack(attention_steps, axis=1) if attention_steps else None
    return _decoded(sequences, scores, attention, end_id)


def _top_k(values: np.ndarray, k: int) -> np.ndarray:
    """Column indices of the k largest values of each row, largest first, ties to the lower index.

    The same as a stable argsort of -values cut to k, without sorting the beam x vocabulary candidates (47,000 a
    row for a 12,000-word vocabulary and 4 beams): a partition finds the k-th value and only those above it are ordered.
    """
    k = min(k, values.shape[1])
    kth = np.partition(values, -k, axis=1)[:, -k][:, None]
    # Everything above the k-th value is in, and of the values equal to it, the lowest indices, as a stable sort.
    rows, columns = np.nonzero(values >= kth)
    order = np.lexsort((columns, -values[rows, columns], rows))
    rows, columns = rows[order], columns[order]
    first = np.searchsorted(rows, np.arange(values.shape[0]))
    picked = first[:, None] + np.arange(k)
    return columns[picked]


def _check_beam(beam_width: int) -> None:
    if beam_width < 1:
        raise ValueError(f"beam width must be at least 1, got {beam_width}")


def beam_search(
    runner,
    context,
    states,
    start_tokens,
    end_id: int,
    max_length: int,
    *,
    beam_width: int = 4,
    length_penalty: float = 1.0,
) -> Decoded:
    """Batched beam search; hypotheses are ranked by log-probability / length ** length_penalty.

    Finished hypotheses stay in the beam with their score frozen, so a short sentence that ended early competes
    fairly with longer ones once lengths are normalised (Wu et al. 2016 use the same idea).
    """
    _check_beam(beam_width)
    loops = getattr(runner, "loops", None)
    if loops is None:
        return beam_search_stepwise(
            runner,
            context,
            states,
            start_tokens,
            end_id,
            max_length,
            beam_width=beam_width,
            length_penalty=length_penalty,
        )
    return loops.beam_search(context, states, start_tokens, end_id, max_length, beam_width, length_penalty)


def _best_hypotheses(history: np.ndarray, scores: np.ndarray, lengths: np.ndarray, end_id, length_penalty) -> Decoded:
    batch = history.shape[0]
    normalised = scores / np.maximum(lengths, 1) ** length_penalty
    winner = normalised.argmax(axis=1)
    best_rows = history[np.arange(batch), winner]
    return Decoded([_cut(row, end_id) for row in best_rows], normalised[np.arange(batch), winner])


def beam_search_stepwise(
    runner,
    context,
    states,
    start_tokens,
    end_id: int,
    max_length: int,
    *,
    beam_width: int = 4,
    length_penalty: float = 1.0,
) -> Decoded:
    """`beam_search` with one runner call per step, in NumPy: the reference the compiled loop is tested against."""
    _check_beam(beam_width)
    start_tokens = np.asarray(start_tokens)
    batch, width = start_tokens.shape[0], beam_width
    tile = lambda array: np.repeat(np.asarray(array), width, axis=0)  # noqa: E731
    context = [tile(item) for item in context]
    states = [tile(state) for state in states]
    tokens = tile(start_tokens)
    scores = np.full((batch, width), -np.inf)
    scores[:, 0] = 0.0
    lengths = np.zeros((batch, width))
    finished = np.zeros((batch, width), bool)
    history = np.zeros((batch, width, 0), int)
    for _ in range(max_length):
        logits, states, _ = runner(tokens, context, states)
        log_probs = log_softmax(logits).reshape(batch, width, -1)
        vocab = log_probs.shape[-1]
        # A finished hypothesis may only be extended by the end token, at no cost.
        if finished.any():
            frozen = np.full(vocab, -np.inf)
            frozen[end_id] = 0.0
            log_probs = np.where(finished[:, :, None], frozen, log_probs)
        candidates = scores[:, :, None] + log_probs
        new_lengths = np.where(finished, lengths, lengths + 1)
        ranked = candidates / (np.maximum(new_lengths, 1) ** length_penalty)[:, :, None]
        best = _top_k(ranked.reshape(batch, -1), width)
        beam_index, token_index = best // vocab, best % vocab
        rows = np.arange(batch)[:, None]
        scores = candidates.reshape(batch, -1)[rows, best]
        lengths = new_lengths[rows, beam_index]
        finished = finished[rows, beam_index] | (token_index == end_id)
        history = np.concatenate([history[rows, beam_index], token_index[:, :, None]], axis=2)
        gather = (rows * width + beam_index).reshape(-1)
        states = [state[gather] for state in states]
        tokens = token_index.reshape(-1)
        if finished.all():
            break
    return _best_hypotheses(history, scores, lengths, end_id, length_penalty)


def __getattr__(name: str):
    """`DecodingLoops` stays importable from here; loaded on first use, as models.decoding_loops imports this module."""
    if name == "DecodingLoops":
        from models.decoding_loops import DecodingLoops

        return DecodingLoops
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
