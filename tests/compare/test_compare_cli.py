"""The command line: bad input is one line and exit status 2; the probes run end to end and resume."""

import json
import subprocess
import sys

import pytest

from gallery.compare import probes
from gallery.compare.app import run_cli
from gallery.compare.grid import Architecture


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--cells", "rnn,transformer"], "--cells: unknown 'transformer'; choose from: rnn, lstm, gru"),
        (["--apps", "hello,nonsense"], "--apps: unknown 'nonsense'"),
        (["--apps", "hello", "--cells", "lstm", "--activations", "relu"], "applies to the vanilla cell only"),
        (["--apps", "hello", "--activations", "swish"], "--activations: unknown 'swish'"),
        (["--apps", "hello", "--layers", "one"], "--layers takes comma-separated whole numbers"),
        (["--apps", "hello", "--match-params", "0"], "--match-params must be at least 1"),
        (["--apps", "hello", "--budget-seconds", "-5"], "--budget-seconds must be positive"),
        (["--apps", "hello", "--bidirectional", "sometimes"], "invalid choice: 'sometimes'"),
        (["probes", "--cells", "none,lstm"], "--cells none has none"),
        (["probes", "--lengths", "1,10"], "--lengths takes whole numbers of at least 2"),
        (["probes", "--tasks", "sorting"], "--tasks: unknown 'sorting'"),
        (["probes", "--steps", "0"], "--steps must be at least 1"),
    ],
)
def test_bad_input_is_one_line_and_status_two(argv, message, capsys):
    assert run_cli(argv) == 2
    error = capsys.readouterr().err.strip()
    assert "\n" not in error and message in error


def test_command_line_exits_two_without_a_traceback():
    completed = subprocess.run(
        [sys.executable, "-m", "gallery.compare", "--cells", "bogus"], capture_output=True, text=True, timeout=120
    )
    assert completed.returncode == 2
    assert completed.stderr.strip().splitlines() == [
        "python -m gallery.compare: error: --cells: unknown 'bogus'; choose from: "
        + ", ".join(__import__("gallery.compare.app", fromlist=["valid_cells"]).valid_cells())
    ]


def test_probes_run_tabulate_plot_and_resume(tmp_path, monkeypatch):
    settings = probes.settings_from_preset("smoke", [Architecture("gru")], lengths=(6,), out=tmp_path)
    payload = probes.run_probes(settings)
    records = payload["records"]
    assert [(r["task"], r["architecture"], r["length"]) for r in records] == [
        ("adding", "gru-1L", 6),
        ("copy", "gru-1L", 6),
    ]
    for record in records:
        assert record["error"] > 0 and record["baseline"] > 0
    with_gradients = [r for r in records if "gradient_norms_initial" in r]
    assert [(r["architecture"], r["length"]) for r in with_gradients] == [("gru-1L", 6)]
    assert all(len(r["gradient_norms_trained"]) == 6 for r in with_gradients)
    for picture in ("adding_error.png", "copy_error.png", "gradient_flow.png"):
        assert (tmp_path / picture).stat().st_size > 1000
    table = (tmp_path / "probes.md").read_text()
    assert "| memoryless baseline | 0.1667 |" in table
    assert f"| memoryless baseline | {10 * 2.0794415416798357 / 26:.4f} |" in table  # copy baseline at T = 6

    def must_not_train(*args):
        raise AssertionError("a finished probe was trained again")

    monkeypatch.setattr(probes, "run_probe", must_not_train)
    again = probes.run_probes(settings)
    assert again["records"] == json.loads((tmp_path / "probes.json").read_text())["records"] == records
