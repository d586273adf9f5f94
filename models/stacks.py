"""Stacks of recurrent layers: depth, bidirectional wrapping, dropout between layers, and state handling.

A `RecurrentStack` owns named layers (`<prefix>_0`, `<prefix>_1`, ...) and applies them in the functional API,
returning the top layer's sequence and every layer's final states. Inference models are rebuilt from a trained
(or loaded) model by those names with `RecurrentStack.from_model`, never by layer position.
"""

from __future__ import annotations

from dataclasses import dataclass

import keras

from models.cells import check_cell, recurrent_layer, state_count


@dataclass(frozen=True)
class RNNSpec:
    """The recurrent part of a model: which cell, how wide, how deep."""

    cell: str = "lstm"
    units: int = 128
    layers: int = 1
    activation: str = "tanh"
    bidirectional: bool = False
    dropout: float = 0.0
    explicit: bool = False
    recurrent_dropout: float = 0.0

    def __post_init__(self):
        check_cell(self.cell, self.activation)
        if self.units < 1:
            raise ValueError(f"units must be at least 1, got {self.units}")
        if self.layers < 1:
            raise ValueError(f"layers must be at least 1, got {self.layers}")
        if self.cell == "none" and self.bidirectional:
            raise ValueError("the no-recurrence baseline has no direction; leave bidirectional off")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        if not 0.0 <= self.recurrent_dropout < 1.0:
            raise ValueError(f"recurrent dropout must be in [0, 1), got {self.recurrent_dropout}")


class RecurrentStack:
    """Named recurrent layers applied one after another, with dropout between them."""

    def __init__(self, spec: RNNSpec, prefix: str = "rnn"):
        self.spec = spec
        self.prefix = prefix
        self.layers = []
        options = {
            "cell": spec.cell,
            "units": spec.units,
            "activation": spec.activation,
            "explicit": spec.explicit,
            "recurrent_dropout": spec.recurrent_dropout,
        }
        for index in range(spec.layers):
            name = f"{prefix}_{index}"
            if spec.bidirectional:
                inner = recurrent_layer(**options)
                layer = keras.layers.Bidirectional(inner, name=name)
            else:
                layer = recurrent_layer(**options, name=name)
            self.layers.append(layer)
        self.dropouts = [
            keras.layers.Dropout(spec.dropout, name=f"{prefix}_dropout_{index}") if spec.dropout > 0 else None
            for index in range(spec.layers)
        ]

    @classmethod
    def from_model(cls, model: keras.Model, prefix: str = "rnn") -> RecurrentStack:
        """The stack whose layers a built model holds under `<prefix>_<i>`, found by name."""
        stack = cls.__new__(cls)
        stack.prefix = prefix
        stack.spec = None
        stack.layers, stack.dropouts = [], []
        names = {layer.name for layer in model.layers}
        index = 0
        while f"{prefix}_{index}" in names:
            stack.layers.append(model.get_layer(f"{prefix}_{index}"))
            # Dropout is the identity at inference, so step models leave it out.
            stack.dropouts.append(None)
            index += 1
        if not stack.layers:
            raise ValueError(f"model {model.name!r} has no recurrent layers named {prefix}_0, {prefix}_1, ...")
        return stack

    @property
    def state_counts(self) -> list[int]:
        return [state_count(layer) for layer in self.layers]

    @property
    def bidirectional(self) -> bool:
        return isinstance(self.layers[0], keras.layers.Bidirectional)

    @property
    def units(self) -> int:
        return self._state_width(self.layers[0])

    def state_inputs(self, batch_size: int | None = None) -> list[list[keras.KerasTensor]]:
        """Symbolic inputs for every layer's states, named `<prefix>_<i>_state_<j>`, for step models."""
        inputs = []
        for index, (layer, count) in enumerate(zip(self.layers, self.state_counts)):
            width = self._state_width(layer)
            inputs.append(
                [
                    keras.Input(shape=(width,), batch_size=batch_size, name=f"{self.prefix}_{index}_state_{j}")
                    for j in range(count)
                ]
            )
        return inputs

    @staticmethod
    def _state_width(layer) -> int:
        inner = layer.forward_layer if isinstance(layer, keras.layers.Bidirectional) else layer
        return inner.cell.units if hasattr(inner, "cell") else inner.units

    def __call__(self, x, initial_states=None, mask=None, training=None):
        """Run the stack over `x`; returns (top sequence, [final states of each layer])."""
        final_states = []
        counts = self.state_counts
        for index, (layer, dropout) in enumerate(zip(self.layers, self.dropouts)):
            start = initial_states[index] if initial_states is not None else None
            kwargs = {"mask": mask} if mask is not None else {}
            if start is not None:
                kwargs["initial_state"] = list(start)
            if not counts[index]:
                kwargs.pop("initial_state", None)
            outputs = layer(x, **kwargs)
            if not isinstance(outputs, (list, tuple)):
                outputs = [outputs]
            x, states = outputs[0], list(outputs[1:])
            final_states.append(states)
            if dropout is not None:
                x = dropout(x, training=training)
        return x, final_states
