"""Decoding shared by every generative application: greedy, temperature and top-k sampling, batched beam search.

Everything runs on a step model (see `models.templates`): each new token costs one step of the recurrence with
the state carried over, never a pass over the prefix. A `StepRunner` wraps the step model and speaks NumPy. On
TensorFlow and JAX it also holds `DecodingLoops`: the whole generation (every step, the choice of each token, the
end-of-sequence bookkeeping, beam search's ranking and reordering) as one compiled loop, so a token costs one
iteration of a compiled while loop, not a Python call. `greedy`, `sample`, `beam_search` and `feed` take that loop
when the runner has one and otherwise call the runner once per token (`*_stepwise`, the reference versions, which
need only a `__call__(tokens, context, states)`, so tests can drive them with any object that has one). Sampling
draws its uniform numbers on the host with NumPy, the same calls in the same order either way, so one seed gives
the same text from both.
"""

from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np
from keras import ops

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
        self.loops = DecodingLoops(inference) if compiled_loops and supported else None

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


# --- the compiled loops ------------------------------------------------------------------------------------------


def _capacity(length: int) -> int:
    """Buffer length for a loop of `length` steps: the next power of two, at least 16. The loop stops at `length`
    (a tensor), so a compiled loop is traced for a handful of buffer sizes, not once per length."""
    return max(16, 1 << max(int(length) - 1, 0).bit_length())


def _graph_log_softmax(logits):
    shifted = logits - ops.max(logits, axis=-1, keepdims=True)
    return shifted - ops.log(ops.sum(ops.exp(shifted), axis=-1, keepdims=True))


class _XlaOrGraph:
    """A tf.function compiled with XLA (a decoding loop runs several times faster so), or as a plain graph for a
    step model that uses an operation XLA lacks."""

    def __init__(self, function):
        import tensorflow as tf

        self._errors = (tf.errors.InvalidArgumentError, tf.errors.UnimplementedError, tf.errors.NotFoundError)
        self._xla = tf.function(function, jit_compile=True)
        self._graph = tf.function(function)
        self._use_xla = True

    def __call__(self, *arguments):
        if self._use_xla:
            try:
                return self._xla(*arguments)
            except self._errors:
                self._use_xla = False
        return self._graph(*arguments)


class DecodingLoops:
    """A step model's whole generation as one compiled loop: greedy, sampling, beam search and prefix feeding.

    Written with `keras.ops` (`while_loop`, `top_k`, `slice_update`), compiled per backend: an XLA tf.function on
    TensorFlow that calls the step model, `jax.jit` on JAX that calls its `stateless_call` with the weights passed
    in, so the loop always decodes with the model's current weights. Each loop is compiled once per buffer size,
    batch size and input shape, then reused.
    """

    def __init__(self, inference: InferenceModels):
        self.inference = inference
        self.step = inference.step
        self.backend = keras.backend.backend()
        if self.backend not in ("tensorflow", "jax"):
            raise ValueError(f"compiled decoding loops run on TensorFlow and JAX, not on {self.backend}")
        self._compiled: dict = {}
        self._shapes: dict = {}
        # NumPy compares the draws in float64; JAX computes in float32 unless x64 is switched on.
        self._draw_dtype = "float64" if self.backend == "tensorflow" else "float32"

    # Plumbing: the step call, the weights, compilation, output shapes.

    def _variables(self):
        if self.backend == "jax":
            return (
                [variable.value for variable in self.step.trainable_variables],
                [variable.value for variable in self.step.non_trainable_variables],
            )
        return ()

    def _call_step(self, variables, tokens, context, states):
        inputs = [tokens[:, None], *context, *states]
        inputs = inputs if len(inputs) > 1 else inputs[0]
        if self.backend == "jax":
            outputs, _ = self.step.stateless_call(variables[0], variables[1], inputs, training=False)
        else:
            outputs = self.step(inputs, training=False)
        outputs = list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]
        count = self.inference.state_count
        logits = ops.cast(outputs[0], "float32")
        # Cast back to the carried dtypes, which a loop needs constant (a mixed-precision model computes in float16).
        new_states = [ops.cast(new, old.dtype) for new, old in zip(outputs[1 : 1 + count], states)]
        attention = ops.cast(outputs[1 + count], "float32") if self.inference.has_attention else None
        return logits, new_states, attention

    def _compile(self, key, build):
        if key not in self._compiled:
            function = build()
            if self.backend == "jax":
                import jax

                self._compiled[key] = jax.jit(function)
            else:
                self._compiled[key] = _XlaOrGraph(function)
        return self._compiled[key]

    def _output_widths(self, tokens, context, states) -> tuple[int, int]:
        """(vocabulary, attention width or 0) of the step model for inputs of these shapes."""
        arrays = [tokens[:, None], *context, *states]
        key = tuple((array.shape, str(array.dtype)) for array in arrays)
        if key not in self._shapes:
            specs = [keras.KerasTensor(array.shape, dtype=str(array.dtype)) for array in arrays]
            outputs = self.step.compute_output_spec(specs if len(specs) > 1 else specs[0])
            outputs = list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]
            width = int(outputs[-1].shape[-1]) if self.inference.has_attention else 0
            self._shapes[key] = (int(outputs[0].shape[-1]), width)
        return self._shapes[key]

    @staticmethod
    def _arrays(start_tokens, context, states):
        tokens = np.asarray(start_tokens).astype(np.int32)
        context = [np.asarray(item) for item in context]
        states = [np.asarray(state) for state in states]
        return tokens, context, states

    # Greedy and sampling.

    def decode(
        self,
        context,
        states,
        start_tokens,
        end_id: int | None,
        max_length: int,
        *,
        draws: np.ndarray | None = None,
        temperature: float = 1.0,
        top_k: int | None = None,
    ) -> Decoded:
        """Greedy decoding, or sampling when `draws` (steps, batch, 1) of uniform numbers are given."""
        tokens, context, states = self._arrays(start_tokens, context, states)
        max_length = max(int(max_length), 0)
        vocabulary, attention_width = self._output_widths(tokens, context, states)
        capacity = _capacity(max_length)
        sampling = draws is not None
        if top_k is not None and top_k >= vocabulary:
            top_k = None
        padded = np.zeros((capacity if sampling else 1, len(tokens), 1), self._draw_dtype)
        if sampling:
            padded[:max_length] = draws[:max_length]
        key = ("decode", sampling, top_k, end_id, capacity, attention_width)
        function = self._compile(
            key, lambda: self._decode_function(sampling, top_k, end_id, capacity, vocabulary, attention_width)
        )
        steps, sequences, scores, attention = function(
            self._variables(), tokens, context, states, padded, np.float32(temperature), np.int32(max_length)
        )
        steps = int(steps)
        sequences = np.asarray(sequences)[:, :steps]
        attention = np.asarray(attention)[:, :steps] if self.inference.has_attention else None
        return _decoded(sequences, np.asarray(scores), attention, end_id)

    def _decode_function(self, sampling, top_k, end_id, capacity, vocabulary, attention_width):
        has_attention = self.inference.has_attention
        draw_dtype = self._draw_dtype

        def choose(log_probs, temperature, uniform):
            if not sampling:
                return ops.cast(ops.argmax(log_probs, axis=-1), "int32")
            scaled = log_probs / temperature
            if top_k is not None:
                kth = ops.top_k(scaled, top_k)[0][:, -1:]
                scaled = ops.where(scaled < kth, -np.inf, scaled)
            cumulative = ops.cast(ops.cumsum(ops.exp(_graph_log_softmax(scaled)), axis=-1), draw_dtype)
            below = ops.cast(cumulative < uniform * cumulative[:, -1:], "int32")
            return ops.minimum(ops.sum(below, axis=-1), vocabulary - 1)

        def function(variables, tokens, context, states, draws, temperature, max_length):
            batch = tokens.shape[0]
            sequences = ops.zeros((batch, capacity), "int32")
            attention = ops.zeros((batch, capacity, attention_width) if has_attention else (1,), "float32")

            def cond(t, tokens, finished, scores, sequences, attention, *states):
                going = t < max_length
                if end_id is not None:
                    going = ops.logical_and(going, ops.logical_not(ops.all(finished)))
                return going

            def body(t, tokens, finished, scores, sequences, attention, *states):
                logits, states, weights = self._call_step(variables, tokens, context, list(states))
                log_probs = _graph_log_softmax(logits)
                chosen = choose(log_probs, temperature, draws[t] if sampling else None)
                picked = ops.take_along_axis(log_probs, chosen[:, None], axis=1)[:, 0]
                scores = scores + ops.where(finished, ops.zeros_like(picked), picked)
                sequences = ops.slice_update(sequences, (0, t), chosen[:, None])
                if has_attention:
                    attention = ops.slice_update(attention, (0, t, 0), weights[:, None, :])
                if end_id is not None:
                    finished = ops.logical_or(finished, ops.equal(chosen, end_id))
                return (t + 1, chosen, finished, scores, sequences, attention, *states)

            start = (ops.convert_to_tensor(0, "int32"), ops.convert_to_tensor(tokens, "int32"))
            flags = (ops.zeros((batch,), "bool"), ops.zeros((batch,), "float32"), sequences, attention)
            steps, _, _, scores, sequences, attention, *_ = ops.while_loop(cond, body, (*start, *flags, *states))
            return steps, sequences, scores, attention

        return function

    # Prefix feeding.

    def feed(self, tokens: np.ndarray, context, states):
        """The last logits and the states after running the (batch, T) prefixes, in one compiled call."""
        tokens = np.asarray(tokens).astype(np.int32)
        length = tokens.shape[1]
        if length == 0:
            return None, states
        _, context, states = self._arrays(tokens[:, 0], context, states)
        vocabulary, _ = self._output_widths(tokens[:, 0], context, states)
        capacity = _capacity(length)
        padded = np.zeros((len(tokens), capacity), np.int32)
        padded[:, :length] = tokens
        function = self._compile(("feed", capacity), lambda: self._feed_function(vocabulary))
        logits, states = function(self._variables(), padded, context, states, np.int32(length))
        return np.asarray(logits), [np.asarray(state) for state in states]

    def _feed_function(self, vocabulary):
        def function(variables, tokens, context, states, length):
            def cond(t, logits, *states):
                return t < length

            def body(t, logits, *states):
                logits, states, _ = self._call_step(variables, ops.take(tokens, t, axis=1), context, list(states))
                return (t + 1, logits, *states)

            logits = ops.zeros((tokens.shape[0], vocabulary), "float32")
            start = (ops.convert_to_tensor(0, "int32"), logits)
            _, logits, *states = ops.while_loop(cond, body, (*start, *states))
            return logits, states

        return function

    # Beam search.

    def beam_search(
        self, context, states, start_tokens, end_id: int, max_length: int, beam_width: int, length_penalty: float
    ) -> Decoded:
        """`beam_search` in one compiled call; the winners' token paths are followed back on the host."""
        tokens, context, states = self._arrays(start_tokens, context, states)
        max_length = max(int(max_length), 0)
        vocabulary, _ = self._output_widths(tokens, context, states)
        capacity = _capacity(max_length)
        key = ("beam", beam_width, float(length_penalty), end_id, capacity)
        function = self._compile(
            key, lambda: self._beam_function(beam_width, float(length_penalty), end_id, capacity, vocabulary)
        )
        steps, chosen, parents, scores, lengths = function(
            self._variables(), tokens, context, states, np.int32(max_length)
        )
        steps = int(steps)
        chosen, parents = np.asarray(chosen)[:, :, :steps], np.asarray(parents)[:, :, :steps]
        # Each hypothesis is its last token, then its parent's token at the step before, and so on.
        batch = len(tokens)
        history = np.zeros((batch, beam_width, steps), np.int64)
        rows = np.arange(batch)[:, None]
        beam = np.broadcast_to(np.arange(beam_width), (batch, beam_width))
        for t in range(steps - 1, -1, -1):
            history[:, :, t] = chosen[rows, beam, t]
            beam = parents[rows, beam, t]
        return _best_hypotheses(
            history, np.asarray(scores, np.float64), np.asarray(lengths, np.float64), end_id, length_penalty
        )

    def _beam_function(self, width, length_penalty, end_id, capacity, vocabulary):
        per_beam = min(width, vocabulary)

        def function(variables, tokens, context, states, max_length):
            batch = tokens.shape[0]
            context = [ops.repeat(item, width, axis=0) for item in context]
            states = [ops.repeat(state, width, axis=0) for state in states]
            tokens = ops.repeat(ops.convert_to_tensor(tokens, "int32"), width, axis=0)
            first = ops.arange(width) == 0
            scores = ops.where(first, 0.0, -np.inf) * ops.ones((batch, 1), "float32")
            scores = ops.cast(scores, "float32")
            # A finished hypothesis may only be extended by the end token, at no cost.
            frozen = ops.cast(ops.where(ops.arange(vocabulary) == end_id, 0.0, -np.inf), "float32")
            offsets = ops.arange(batch, dtype="int32")[:, None] * width

            def cond(t, tokens, scores, lengths, finished, chosen, parents, *states):
                return ops.logical_and(t < max_length, ops.logical_not(ops.all(finished)))

            def body(t, tokens, scores, lengths, finished, chosen, parents, *states):
                logits, states, _ = self._call_step(variables, tokens, context, list(states))
                log_probs = ops.reshape(_graph_log_softmax(logits), (batch, width, vocabulary))
                log_probs = ops.where(finished[:, :, None], frozen, log_probs)
                candidates = scores[:, :, None] + log_probs
                new_lengths = ops.where(finished, lengths, lengths + 1.0)
                ranked = candidates / (ops.maximum(new_lengths, 1.0) ** length_penalty)[:, :, None]
                # The best `width` of beam x vocabulary are among each beam's best `width`: two small top-k's
                # instead of one over every candidate, in the same order (value, then beam, then token).
                beam_values, beam_tokens = ops.top_k(ops.reshape(ranked, (batch * width, vocabulary)), per_beam)
                beam_values = ops.reshape(beam_values, (batch, width * per_beam))
                beam_tokens = ops.reshape(ops.cast(beam_tokens, "int32"), (batch, width * per_beam))
                _, position = ops.top_k(beam_values, width)
                position = ops.cast(position, "int32")
                parent = position // per_beam
                token = ops.take_along_axis(beam_tokens, position, axis=1)
                flat_candidates = ops.reshape(candidates, (batch, width * vocabulary))
                scores = ops.take_along_axis(flat_candidates, parent * vocabulary + token, axis=1)
                lengths = ops.take_along_axis(new_lengths, parent, axis=1)
                was_finished = ops.take_along_axis(ops.cast(finished, "int32"), parent, axis=1) > 0
                finished = ops.logical_or(was_finished, ops.equal(token, end_id))
                chosen = ops.slice_update(chosen, (0, 0, t), token[:, :, None])
                parents = ops.slice_update(parents, (0, 0, t), parent[:, :, None])
                gather = ops.reshape(offsets + parent, (-1,))
                states = [ops.take(state, gather, axis=0) for state in states]
                return (t + 1, ops.reshape(token, (-1,)), scores, lengths, finished, chosen, parents, *states)

            start = (ops.convert_to_tensor(0, "int32"), tokens, scores, ops.zeros((batch, width), "float32"))
            buffers = (
                ops.zeros((batch, width), "bool"),
                ops.zeros((batch, width, capacity), "int32"),
                ops.zeros((batch, width, capacity), "int32"),
            )
            steps, _, scores, lengths, _, chosen, parents, *_ = ops.while_loop(cond, body, (*start, *buffers, *states))
            return steps, chosen, parents, scores, lengths

        return function
