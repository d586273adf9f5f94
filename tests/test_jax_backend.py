"""Every application on Keras's JAX backend, with TensorFlow unimportable: each trains its smoke preset and uses it.

This is what runs on a GPU machine that has JAX but no TensorFlow. Skipped where JAX is not installed. (hello, the
seventh, is the smallest: `KERAS_BACKEND=jax python -m gallery.hello --preset smoke`.)
"""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

# Slow (a few minutes: every JAX compile happens afresh on a CPU), so out of the default suite; `.ci/run` runs
# this module as a step of its own.
pytestmark = [
    pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="JAX is not installed"),
    pytest.mark.slow,
]

ROOT = Path(__file__).resolve().parents[1]

# Runs a module as `python -m` would, with TensorFlow (and tfds, which needs it) impossible to import. A finder
# that refuses them, not `sys.modules[...] = None`: Keras checks `"tensorflow" in sys.modules` to decide it is inside
# a tf.function, and a None entry there would send it looking for TensorFlow.
WITHOUT_TENSORFLOW = """
import importlib.abc, runpy, sys

class NoTensorFlow(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("tensorflow", "tensorflow_datasets"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, NoTensorFlow())
sys.argv = sys.argv[1:]
if sys.argv[0].endswith(".py"):
    runpy.run_path(sys.argv[0], run_name="__main__")
else:
    runpy.run_module(sys.argv[0], run_name="__main__", alter_sys=True)
"""


def run_on_jax(module_or_script: str, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu", **(env or {})}
    return subprocess.run(
        [sys.executable, "-c", WITHOUT_TENSORFLOW, module_or_script, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_language_model_trains_samples_and_reloads_on_jax_without_tensorflow(tmp_path):
    run_dir = tmp_path / "run"
    trained = run_on_jax("gallery.language_model", "--preset", "smoke", "--out", str(run_dir))
    assert trained.returncode == 0, trained.stderr[-2000:]
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert 0 < metrics["primary"]["value"] < 10
    assert (run_dir / "model.keras").is_file()

    sample_args = ("sample", "--run", str(run_dir), "--prime", "def ", "--length", "40", "--seed", "5")
    first, second = (run_on_jax("gallery.language_model", *sample_args) for _ in range(2))
    assert first.returncode == 0, first.stderr[-2000:]
    assert first.stdout.startswith("def ")
    assert len(first.stdout.rstrip("\n")) == len("def ") + 40
    assert first.stdout == second.stdout

    refused = run_on_jax(
        "gallery.language_model", "--preset", "smoke", "--out", str(tmp_path / "other"), "--strategy", "mirrored"
    )
    assert refused.returncode == 2
    assert "--strategy mirrored is TensorFlow's" in refused.stderr


def test_music_trains_evaluates_and_composes_on_jax_without_tensorflow(tmp_path):
    rng = np.random.default_rng(3)

    def piece(steps):
        return [
            sorted(int(p) for p in rng.choice(np.arange(48, 80), rng.integers(1, 4), replace=False))
            for _ in range(steps)
        ]

    data = tmp_path / "toy.json"
    data.write_text(
        json.dumps({split: [piece(int(n)) for n in rng.integers(8, 30, 6)] for split in ("train", "valid", "test")})
    )
    run_dir = tmp_path / "run"
    trained = run_on_jax(
        "gallery.music", "--preset", "smoke", "--data", str(data), "--transpose", "2", "--out", str(run_dir)
    )
    assert trained.returncode == 0, trained.stderr[-2000:]
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert 0 < metrics["test_nll_per_frame"] < 88 * np.log(2) + 1  # below a coin per key, after two epochs

    song = tmp_path / "song.mid"
    composed = run_on_jax("gallery.music", "generate", "--run", str(run_dir), "--steps", "8", "--out", str(song))
    assert composed.returncode == 0, composed.stderr[-2000:]
    assert song.read_bytes().startswith(b"MThd")
    assert song.with_suffix(".wav").read_bytes()[:4] == b"RIFF"


def test_translation_and_captioning_train_and_decode_on_jax_without_tensorflow(tmp_path):
    # One process for both apps: JAX and Keras are imported once.
    script = tmp_path / "both.py"
    script.write_text(
        "import sys\n"
        "from gallery.cli import run_cli\n"
        "from gallery.apps import load\n"
        "TRANSLATION, CAPTIONING = load('translation'), load('captioning')\n"
        f"out = {str(tmp_path)!r}\n"
        "assert run_cli(TRANSLATION, ['--preset', 'smoke', '--epochs', '1', '--out', out + '/tr']) == 0\n"
        "assert run_cli(TRANSLATION, ['translate', '--run', out + '/tr', '--beam', '2', 'forty two']) == 0\n"
        "captioning = ['--preset', 'smoke', '--epochs', '1', '--out', out + '/cap']\n"
        "assert run_cli(CAPTIONING, captioning) == 0\n"
        "from PIL import Image\n"
        "Image.new('RGB', (70, 50), 'red').save(out + '/red.png')\n"
        "assert run_cli(CAPTIONING, ['caption', out + '/red.png', '--run', out + '/cap']) == 0\n"
    )
    completed = run_on_jax(str(script))
    assert completed.returncode == 0, completed.stderr[-3000:]
    for run_dir in ("tr", "cap"):
        metrics = json.loads((tmp_path / run_dir / "metrics.json").read_text())
        assert np.isfinite(metrics["primary"]["value"])
    assert "red.png" in completed.stdout


def test_keywords_and_question_answering_train_and_answer_on_jax_without_tensorflow(tmp_path):
    """One process for both apps; it also writes the keyword front end's features of a tone and of noise, which
    must be TensorFlow's own (this process runs on TensorFlow)."""
    script = tmp_path / "both.py"
    script.write_text(
        "import numpy as np\n"
        "from gallery.cli import run_cli\n"
        "from gallery.apps import load\n"
        "from gallery.keywords.config import KeywordsConfig\n"
        "from gallery.keywords.model import feature_layer\n"
        "from datasets.pcm import wav_bytes\n"
        "KEYWORDS, QA = load('keywords'), load('qa')\n"
        f"out = {str(tmp_path)!r}\n"
        "assert run_cli(KEYWORDS, ['--preset', 'smoke', '--out', out + '/kw']) == 0\n"
        "waveforms = np.load(out + '/waveforms.npy')\n"
        "np.save(out + '/features.npy', np.asarray(feature_layer(KeywordsConfig.from_preset('demo'))(waveforms)))\n"
        "open(out + '/tone.wav', 'wb').write(wav_bytes(waveforms[0, :8000]))\n"
        "assert run_cli(KEYWORDS, ['predict', out + '/tone.wav', '--run', out + '/kw']) == 0\n"
        "assert run_cli(QA, ['--preset', 'smoke', '--out', out + '/qa']) == 0\n"
        "story = 'Mary moved to the bathroom. John went to the hallway.'\n"
        "assert run_cli(QA, ['ask', '--run', out + '/qa', '--story', story, '--question', 'Where is Mary?']) == 0\n"
    )
    rng = np.random.default_rng(0)
    tone = 0.5 * np.sin(2 * np.pi * 440.0 * np.arange(16000) / 16000)
    waveforms = np.stack([tone, 0.1 * rng.standard_normal(16000)]).astype(np.float32)
    np.save(tmp_path / "waveforms.npy", waveforms)
    completed = run_on_jax(str(script), env={"GALLERY_CACHE": str(tmp_path / "cache")})
    assert completed.returncode == 0, completed.stderr[-3000:]
    for run_dir in ("kw", "qa"):
        metrics = json.loads((tmp_path / run_dir / "metrics.json").read_text())
        assert 0 <= metrics["primary"]["value"] <= 1
    assert "tone.wav (0.50 s, padded to 1 s)" in completed.stdout
    assert "answer: " in completed.stdout and "Mary moved to the bathroom." in completed.stdout

    from gallery.keywords.config import KeywordsConfig
    from gallery.keywords.model import feature_layer

    # JAX's FFT and TensorFlow's round differently in float32; the quiet bins near the floor differ most.
    expected = np.asarray(feature_layer(KeywordsConfig.from_preset("demo"))(waveforms))
    np.testing.assert_allclose(np.load(tmp_path / "features.npy"), expected, rtol=0, atol=5e-4)


def test_compiled_decoding_loops_equal_the_stepwise_reference_on_jax():
    result = run_on_jax("tests/models/jax_decoding_checks.py")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "language model: same tokens" in result.stdout
    assert "encoder-decoder with attention: same tokens" in result.stdout
