"""The compiled whole-generation loop behind `models.decoding`: greedy, sampling, beam search and prefix feeding.

`DecodingLoops` runs every step, the choice of each token, the end-of-sequence bookkeeping and beam search's
ranking and reordering as one compiled loop, so a token costs one iteration of a compiled while loop, not a Python
call. A `models.decoding.StepRunner` holds one on TensorFlow and JAX; `greedy`, `sample`, `beam_search` and `feed`
there call it, and its results match their stepwise NumPy reference versions.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from models.decoding import Decoded, _best_hypotheses, _decoded
from models.templates import InferenceModels


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
