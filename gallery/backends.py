"""Which Keras backends the applications run on, checked before Keras loads: one line and status 2 for any other.

Keras picks its backend from KERAS_BACKEND, else from the `backend` entry of keras.json in KERAS_HOME (default
~/.keras), else TensorFlow. Every application trains on TensorFlow and on JAX (their batches are NumPy, their layers
`keras.ops`); PyTorch, NumPy and OpenVINO are refused, as is a supported backend whose package is not installed,
with the line saying how to choose another. This module imports nothing of Keras, so it can run before Keras does.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path

from gallery.errors import UsageError

SUPPORTED = ("tensorflow", "jax")
# What to install for each supported backend (the project's extras).
INSTALL = {"tensorflow": "pip install -e .", "jax": "pip install -e '.[jax]'"}


def selected_backend() -> tuple[str, str]:
    """(backend, where it was chosen) as Keras will choose them, without importing Keras."""
    from_environment = os.environ.get("KERAS_BACKEND")
    if from_environment:
        return from_environment, "KERAS_BACKEND"
    home = os.environ.get("KERAS_HOME") or str(Path.home() / ".keras")
    config_path = Path(home).expanduser() / "keras.json"
    try:
        configured = json.loads(config_path.read_text(encoding="utf-8")).get("backend")
    except (OSError, ValueError, AttributeError):
        configured = None
    if configured:
        return str(configured), str(config_path)
    return "tensorflow", "Keras's default"


def check_backend(supported: tuple[str, ...] = SUPPORTED) -> str:
    """The backend Keras will use; UsageError when it is not one of `supported` or its package is missing."""
    backend, origin = selected_backend()
    choose = " or ".join(f"KERAS_BACKEND={name}" for name in supported)
    if backend not in supported:
        raise UsageError(
            f"Keras backend {backend!r} (from {origin}) is not supported: the applications run on "
            f"{' and '.join(supported)}; choose one with {choose}"
        )
    if not installed(backend):
        others = " or ".join(f"KERAS_BACKEND={name}" for name in supported if name != backend)
        raise UsageError(
            f"Keras backend {backend!r} (from {origin}) is not installed: {INSTALL.get(backend, 'install it')}, "
            f"or choose {others}"
        )
    return backend


def installed(package: str) -> bool:
    """Whether `package` can be found for import (False, not an error, where an import hook hides it)."""
    try:
        return importlib.util.find_spec(package) is not None
    except (ImportError, ValueError):  # a broken installation, or an import hook that hides the package
        return False


def exit_unless_supported(supported: tuple[str, ...] = SUPPORTED) -> None:
    """`check_backend`, with a refusal printed as one line on stderr and exit status 2 (no traceback)."""
    try:
        check_backend(supported)
    except UsageError as error:
        print(f"rnn-gallery: error: {error}", file=sys.stderr)
        raise SystemExit(2) from None
