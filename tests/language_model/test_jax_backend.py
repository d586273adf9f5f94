"""The language model on Keras's JAX backend, with TensorFlow made unimportable: train, sample, reload.

This is what runs on a GPU machine that has JAX but no TensorFlow. Skipped where JAX is not installed.
"""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="JAX is not installed")

ROOT = Path(__file__).resolve().parents[2]

# Runs a module as `python -m` would, after making TensorFlow (and tfds, which needs it) impossible to import.
WITHOUT_TENSORFLOW = """
import runpy, sys
sys.modules["tensorflow"] = None
sys.modules["tensorflow_datasets"] = None
sys.argv = sys.argv[1:]
runpy.run_module(sys.argv[0], run_name="__main__", alter_sys=True)
"""


def run_on_jax(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu"}
    return subprocess.run(
        [sys.executable, "-c", WITHOUT_TENSORFLOW, "gallery.language_model", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_language_model_trains_samples_and_reloads_on_jax_without_tensorflow(tmp_path):
    run_dir = tmp_path / "run"
    trained = run_on_jax("--preset", "smoke", "--out", str(run_dir))
    assert trained.returncode == 0, trained.stderr[-2000:]
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert 0 < metrics["primary"]["value"] < 10
    assert (run_dir / "model.keras").is_file()

    sample_args = ("sample", "--run", str(run_dir), "--prime", "def ", "--length", "40", "--seed", "5")
    first, second = run_on_jax(*sample_args), run_on_jax(*sample_args)
    assert first.returncode == 0, first.stderr[-2000:]
    assert first.stdout.startswith("def ")
    assert len(first.stdout.rstrip("\n")) == len("def ") + 40
    assert first.stdout == second.stdout

    refused = run_on_jax("--preset", "smoke", "--out", str(tmp_path / "other"), "--strategy", "mirrored")
    assert refused.returncode == 2
    assert "--strategy mirrored is TensorFlow's" in refused.stderr
