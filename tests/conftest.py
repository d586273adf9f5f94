"""Shared test helpers: quiet TensorFlow, a seeded Keras, and access to the optional real datasets."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

REPOSITORY = Path(__file__).resolve().parents[1]


def shared_data(name: str) -> Path:
    """A folder of ../shared/data (or $GALLERY_DATA_DIR); the test is skipped when it is not there."""
    root = os.environ.get("GALLERY_DATA_DIR")
    if not root:
        pytest.skip("GALLERY_DATA_DIR is not set; real-data tests are skipped")
    folder = Path(root) / name
    if not folder.exists():
        pytest.skip(f"{folder} is missing")
    return folder


@pytest.fixture(autouse=True)
def _seeded():
    import keras

    keras.utils.set_random_seed(1234)
    yield


@pytest.fixture
def rng():
    import numpy as np

    return np.random.default_rng(0)


@pytest.fixture
def fresh_python():
    """Runs code in a new Python process (nothing imported or registered beforehand) and gives its stdout."""
    return _fresh_python


def _fresh_python(code: str, timeout: float = 240) -> str:
    import subprocess
    import sys

    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPOSITORY, env=environment, capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout
