"""Shared Keras RNN blocks: cells and their registry, stacks, layout templates, attention and decoding.

Importing this package registers the custom cells and activations with Keras, so `.keras` files that use them
load in a fresh process with `safe_mode=True`. Nothing here knows about files, datasets or applications.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from models.cells import (  # noqa: E402
    ACTIVATIONS,
    CELL_CHOICES,
    CELLS,
    MaxoutRNNCell,
    NoRecurrence,
    VanillaRNNCell,
    activation_function,
    recurrent_layer,
    state_count,
)
from models.stacks import RecurrentStack, RNNSpec  # noqa: E402

__all__ = [
    "ACTIVATIONS",
    "CELL_CHOICES",
    "CELLS",
    "MaxoutRNNCell",
    "NoRecurrence",
    "RNNSpec",
    "RecurrentStack",
    "VanillaRNNCell",
    "activation_function",
    "recurrent_layer",
    "state_count",
]
