"""The one-to-many template: one input (a vector, a feature map or an image) to a sequence of token logits.

`one_to_many` builds the training model, `one_to_many_inference` its start and step models from the arguments the
model stores (`models.template_parts.TemplateArguments`). Both run the same decoder graph, `_Decoder`, so a
step-by-step pass equals the full-sequence forward pass. An app adds layers of its own to the decoder with a
`DecoderHead`, saved with the model like the rest of the arguments.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import keras
from keras import ops

from models.attention import BroadcastOverTime, DropFirstStep, attention_layer, check_attention
from models.cells import cell_state_count
from models.stacks import RecurrentStack, RNNSpec
from models.template_parts import InferenceModels, NamedLayers, TemplateArguments, stored_arguments

INJECTIONS = ("init", "pre", "par", "merge")
ARGUMENTS = "one_to_many"


@dataclass
class DecoderStep:
    """What the decoder computed at every step, for a head to build on: (batch, steps, ...) tensors."""

    tokens: Any
    output: Any
    attended: Any | None
    attention_weights: Any | None
    context: dict[str, Any] = field(default_factory=dict)


class DecoderHead:
    """An app's additions to the one-to-many decoder: `one_to_many(..., head=MyHead(...))`.

    Each method makes its layers through `layers(name, factory)`, so the step model finds the trained ones by
    name. The head is saved with the model (`get_config`; register the subclass with
    `keras.saving.register_keras_serializable`), and `one_to_many_inference` rebuilds it from the model alone
    once the module defining it is imported.
    """

    def image_context(self, layers: NamedLayers, image, features) -> dict[str, Any]:
        """Per-image tensors of the head's own, computed once by the start model and read at every step."""
        return {}

    def recurrent(self, layers: NamedLayers, spec: RNNSpec | None) -> RecurrentStack | None:
        """A recurrent stack of the head's own, whose states the step model carries (`spec`: the decoder's, None
        when rebuilding from a model)."""
        return None

    def read(self, layers: NamedLayers, stack: RecurrentStack, step: DecoderStep, features: list, states):
        """The features below the output layer (decoder output, attended context) through the head's stack:
        returns (new features, the stack's final states)."""
        raise NotImplementedError

    def logits(self, layers: NamedLayers, step: DecoderStep, logits):
        """The next-word logits as the head wants them (say, some words chosen from the image)."""
        return logits

    def get_config(self) -> dict[str, Any]:
        return {}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> DecoderHead:
        return cls(**config)


def _head_arguments(head: DecoderHead | None) -> dict[str, Any] | None:
    if head is None:
        return None
    name = keras.saving.get_registered_name(type(head))
    if keras.saving.get_registered_object(name) is not type(head):
        raise ValueError(f"register {type(head).__name__} with keras.saving.register_keras_serializable")
    return {"name": name, "config": head.get_config()}


def _head_from_arguments(arguments: dict[str, Any] | None) -> DecoderHead | None:
    if arguments is None:
        return None
    head_class = keras.saving.get_registered_object(arguments["name"])
    if head_class is None:
        raise ValueError(f"the decoder head {arguments['name']!r} is not registered: import the app that defines it")
    return head_class.from_config(arguments["config"])


@dataclass
class _Decoder:
    """The decoder given its context, shared by the training model and the step model.

    `context` holds the image projection (`par`, `merge`), the attention memory and the head's tensors. The
    `pre` injection's `image_step` (training graph only) is fed before the first token and its output dropped;
    the step model instead starts from the states the start model computed after that step.
    """

    arguments: dict[str, Any]
    spec: RNNSpec | None  # None when rebuilding from a trained model
    head: DecoderHead | None
    head_stack: RecurrentStack | None

    def __call__(self, layers: NamedLayers, tokens, context, states, image_step=None):
        arguments = self.arguments
        embedding = layers(
            "token_embedding",
            lambda: keras.layers.Embedding(arguments["vocab_size"], arguments["embedding_dim"], name="token_embedding"),
        )
        x = embedding(tokens)
        if image_step is not None:
            x = keras.layers.Concatenate(axis=1, name="pre_concat")([image_step, x])
        if arguments["inject"] == "par":
            repeated = layers("repeat_image", lambda: BroadcastOverTime(name="repeat_image"))(
                [context["projection"], x]
            )
            x = layers("par_concat", lambda: keras.layers.Concatenate(name="par_concat"))([x, repeated])
        stack = layers.stack(self.spec, "decoder")
        depth = len(stack.layers)
        sequence, final_states = stack(x, initial_states=None if states is None else states[:depth])
        if image_step is not None:
            sequence = DropFirstStep(name="drop_image_step")(sequence)
        attended = weights = None
        if arguments["attention"] != "none":
            attend = layers("attention", lambda: attention_layer(arguments["attention"], "attention"))
            attended, weights = attend([sequence, context["memory"], context["memory"]], return_attention_scores=True)
        step = DecoderStep(tokens, sequence, attended, weights, context)
        features = [sequence] + ([attended] if attended is not None else [])
        if self.head_stack is not None:
            head_states = states[depth:] if states is not None and len(states) > depth else None
            features, extra_states = self.head.read(layers, self.head_stack, step, features, head_states)
            final_states = final_states + extra_states
        if arguments["inject"] == "merge":
            repeat = layers("repeat_merge", lambda: BroadcastOverTime(name="repeat_merge"))
            features.append(repeat([context["projection"], sequence]))
        if len(features) > 1:
            joined = layers("combine_concat", lambda: keras.layers.Concatenate(name="combine_concat"))(features)
            hidden = layers(
                "combine", lambda: keras.layers.Dense(arguments["units"], activation="tanh", name="combine")
            )(joined)
        else:
            hidden = features[0]
        logits = layers("output", lambda: keras.layers.Dense(arguments["vocab_size"], name="output"))(hidden)
        if self.head is not None:
            logits = self.head.logits(layers, step, logits)
        return logits, final_states, weights


def _context(layers: NamedLayers, arguments: dict[str, Any], features) -> dict[str, Any]:
    """What the decoder gets from the image: the pooled `vector`, its projection, the attention memory."""
    if len(features.shape) == 3:
        vector = layers("feature_pool", lambda: keras.layers.GlobalAveragePooling1D(name="feature_pool"))(features)
    else:
        vector = features
    context = {"vector": vector}
    if arguments["inject"] in ("par", "merge"):
        context["projection"] = layers(
            "image_projection",
            lambda: keras.layers.Dense(arguments["embedding_dim"], activation="relu", name="image_projection"),
        )(vector)
    if arguments["attention"] != "none":
        if len(features.shape) != 3:
            raise ValueError("attention needs a feature map (regions x channels), not a single vector")
        context["memory"] = layers(
            "attention_memory",
            lambda: keras.layers.Dense(arguments["units"], use_bias=False, name="attention_memory"),
        )(features)
    return context


def _initial_states_from_image(layers: NamedLayers, units: int, vector, state_counts: list[int]):
    """The `init` injection: each decoder state starts as a tanh projection of the image vector."""
    return [
        [
            layers(
                f"init_{i}_{j}",
                lambda i=i, j=j: keras.layers.Dense(units, activation="tanh", name=f"init_{i}_{j}"),
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
    head: DecoderHead | None = None,
    name: str = "one_to_many",
) -> keras.Model:
    """One input (a vector, a feature map, or with `encoder` an image of `input_shape`) to token logits.

    Inputs: `image` (or `features`) and `tokens`, the target sequence shifted right (teacher forcing).
    `inject` chooses where the image enters the decoder (Tanti et al. 2018): the initial state (`init`), the first
    input step (`pre`), every input step (`par`), or merged with the RNN output (`merge`). `attention` (`additive`,
    Bahdanau; `dot`, Luong) attends over a feature map at every step (Xu et al. 2015). `head` adds an app's own
    layers (`DecoderHead`).
    """
    if inject not in INJECTIONS:
        raise ValueError(f"unknown inject mode {inject!r}; choose one of: {', '.join(INJECTIONS)}")
    check_attention(attention)
    if spec.bidirectional:
        raise ValueError("a decoder cannot be bidirectional: it writes one word after another")
    if spec.cell == "none" and inject in ("init", "pre"):
        raise ValueError(
            f"inject {inject!r} passes the image through the recurrent state, which cell 'none' lacks; "
            "use inject par or merge"
        )
    if encoder is not None:
        image = keras.Input(shape=input_shape, name="image")
        features = keras.layers.Identity(name="image_features")(encoder(image))
    else:
        image = keras.Input(shape=feature_shape, name="features")
        features = image
    tokens = keras.Input(shape=(None,), dtype="int32", name="tokens")
    arguments = {
        "vocab_size": vocab_size,
        "embedding_dim": embedding_dim,
        "units": spec.units,
        "inject": inject,
        "attention": attention,
        "encoder": encoder is not None,
        "head": _head_arguments(head),
    }
    layers = NamedLayers()
    context = _context(layers, arguments, features)
    if head is not None:
        context.update(head.image_context(layers, image, features))
    states = None
    if inject == "init":
        counts = [cell_state_count(spec.cell)] * spec.layers
        states = _initial_states_from_image(layers, spec.units, context["vector"], counts)
    image_step = None
    if inject == "pre":
        # The image, projected to a word embedding, is the decoder's first input.
        projected = keras.layers.Dense(embedding_dim, name="image_embedding")(context["vector"])
        image_step = keras.layers.Reshape((1, embedding_dim), name="image_step")(projected)
    decoder = _Decoder(arguments, spec, head, head.recurrent(layers, spec) if head is not None else None)
    logits, _, _ = decoder(layers, tokens, context, states, image_step)
    logits = TemplateArguments(arguments, name=f"{ARGUMENTS}_arguments")(logits)
    return keras.Model([image, tokens], logits, name=name)


def one_to_many_inference(model: keras.Model) -> InferenceModels:
    """Start model (image -> context and initial states) and step model of a one-to-many model, by layer name."""
    arguments = stored_arguments(model, ARGUMENTS)
    head = _head_from_arguments(arguments["head"])
    layers = NamedLayers(model)
    stack = layers.stack(None, "decoder")
    head_stack = head.recurrent(layers, None) if head is not None else None
    image = model.inputs[0]  # `image` or `features`, always first
    features = model.get_layer("image_features").output if arguments["encoder"] else image
    context = _context(layers, arguments, features)
    if head is not None:
        context.update(head.image_context(layers, image, features))
    context_keys = [key for key in context if key != "vector"]
    if arguments["inject"] == "init":
        start_states = _initial_states_from_image(layers, stack.units, context["vector"], stack.state_counts)
    elif arguments["inject"] == "pre":
        _, start_states = stack(model.get_layer("image_step").output)
    else:
        start_states = _zero_states(stack, context["vector"])
    if head_stack is not None:
        start_states = list(start_states) + _zero_states(head_stack, context["vector"])
    flat_start = [tensor for group in start_states for tensor in group]
    start = keras.Model(image, [context[key] for key in context_keys] + flat_start, name=f"{model.name}_start")

    token = keras.Input(shape=(1,), dtype="int32", name="token")
    context_inputs = {
        key: keras.Input(shape=tuple(context[key].shape[1:]), name=f"context_{key}") for key in context_keys
    }
    state_inputs = stack.state_inputs() + (head_stack.state_inputs() if head_stack is not None else [])
    decoder = _Decoder(arguments, None, head, head_stack)
    logits, final_states, weights = decoder(layers, token, context_inputs, state_inputs)
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


def _zero_states(stack: RecurrentStack, vector) -> list[list[Any]]:
    """Zero states for each layer of `stack`, with the batch size of a batch of image vectors."""
    # Shaped after a slice of the vector repeated to the state width: the batch size is known only at run time.
    zeros = ops.zeros_like(ops.repeat(vector[:, :1], stack.units, axis=1))
    return [[zeros] * count for count in stack.state_counts]
