"""Shared Keras RNN blocks: cells and their registry, stacks, layout templates, attention and decoding.

Importing this package registers the custom cells and activations with Keras, so `.keras` files that use them
load in a fresh process with `safe_mode=True`. Nothing here knows about files, datasets or applications.
"""

import logging
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _import_tensorflow_quietly() -> None:
    """Import TensorFlow and probe its devices with their C++ chatter (CUDA on a CPU machine) kept off stderr.

    The messages are printed before TensorFlow reads TF_CPP_MIN_LOG_LEVEL, so the variable cannot hide them.
    Set TF_CPP_MIN_LOG_LEVEL=0 to see them. Python errors still surface: stderr is restored before they are raised.
    """
    if "tensorflow" in sys.modules or os.environ.get("TF_CPP_MIN_LOG_LEVEL") == "0":
        return
    if os.environ.get("KERAS_BACKEND", "tensorflow") != "tensorflow":
        return  # JAX and PyTorch need no TensorFlow, and it may not be installed
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    try:
        sys.stderr.flush()
        os.dup2(devnull, 2)
        import tensorflow

        # The CUDA probe runs at the first device query, not at import; on a machine without a GPU it prints
        # "failed call to cuInit", so it is made here, while stderr is still muted.
        tensorflow.config.list_physical_devices("GPU")
        # On a CPU without AVX-512, the first op that oneDNN cannot take (a bool or int32 transpose, as every masked
        # or embedded sequence model runs) logs an error-level line once per process; it is spent here, muted. Not
        # on a worker of a cluster (TF_CONFIG set): an op starts TensorFlow's runtime, and the collective ops of
        # --strategy multi_worker must be configured before it starts.
        if not os.environ.get("TF_CONFIG"):
            tensorflow.transpose(tensorflow.constant([[True]]))
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


class _WithoutRetracingAdvice(logging.Filter):
    """Drops TensorFlow's advice on tf.function retracing: decoding calls its compiled step on growing prefixes and
    varying batch sizes on purpose, and the advice, addressed to the library's author, only puzzles a user."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "triggered tf.function retracing" not in record.getMessage()


_import_tensorflow_quietly()
if "tensorflow" in sys.modules:
    logging.getLogger("tensorflow").addFilter(_WithoutRetracingAdvice())

# Every layer `models` defines is registered on `import models`, so any saved model built from these blocks loads.
from models import attention, audio, template_parts  # noqa: E402,F401
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
