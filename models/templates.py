"""Layout templates: one-to-many, many-to-one, many-to-many (aligned) and seq2seq (encoder-decoder).

Each template returns an uncompiled functional `keras.Model` with named layers whose outputs are logits. The
generative layouts also build their inference models from a trained or loaded model: a *start* model (what the
decoder needs before the first token: context and initial states) and a *step* model that takes the previous
token, the context and the recurrent states and returns the next logits and the new states, so decoding costs
the same for every token. Training and step graphs are written once, in one function each, and the step graph
fetches the trained layers by name; that is why a step-by-step pass equals the full-sequence forward pass.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import keras
from keras import ops

from models.attention import (
    AttentionPooling,
    BroadcastOverTime,
    DropFirstStep,
    GroundedWords,
    NextWordLoss,
    PaddingMask,
    WeightedRegions,
    attention_layer,
    check_attention,
)
from models.cells import cell_state_count
from models.stacks import RecurrentStack, RNNSpec

POOLINGS = ("last", "mean", "attention")
INJECTIONS = ("init", "pre", "par", "merge")


def input_named(model: keras.Model, name: str):
    """The model input called `name`; inputs are found by name, never by position."""
    for tensor in model.inputs:
        if tensor.name == name:
            return tensor
    raise ValueError(f"model {model.name!r} has no input named {name!r}")


class _Layers:
    """Creates layers by name while building, and finds them by name in a built model for inference graphs."""

    def __init__(self, model: keras.Model | None = None):
        self.model = model

    def __call__(self, name: str, factory: Callable[[], keras.layers.Layer]) -> keras.layers.Layer:
        return factory() if self.model is None else self.model.get_layer(name)

    def has(self, name: str) -> bool:
        return self.model is not None and any(layer.name == name for layer in self.model.layers)

    def stack(self, spec: RNNSpec | None, prefix: str) -> RecurrentStack:
        return RecurrentStack(spec, prefix) if self.model is None else RecurrentStack.from_model(self.model, prefix)


@dataclass
class InferenceModels:
    """What a generative layout needs to decode: `start` gives context and initial states, `step` one token."""

    start: keras.Model | None
    step: keras.Model
    context_count: int
    state_count: int
    has_attention: bool = False

    @property
    def state_widths(self) -> list[int]:
        return [int(tensor.shape[-1]) for tensor in self.step.inputs[1 + self.context_count :]]


def _sequence_features(inputs, layers: _Layers, vocab_size, embedding_dim, mask_zero, prefix):
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


def _many_to_many_graph(layers: _Layers, spec, output_units, inputs, vocab_size, embedding_dim, mask_zero, states):
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
        _Layers(), spec, output_units, inputs, vocab_size, embedding_dim, mask_zero, None
    )
    return keras.Model(inputs, logits, name=name)


def many_to_many_inference(model: keras.Model) -> InferenceModels:
    """Step model of a many-to-many model: one token (or frame) and the states in, logits and new states out."""
    layers = _Layers(model)
    stack = layers.stack(None, "rnn")
    if stack.bidirectional:
        raise ValueError("a bidirectional model sees the future, so it cannot generate step by step")
    token_inputs = layers.has("embedding")
    vocab_size = model.get_layer("embedding").input_dim if token_inputs else None
    feature_dim = None if token_inputs else model.inputs[0].shape[-1]
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
        x = _sequence_features(inputs, _Layers(), vocab_size, embedding_dim, mask_zero, "")
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


# --- one-to-many -------------------------------------------------------------------------------------------------


def _one_to_many_graph(layers: _Layers, cfg: dict, tokens, context, states, image_step=None):
    """The decoder given its context: shared by the training model and the step model.

    `context` is a dict with the image projection (`par`, `merge`) and the attention memory, each optional.
    `image_step` (the `pre` injection, training graph only) is fed before the first token and its output dropped;
    the step model instead starts from the states the start model computed after that step.
    """
    embedding = layers(
        "token_embedding",
        lambda: keras.layers.Embedding(cfg["vocab_size"], cfg["embedding_dim"], name="token_embedding"),
    )
    x = embedding(tokens)
    if image_step is not None:
        x = keras.layers.Concatenate(axis=1, name="pre_concat")([image_step, x])
    if cfg["inject"] == "par":
        repeated = layers("repeat_image", lambda: BroadcastOverTime(name="repeat_image"))([context["projection"], x])
        x = layers("par_concat", lambda: keras.layers.Concatenate(name="par_concat"))([x, repeated])
    stack = layers.stack(cfg.get("spec"), "decoder")
    depth = len(stack.layers)
    sequence, final_states = stack(x, initial_states=None if states is None else states[:depth])
    if image_step is not None:
        sequence = DropFirstStep(name="drop_image_step")(sequence)
    features = [sequence]
    attention_weights = attended = None
    if cfg["attention"] != "none":
        attend = layers("attention", lambda: attention_layer(cfg["attention"], "attention"))
        attended, attention_weights = attend(
            [sequence, context["memory"], context["memory"]], return_attention_scores=True
        )
        features.append(attended)
    if cfg.get("reader"):
        # The reader's state accumulates every step's attended region, so the next word can depend on what
        # was already looked at (which shapes are described, where they were); the decoder alone cannot see that.
        joined = layers("reader_concat", lambda: keras.layers.Concatenate(name="reader_concat"))(features)
        reader = layers.stack(cfg.get("reader_spec"), "reader")
        starts = states[depth:] if states is not None and len(states) > depth else None
        read, reader_states = reader(joined, initial_states=starts)
        features = [read]
        final_states = final_states + reader_states
    if cfg["inject"] == "merge":
        repeated = layers("repeat_merge", lambda: BroadcastOverTime(name="repeat_merge"))(
            [context["projection"], sequence]
        )
        features.append(repeated)
    if len(features) > 1:
        joined = layers("combine_concat", lambda: keras.layers.Concatenate(name="combine_concat"))(features)
        hidden = layers("combine", lambda: keras.layers.Dense(cfg["units"], activation="tanh", name="combine"))(joined)
    else:
        hidden = features[0]
    output = layers("output", lambda: keras.layers.Dense(cfg["vocab_size"], name="output"))
    logits = output(hidden)
    if cfg.get("word_loss"):
        logits = layers("word_loss", lambda: NextWordLoss(cfg["word_loss"], name="word_loss"))([logits, tokens])
    groups = cfg.get("word_groups")
    if groups and "group_0" in context:
        # Each group's head sees the attended place through its own description of the image (say, one that is
        # blind to colour for the shape words), so it cannot learn which colours the training scenes paired
        # with which shapes.
        group_logits = []
        for i, group in enumerate(groups):
            region = layers(f"ground_read_{i}", lambda i=i: WeightedRegions(name=f"ground_read_{i}"))(
                [attention_weights, context[f"group_{i}"]]
            )
            hidden = layers(
                f"ground_hidden_{i}",
                lambda i=i: keras.layers.Dense(cfg["units"], activation="relu", name=f"ground_hidden_{i}"),
            )(region)
            group_logits.append(
                layers(f"ground_{i}", lambda i=i, group=group: keras.layers.Dense(len(group), name=f"ground_{i}"))(
                    hidden
                )
            )
    elif groups:
        region = layers(
            "ground_hidden", lambda: keras.layers.Dense(cfg["units"], activation="relu", name="ground_hidden")
        )(attended)
        group_logits = [
            layers(f"ground_{i}", lambda i=i, group=group: keras.layers.Dense(len(group), name=f"ground_{i}"))(region)
            for i, group in enumerate(groups)
        ]
    if groups:
        logits = layers("grounded_words", lambda: GroundedWords(groups, name="grounded_words"))([logits, *group_logits])
    return logits, final_states, attention_weights


def _one_to_many_context(layers: _Layers, cfg: dict, features):
    """Everything the decoder gets from the image: the pooled vector, projections, attention memory."""
    if len(features.shape) == 3:
        vector = layers("feature_pool", lambda: keras.layers.GlobalAveragePooling1D(name="feature_pool"))(features)
    else:
        vector = features
    context = {"vector": vector}
    if cfg["inject"] in ("par", "merge"):
        context["projection"] = layers(
            "image_projection",
            lambda: keras.layers.Dense(cfg["embedding_dim"], activation="relu", name="image_projection"),
        )(vector)
    if cfg["attention"] != "none":
        if len(features.shape) != 3:
            raise ValueError("attention needs a feature map (regions x channels), not a single vector")
        context["memory"] = layers(
            "attention_memory", lambda: keras.layers.Dense(cfg["units"], use_bias=False, name="attention_memory")
        )(features)
    return context


def _initial_states_from_image(layers: _Layers, cfg: dict, vector, state_counts):
    """The `init` injection: each decoder state starts as a tanh projection of the image vector."""
    return [
        [
            layers(
                f"init_{i}_{j}",
                lambda i=i, j=j: keras.layers.Dense(cfg["units"], activation="tanh", name=f"init_{i}_{j}"),
            )(vector)
            for j in range(count)
        ]
        for i, count in enumerate(state_counts)
    ]


def one_to_many(
    spec: RNNSpec,
    vocab_size: int,
    *,
    feature_shape: tuple | None = None,
    encoder: keras.layers.Layer | None = None,
    input_shape: tuple | None = None,
    embedding_dim: int = 64,
    inject: str = "init",
    attention: str = "none",
    reader: bool = False,
    word_groups: list[list[int]] | None = None,
    group_encoders: list[keras.layers.Layer] | None = None,
    word_loss: float = 0.0,
    name: str = "one_to_many",
) -> keras.Model:
    """One input (a vector, a feature map or, with `encoder`, an image) to a sequence of token logits.

    Inputs: `image` (or `features`) and `tokens`, the target sequence shifted right (teacher forcing).
    `inject` chooses where the image enters the decoder (Tanti et al. 2018): the initial state (`init`), the first
    input step (`pre`), every input step (`par`), or merged with the RNN output (`merge`). `reader` (with
    attention) adds a one-layer recurrent
    `reader` over each step's decoder output and attended context, below the output layer, so what was attended
    at earlier steps informs the next word: the bottom-layer attention of Wu et al. 2016 (GNMT), and a cheap form
    of Luong et al. 2015's input feeding. `word_groups` (with attention) are lists of word ids, such as the
    colour words, whose choice within the group is made from the attended region alone (`GroundedWords`).
    `group_encoders` (with `encoder` and `word_groups`), one per group, each map the image to regions on the
    encoder's grid; a group's head then reads its own encoder's regions where the decoder attends, instead of the
    attended encoder features. `word_loss` (with `word_groups`) weighs an auxiliary loss that trains the language
    model's own softmax on every next word, grouped ones included (`NextWordLoss`), so its attention learns to
    tell apart what the heads name; its choice within a group is still not used.
    """
    if inject not in INJECTIONS:
        raise ValueError(f"unknown inject mode {inject!r}; choose one of: {', '.join(INJECTIONS)}")
    if reader and attention == "none":
        raise ValueError("the reader reads the attended context at each step; it needs attention additive or dot")
    if word_loss and not word_groups:
        raise ValueError(
            "the auxiliary word loss trains a language model whose grouped words are chosen elsewhere; "
            "it needs word groups"
        )
    if word_groups and attention == "none":
        raise ValueError("grounded words are chosen from the attended region; they need attention additive or dot")
    check_attention(attention)
    if spec.bidirectional:
        raise ValueError("a decoder cannot be bidirectional: it writes one word after another")
    if spec.cell == "none" and inject in ("init", "pre"):
        raise ValueError(
            f"inject {inject!r} passes the image through the recurrent state, which cell 'none' lacks; "
            "use inject par or merge"
        )
    if group_encoders and (encoder is None or not word_groups or len(group_encoders) != len(word_groups)):
        raise ValueError("group encoders need an image encoder and one word group each")
    if encoder is not None:
        image = keras.Input(shape=input_shape, name="image")
        features = keras.layers.Identity(name="image_features")(encoder(image))
    else:
        image = keras.Input(shape=feature_shape, name="features")
        features = image
    group_features = [
        keras.layers.Identity(name=f"group_features_{i}")(group_encoder(image))
        for i, group_encoder in enumerate(group_encoders or [])
    ]
    for group_feature in group_features:
        if len(group_feature.shape) != 3 or group_feature.shape[1] != features.shape[1]:
            raise ValueError(
                f"a group encoder gives {group_feature.shape[1:]}, not regions on the encoder's grid of "
                f"{features.shape[1]}"
            )
    tokens = keras.Input(shape=(None,), dtype="int32", name="tokens")
    cfg = _one_to_many_cfg(spec, vocab_size, embedding_dim, inject, attention, reader)
    cfg["word_groups"] = word_groups
    cfg["word_loss"] = word_loss
    layers = _Layers()
    context = _one_to_many_context(layers, cfg, features)
    context.update({f"group_{i}": group_feature for i, group_feature in enumerate(group_features)})
    stack_states = None
    if inject == "init":
        counts = [cell_state_count(spec.cell)] * spec.layers
        stack_states = _initial_states_from_image(layers, cfg, context["vector"], counts)
    cfg["spec"] = spec
    image_step = None
    if inject == "pre":
        # The image, projected to a word embedding, is the decoder's first input.
        projected = keras.layers.Dense(embedding_dim, name="image_embedding")(context["vector"])
        image_step = keras.layers.Reshape((1, embedding_dim), name="image_step")(projected)
    logits, _, _ = _one_to_many_graph(layers, cfg, tokens, context, stack_states, image_step)
    return keras.Model([image, tokens], logits, name=name)


def _one_to_many_cfg(spec, vocab_size, embedding_dim, inject, attention, reader):
    return {
        "units": spec.units if spec else None,
        "vocab_size": vocab_size,
        "embedding_dim": embedding_dim,
        "inject": inject,
        "attention": attention,
        "spec": spec,
        "reader": reader,
        "reader_spec": RNNSpec(spec.cell, spec.units, 1, spec.activation, explicit=spec.explicit) if reader else None,
    }


def one_to_many_inference(model: keras.Model) -> InferenceModels:
    """Start model (image -> context and initial states) and step model of a one-to-many model, by layer name."""
    layers = _Layers(model)
    stack = layers.stack(None, "decoder")
    inject = next(mode for mode in INJECTIONS if _injection_marker(layers, mode))
    attention = "none"
    if layers.has("attention"):
        attention = "additive" if isinstance(model.get_layer("attention"), keras.layers.AdditiveAttention) else "dot"
    embedding = model.get_layer("token_embedding")
    cfg = {
        "units": stack.units,
        "vocab_size": embedding.input_dim,
        "embedding_dim": embedding.output_dim,
        "inject": inject,
        "attention": attention,
        "reader": layers.has("reader_0"),
        "word_loss": model.get_layer("word_loss").weight if layers.has("word_loss") else 0.0,
        "word_groups": model.get_layer("grounded_words").groups if layers.has("grounded_words") else None,
    }
    reader = layers.stack(None, "reader") if cfg["reader"] else None
    image = model.inputs[0]  # `image` or `features`, always first
    features = model.get_layer("image_features").output if layers.has("image_features") else image
    context = _one_to_many_context(layers, cfg, features)
    group_count = sum(1 for layer in model.layers if layer.name.startswith("group_features_"))
    context.update({f"group_{i}": model.get_layer(f"group_features_{i}").output for i in range(group_count)})
    context_keys = [key for key in ("projection", "memory") if key in context]
    context_keys += [f"group_{i}" for i in range(group_count)]
    if inject == "init":
        start_states = _initial_states_from_image(layers, cfg, context["vector"], stack.state_counts)
    elif inject == "pre":
        image_step = model.get_layer("image_step").output
        _, start_states = stack(image_step)
    else:
        start_states = [[ops.zeros_like(_width_like(context["vector"], stack.units))] * n for n in stack.state_counts]
    if reader is not None:
        start_states = list(start_states) + [
            [ops.zeros_like(_width_like(context["vector"], reader.units))] * n for n in reader.state_counts
        ]
    flat_start = [tensor for group in start_states for tensor in group]
    start = keras.Model(image, [context[key] for key in context_keys] + flat_start, name=f"{model.name}_start")

    token = keras.Input(shape=(1,), dtype="int32", name="token")
    context_inputs = {
        key: keras.Input(shape=tuple(context[key].shape[1:]), name=f"context_{key}") for key in context_keys
    }
    state_inputs = stack.state_inputs() + (reader.state_inputs() if reader is not None else [])
    logits, final_states, weights = _one_to_many_graph(layers, cfg, token, context_inputs, state_inputs)
    outputs = [ops.squeeze(logits, axis=1)] + [tensor for group in final_states for tensor in group]
    if weights is not None:
        outputs.append(ops.squeeze(weights, axis=1))
    flat_state_inputs = [tensor for group in state_inputs for tensor in group]
    step = keras.Model(
        [token, *[context_inputs[key] for key in context_keys], *flat_state_inputs], outputs, name=f"{model.name}_step"
    )
    return InferenceModels(
        start=start,
        step=step,
        context_count=len(context_keys),
        state_count=len(flat_state_inputs),
        has_attention=weights is not None,
    )


def _width_like(vector, width):
    """A (batch, width) tensor shaped after a batch of vectors; multiplied by zero to give zero states."""
    return ops.repeat(vector[:, :1], width, axis=1)


def _injection_marker(layers: _Layers, mode: str) -> bool:
    markers = {"init": "init_0_0", "pre": "image_embedding", "par": "repeat_image", "merge": "repeat_merge"}
    return layers.has(markers[mode])


# --- seq2seq -------------------------------------------------------------------------------------------------------


def _seq2seq_decoder(layers: _Layers, cfg: dict, target_tokens, memory, source_ids, states):
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


def _seq2seq_encoder(layers: _Layers, cfg: dict, source, decoder_state_counts):
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
    layers = _Layers()
    decoder_counts = [cell_state_count(spec.cell)] * spec.layers
    memory, states = _seq2seq_encoder(layers, cfg, source, decoder_counts)
    logits, _, _ = _seq2seq_decoder(layers, cfg, target_in, memory, source, states)
    return keras.Model([source, target_in], logits, name=name)


def seq2seq_inference(model: keras.Model) -> InferenceModels:
    """Start model (source -> memory, source ids, decoder states) and step model of a seq2seq model, by name."""
    layers = _Layers(model)
    decoder = layers.stack(None, "decoder")
    attention = "none"
    if layers.has("attention"):
        attention = "additive" if isinstance(model.get_layer("attention"), keras.layers.AdditiveAttention) else "dot"
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
