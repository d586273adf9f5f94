"""The compiled decoding loops on Keras's JAX backend give the stepwise NumPy reference's tokens.

The checks of test_decoding.py (greedy, sampling with temperature and top-k, beam search, prefix feeding, attention
maps) run in a subprocess with KERAS_BACKEND=jax and TensorFlow unimportable, as on a machine that has JAX only.
Skipped where JAX is not installed; slow (every loop is compiled afresh by XLA), so out of the default suite.
"""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [
    pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="JAX is not installed"),
    pytest.mark.slow,
]

ROOT = Path(__file__).resolve().parents[2]

# A finder that refuses TensorFlow, not `sys.modules[...] = None` (Keras reads `"tensorflow" in sys.modules`).
CHECKS = """
import importlib.abc, importlib.util, sys

class NoTensorFlow(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("tensorflow", "tensorflow_datasets"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, NoTensorFlow())
import keras

assert keras.backend.backend() == "jax", keras.backend.backend()
spec = importlib.util.spec_from_file_location("decoding_checks", "tests/models/test_decoding.py")
checks = importlib.util.module_from_spec(spec)
spec.loader.exec_module(checks)
checks.check_language_model(checks.small_language_model())
print("language model: same tokens")
checks.check_translator(*checks.small_translator())
print("encoder-decoder with attention: same tokens")
"""


def test_compiled_loops_equal_the_stepwise_reference_on_jax():
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu"}
    result = subprocess.run(
        [sys.executable, "-c", CHECKS], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "language model: same tokens" in result.stdout
    assert "encoder-decoder with attention: same tokens" in result.stdout
