"""Layout templates: many-to-many (aligned), many-to-one, one-to-many and seq2seq (encoder-decoder).

Each template returns an uncompiled functional `keras.Model` with named layers whose outputs are logits. The
generative layouts also build their inference models from a trained or loaded model: a *start* model (what the
decoder needs before the first token: context and initial states) and a *step* model that takes the previous
token, the context and the recurrent states and returns the next logits and the new states, so decoding costs
the same for every token. Training and step graphs are written once, in one function each, and the step graph
fetches the trained layers by name; that is why a step-by-step pass equals the full-sequence forward pass.
One-to-many lives in `models.one_to_many` and is imported from here like the others.
"""

from __future__ import annotations

import keras
from keras import ops

from models.attention import AttentionPooling, PaddingMask, attention_layer, check_attention
from models.cells import cell_state_count
from models.one_to_many import INJECTIONS, DecoderHead, DecoderStep, one_to_many, one_to_many_inference
from models.stacks import RecurrentStack, RNNSpec
from models.template_parts import InferenceModels, NamedLayers, TemplateArguments, input_named, stored_arguments

# One import path for every layout, whichever module holds it.
__all__ = [
    "INJECTIONS",
    "POOLINGS",
    "DecoderHead",
    "DecoderStep",
    "InferenceModels",
    "NamedLayers",
    "TemplateArguments",
    "input_named",
    "many_to_many",
    "many_to_many_inference",
    "many_to_one",
    "one_to_many",
    "one_to_many_inference",
    "pool_sequence",
    "seq2seq",
    "seq2seq_inference",
]

POOLINGS = ("last", "mean", "attention")


def _sequence_features(inputs, layers: NamedLayers, vocab_size, embedding_dim, mask_zero, prefix):
    if vocab_size is not None:
        embedding = layers(
            f"{prefix}embedding",
            lambda: keras.layers.Embedding(vocab_size, embedding_dim, mask_zero=mask_zero, name=f"{prefix}embedding"),
        )
        return embedding(inputs)
    return inputs


def _check_dims(vocab_size, feature_dim):
    if (vocab_size is None) == (feature_dim is None):
        raise ValueError("give exactly one of vocab_size (token inputs) or feature_dim (vector inputs)")


def _token_or_feature_input(vocab_size, feature_dim, steps, name):
    if vocab_size is not None:
        return keras.Input(shape=(steps,), dtype="int32", name=name)
    return keras.Input(shape=(steps, feature_dim), name=name)


# --- many-to-many, aligned -------------------------------------------------------------------------------------


def _many_to_many_graph(layers: NamedLayers, spec, output_units, inputs, vocab_size, embedding_dim, mask_zero, states):
    x = _sequence_features(inputs, layers, vocab_size, embedding_dim, mask_zero, "")
    stack = layers.stack(spec, "rnn")
    sequence, final_states = stack(x, initial_states=states)
    output = layers("output", lambda: keras.layers.Dense(output_units, name="output"))
    return output(sequence), final_states, stack


def many_to_many(
    spec: RNNSpec,
    output_units: int,
    *,
    vocab_size: int | None = None,
    feature_dim: int | None = None,
    embedding_dim: int = 64,
    mask_zero: bool = False,
    name: str = "many_to_many",
) -> keras.Model:
    """A sequence in, an output per step (logits): language models, piano rolls, taggers."""
    _check_dims(vocab_size, feature_dim)
    inputs = _token_or_feature_input(vocab_size, feature_dim, None, "inputs")
    logits, _, _ = _many_to_many_graph(
        NamedLayers(), spec, output_units, inputs, vocab_size, embedding_dim, mask_zero, None
    )
    arguments = {"vocab_size": vocab_size, "feature_dim": feature_dim}
    logits = TemplateArguments(arguments, name="many_to_many_arguments")(logits)
    return keras.Model(inputs, logits, name=name)


def many_to_many_inference(model: keras.Model) -> InferenceModels:
    """Step model of a many-to-many model: one token (or frame) and the states in, logits and new states out."""
    layers = NamedLayers(model)
    stack = layers.stack(None, "rnn")
    if stack.bidirectional:
        raise ValueError("a bidirectional model sees the future, so it cannot generate step by step")
    arguments = stored_arguments(model, "many_to_many")
    vocab_size, feature_dim = arguments["vocab_size"], arguments["feature_dim"]
    step_input = _token_or_feature_input(vocab_size, feature_dim, 1, "step_inputs")
    state_inputs = stack.state_inputs()
    logits, final_states, _ = _many_to_many_graph(layers, None, None, step_input, vocab_size, None, None, state_inputs)
    logits = ops.squeeze(logits, axis=1)
    flat_inputs = [tensor for group in state_inputs for tensor in group]
    flat_states = [tensor for group in final_states for tensor in group]
    step = keras.Model([step_input, *flat_inputs], [logits, *flat_states], name=f"{model.name}_step")
    # Training starts from zero states, so generation does too: no start model.
    return InferenceModels(start=None, step=step, context_count=0, state_count=len(flat_states))


# --- many-to-one ------------------------------------------------------------------------------------------------


def many_to_one(
    spec: RNNSpec,
    num_classes: int,
    *,
    vocab_size: int | None = None,
    feature_dim: int | None = None,
    embedding_dim: int = 64,
    mask_zero: bool = True,
    pooling: str = "last",
    frontend: keras.layers.Layer | None = None,
    input_shape: tuple | None = None,
    name: str = "many_to_one",
) -> keras.Model:
    """A sequence in, one label out (logits). `frontend` turns a raw input (e.g. a waveform) into frames."""
    if pooling not in POOLINGS:
        raise ValueError(f"unknown pooling {pooling!r}; choose one of: {', '.join(POOLINGS)}")
    if frontend is not None:
        if input_shape is None:
            raise ValueError("a frontend needs the raw input_shape")
        inputs = keras.Input(shape=input_shape, name="inputs")
        x = frontend(inputs)
    else:
        _check_dims(vocab_size, feature_dim)
        inputs = _token_or_feature_input(vocab_size, feature_dim, None, "inputs")
        x = _sequence_features(inputs, NamedLayers(), vocab_size, embedding_dim, mask_zero, "")
    stack = RecurrentStack(spec, "rnn")
    sequence, final_states = stack(x)
    pooled = pool_sequence(sequence, final_states[-1], pooling, stack.bidirectional)
    logits = keras.layers.Dense(num_classes, name="output")(pooled)
    return keras.Model(inputs, logits, name=name)


def pool_sequence(sequence, top_states, pooling: str, bidirectional: bool):
    """One vector per sequence: the last hidden state, the (masked) mean, or attention pooling."""
    if pooling == "last" and not top_states:
        # No recurrence, no final state: the baseline pools by averaging (a bag of frames or words).
        return keras.layers.GlobalAveragePooling1D(name="mean_pool")(sequence)
    if pooling == "last":
        if bidirectional:
            half = len(top_states) // 2
            return keras.layers.Concatenate(name="last_state")([top_states[0], top_states[half]])
        return keras.layers.Identity(name="last_state")(top_states[0])
    if pooling == "mean":
        return keras.layers.GlobalAveragePooling1D(name="mean_pool")(sequence)
    return AttentionPooling(name="attention_pool")(sequence)


# --- seq2seq -------------------------------------------------------------------------------------------------------


def _seq2seq_decoder(layers: NamedLayers, cfg: dict, target_tokens, memory, source_ids, states):
    """Decoder of the seq2seq template, shared by training and step graphs (Luong-style attention after the RNN)."""
    embedding = layers(
        "target_embedding",
        lambda: keras.layers.Embedding(cfg["target_vocab"], cfg["embedding_dim"], name="target_embedding"),
    )
    stack = layers.stack(cfg.get("decoder_spec"), "decoder")
    sequence, final_states = stack(embedding(target_tokens), initial_states=states)
    weights = None
    hidden = sequence
    if cfg["attention"] != "none":
        keys = layers(
            "attention_keys", lambda: keras.layers.Dense(cfg["units"], use_bias=False, name="attention_keys")
        )(memory)
        source_mask = layers("source_mask", lambda: PaddingMask(name="source_mask"))(source_ids)
        attend = layers("attention", lambda: attention_layer(cfg["attention"], "attention"))
        attended, weights = attend([sequence, memory, keys], mask=[None, source_mask], return_attention_scores=True)
        joined = layers("attention_concat", lambda: keras.layers.Concatenate(name="attention_concat"))(
            [sequence, attended]
        )
        hidden = layers(
            "attention_combine",
            lambda: keras.layers.Dense(cfg["units"], activation="tanh", name="attention_combine"),
        )(joined)
    logits = layers("output", lambda: keras.layers.Dense(cfg["target_vocab"], name="output"))(hidden)
    return logits, final_states, weights


def _seq2seq_encoder(layers: NamedLayers, cfg: dict, source, decoder_state_counts):
    embedding = layers(
        "source_embedding",
        lambda: keras.layers.Embedding(
            cfg["source_vocab"], cfg["embedding_dim"], mask_zero=True, name="source_embedding"
        ),
    )
    stack = layers.stack(cfg.get("encoder_spec"), "encoder")
    memory, encoder_states = stack(embedding(source))
    if not stack.bidirectional:
        return memory, encoder_states
    # Forward and backward final states are joined and projected to the decoder's width (Bahdanau et al. 2015).
    decoder_states = []
    for i, count in enumerate(decoder_state_counts):
        group = encoder_states[i]
        half = len(group) // 2
        decoder_states.append(
            [
                layers(
                    f"bridge_{i}_{j}",
                    lambda i=i, j=j: keras.layers.Dense(cfg["units"], activation="tanh", name=f"bridge_{i}_{j}"),
                )(
                    layers(
                        f"bridge_concat_{i}_{j}",
                        lambda i=i, j=j: keras.layers.Concatenate(name=f"bridge_concat_{i}_{j}"),
                    )([group[j], group[half + j]])
                )
                for j in range(count)
            ]
        )
    return memory, decoder_states


def seq2seq(
    spec: RNNSpec,
    source_vocab: int,
    target_vocab: int,
    *,
    embedding_dim: int = 64,
    attention: str = "none",
    name: str = "seq2seq",
) -> keras.Model:
    """Encoder-decoder for unaligned sequences. Inputs `source` and `target_in` (target shifted right), id 0 = pad.

    The encoder may be bidirectional; the decoder is the same cell and depth, unidirectional, started from the
    encoder's final states. `attention` is `none`, `additive` (Bahdanau) or `dot` (Luong).
    """
    check_attention(attention)
    if spec.cell == "none" and attention == "none":
        raise ValueError("without recurrence the decoder sees the source only through attention; set attention")
    decoder_spec = RNNSpec(
        spec.cell, spec.units, spec.layers, spec.activation, False, spec.dropout, spec.explicit, spec.recurrent_dropout
    )
    cfg = {
        "units": spec.units,
        "source_vocab": source_vocab,
        "target_vocab": target_vocab,
        "embedding_dim": embedding_dim,
        "attention": attention,
        "encoder_spec": spec,
        "decoder_spec": decoder_spec,
    }
    source = keras.Input(shape=(None,), dtype="int32", name="source")
    target_in = keras.Input(shape=(None,), dtype="int32", name="target_in")
    layers = NamedLayers()
    decoder_counts = [cell_state_count(spec.cell)] * spec.layers
    memory, states = _seq2seq_encoder(layers, cfg, source, decoder_counts)
    logits, _, _ = _seq2seq_decoder(layers, cfg, target_in, memory, source, states)
    logits = TemplateArguments({"attention": attention}, name="seq2seq_arguments")(logits)
    return keras.Model([source, target_in], logits, name=name)


def seq2seq_inference(model: keras.Model) -> InferenceModels:
    """Start model (source -> memory, source ids, decoder states) and step model of a seq2seq model, by name."""
    layers = NamedLayers(model)
    decoder = layers.stack(None, "decoder")
    attention = stored_arguments(model, "seq2seq")["attention"]
    source_embedding = model.get_layer("source_embedding")
    target_embedding = model.get_layer("target_embedding")
    cfg = {
        "units": decoder.units,
        "source_vocab": source_embedding.input_dim,
        "target_vocab": target_embedding.input_dim,
        "embedding_dim": target_embedding.output_dim,
        "attention": attention,
    }
    source = input_named(model, "source")
    memory, states = _seq2seq_encoder(layers, cfg, source, decoder.state_counts)
    flat_states = [tensor for group in states for tensor in group]
    start = keras.Model(source, [memory, source, *flat_states], name=f"{model.name}_start")

    token = keras.Input(shape=(1,), dtype="int32", name="token")
    memory_input = keras.Input(shape=tuple(memory.shape[1:]), name="context_memory")
    source_input = keras.Input(shape=(None,), dtype="int32", name="context_source")
    state_inputs = decoder.state_inputs()
    logits, final_states, weights = _seq2seq_decoder(layers, cfg, token, memory_input, source_input, state_inputs)
    outputs = [ops.squeeze(logits, axis=1)] + [tensor for group in final_states for tensor in group]
    if weights is not None:
        outputs.append(ops.squeeze(weights, axis=1))
    flat_state_inputs = [tensor for group in state_inputs for tensor in group]
    step = keras.Model([token, memory_input, source_input, *flat_state_inputs], outputs, name=f"{model.name}_step")
    return InferenceModels(
        start=start,
        step=step,
        context_count=2,
        state_count=len(flat_state_inputs),
        has_attention=weights is not None,
    )
