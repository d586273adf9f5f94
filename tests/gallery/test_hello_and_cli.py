"""The hello app end to end, its saved run, and the command line's handling of bad values."""

import subprocess
import sys

import numpy as np
import pytest

from gallery.cli import run_cli
from gallery.hello import APP
from gallery.hello.config import HelloConfig
from gallery.hello.data import encode, vocabulary
from gallery.hello.model import numpy_forward
from gallery.runs import load_run


@pytest.fixture(scope="module")
def hello_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("hello")
    return APP.run(HelloConfig.from_preset("smoke", out=str(out)))


def test_hello_learns_ello_and_matches_numpy(hello_run):
    metrics = hello_run.metrics
    assert metrics["predicted"] == "ello"
    assert metrics["primary"] == {"name": "next-character accuracy", "value": 1.0, "higher_is_better": True}
    assert metrics["numpy_max_abs_difference"] < 1e-5
    for name in ("model.keras", "config.json", "metrics.json", "history.csv", "learning_curve.png", "showcase.json"):
        assert (hello_run.run_dir / name).is_file(), name


def test_the_saved_run_predicts_the_same_in_numpy(hello_run):
    loaded = load_run(hello_run.run_dir, "hello")
    config = HelloConfig.from_dict(loaded.config)
    inputs, targets = encode("hello", vocabulary("hello"))
    scores = np.asarray(loaded.model(inputs))
    reference_scores, _ = numpy_forward(loaded.model, inputs, config)
    assert np.abs(scores - reference_scores).max() < 1e-5
    assert (scores.argmax(-1) == targets).all()
    weight_names = {w.name for w in loaded.model.get_layer("rnn_0").weights}
    assert weight_names == {"W_xh", "W_hh", "b_h"}


def test_vocabulary_is_the_lectures():
    assert vocabulary("hello") == ["h", "e", "l", "o"]


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["--cell", "transformer"], "invalid choice: 'transformer'"),
        (["--activation", "swish"], "invalid choice: 'swish'"),
        (["--units", "0"], "--units must be at least 1"),
        (["--units", "many"], "invalid int value"),
        (["--cell", "gru", "--activation", "relu"], "applies to --cell rnn only"),
        (["--dropout", "1.5"], "--dropout must be below 1"),
        (["--recurrent-dropout", "1"], "--recurrent-dropout must be below 1"),
        (["--recurrent-dropout", "0.2"], "does not apply to hello"),
        (["--weight-decay", "-1"], "--weight-decay must be at least 0"),
        (["--preset", "huge"], "invalid choice: 'huge'"),
        (["--bidirectional"], "--bidirectional would let the network read"),
        (["--data", "a"], "at least two characters"),
    ],
)
def test_bad_values_exit_2_with_one_line(arguments, message, capsys):
    assert run_cli(APP, arguments) == 2
    error = capsys.readouterr().err.strip()
    assert message in error
    assert len(error.splitlines()) == 1


def test_a_loader_refuses_what_is_not_a_run(tmp_path, capsys):
    from gallery.errors import UsageError

    with pytest.raises(UsageError, match="does not exist"):
        load_run(tmp_path / "nowhere", "hello")
    with pytest.raises(UsageError, match="not a run folder"):
        load_run(tmp_path, "hello")


def test_a_damaged_run_is_a_user_error(hello_run, tmp_path):
    import shutil

    from gallery.errors import UsageError

    damaged = tmp_path / "damaged"
    shutil.copytree(hello_run.run_dir, damaged)
    (damaged / "model.keras").write_bytes(b"not a zip file")
    with pytest.raises(UsageError, match="could not be loaded"):
        load_run(damaged, "hello")
    (damaged / "metrics.json").unlink()
    with pytest.raises(UsageError, match="training did not finish"):
        load_run(damaged, "hello")


def test_command_line_exit_status_in_a_fresh_process():
    completed = subprocess.run(
        [sys.executable, "-m", "gallery.hello", "--layers", "-1"], capture_output=True, text=True, timeout=120
    )
    assert completed.returncode == 2
    assert completed.stderr.strip() == "python -m gallery.hello: error: --layers must be at least 1, got -1"
    listing = subprocess.run([sys.executable, "-m", "gallery"], capture_output=True, text=True, timeout=60)
    assert listing.returncode == 0 and "hello" in listing.stdout


def test_load_run_reads_any_app_from_its_config_and_predicts_as_the_verb(hello_run, capsys, fresh_python, tmp_path):
    assert run_cli(APP, ["predict", "--run", str(hello_run.run_dir), "--text", "hell"]) == 0
    assert capsys.readouterr().out == "'hell' -> next characters 'ello'\n"
    output = fresh_python(
        f"""
from gallery import load_run
run = load_run({str(hello_run.run_dir)!r})
print(type(run).__name__, run.predict("hell"), run.metrics["predicted"])
"""
    )
    assert output.split() == ["HelloRun", "ello", "ello"]
    from gallery import load_run as documented_load
    from gallery.errors import UsageError

    with pytest.raises(UsageError, match="does not exist"):
        documented_load(tmp_path / "nowhere")
    with pytest.raises(UsageError, match="config.json is missing"):
        documented_load(tmp_path)
    (tmp_path / "config.json").write_text('{"app": "no_such_app"}')
    with pytest.raises(UsageError, match="not installed here"):
        documented_load(tmp_path)
