"""The backend check: a Keras backend the applications cannot run on, or one not installed, is one clear line."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gallery import backends
from gallery.errors import UsageError

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def keras_home(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.delenv("KERAS_BACKEND", raising=False)
    return tmp_path


def test_the_backend_comes_from_the_environment_then_keras_json_then_the_default(keras_home, monkeypatch):
    assert backends.selected_backend() == ("tensorflow", "Keras's default")
    (keras_home / "keras.json").write_text(json.dumps({"backend": "jax", "floatx": "float32"}))
    assert backends.selected_backend() == ("jax", str(keras_home / "keras.json"))
    monkeypatch.setenv("KERAS_BACKEND", "tensorflow")
    assert backends.selected_backend() == ("tensorflow", "KERAS_BACKEND")


@pytest.mark.parametrize("backend", ["torch", "numpy", "openvino"])
def test_unsupported_backends_are_refused_naming_the_supported_ones(keras_home, monkeypatch, backend):
    monkeypatch.setenv("KERAS_BACKEND", backend)
    with pytest.raises(UsageError, match=f"'{backend}' \\(from KERAS_BACKEND\\) is not supported") as refused:
        backends.check_backend()
    assert "KERAS_BACKEND=tensorflow or KERAS_BACKEND=jax" in str(refused.value)


def test_a_supported_backend_that_is_not_installed_says_what_to_install(keras_home, monkeypatch):
    (keras_home / "keras.json").write_text(json.dumps({"backend": "jax"}))
    monkeypatch.setattr(backends, "installed", lambda package: package != "jax")
    with pytest.raises(UsageError, match=r"'jax' \(from .*keras.json\) is not installed: pip install -e '.\[jax\]'"):
        backends.check_backend()
    monkeypatch.setenv("KERAS_BACKEND", "tensorflow")
    assert backends.check_backend() == "tensorflow"


@pytest.mark.parametrize("app", ["hello", "keywords"])
def test_the_command_line_refuses_pytorch_in_one_line_with_status_2(app):
    """Checked before Keras loads: with no PyTorch installed, Keras itself would fail with a traceback."""
    env = {**os.environ, "KERAS_BACKEND": "torch"}
    process = subprocess.run(
        [sys.executable, "-m", f"gallery.{app}", "--preset", "smoke"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert process.returncode == 2
    assert process.stderr.count("\n") == 1 and "Traceback" not in process.stderr
    assert "'torch' (from KERAS_BACKEND) is not supported" in process.stderr
    assert "KERAS_BACKEND=tensorflow or KERAS_BACKEND=jax" in process.stderr
