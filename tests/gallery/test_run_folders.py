"""Run folders never destroy what a run did not write: foreign folders, finished runs, other configurations."""

import errno
import json
import os
from pathlib import Path

import pytest

from gallery import run_folders, runs
from gallery.cli import App, run_cli
from gallery.config import RunConfig
from gallery.errors import UsageError
from gallery.hello import APP
from gallery.hello.config import HelloConfig


def _fabricated_run(folder: Path, config: RunConfig, *, finished: bool) -> Path:
    """A run folder as a run leaves it (config.json, a model stand-in, metrics.json if finished), without training."""
    folder.mkdir(parents=True, exist_ok=True)
    runs.write_config(folder, config)
    (folder / "model.keras").write_bytes(b"the earlier model")
    (folder / "checkpoints").mkdir(exist_ok=True)
    if finished:
        runs.write_metrics(
            folder, primary_name="accuracy", primary_value=0.5, higher_is_better=True, parameters=1, train_seconds=1
        )
    return folder


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(path.relative_to(folder)): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


def _one_error_line(capsys) -> str:
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    return lines[0]


# The shared machinery: what counts as the same run, and what open_run_directory allows.


def test_the_same_run_ignores_where_and_how_it_runs_but_not_what_it_learns():
    config = HelloConfig.from_preset("smoke")
    stored = config.to_dict()
    assert "overwrite" not in stored  # an instruction to one command, never saved with a run
    assert run_folders.configuration_differences(stored, config) == []
    for changes in ({"out": "elsewhere"}, {"tensorboard": True}, {"strategy": "mirrored"}, {"overwrite": True}):
        assert run_folders.configuration_differences(stored, HelloConfig.from_preset("smoke", **changes)) == [], changes
    assert run_folders.configuration_differences(stored, HelloConfig.from_preset("smoke", units=4)) == [
        "--units 3 there, 4 here"
    ]
    assert run_folders.configuration_differences(stored, HelloConfig.from_preset("demo")) == [
        '--preset "smoke" there, "demo" here',
        "--epochs 300 there, 500 here",
    ]
    assert run_folders.configuration_differences({**stored, "app": "translation"}, config) == [
        "a translation run, not a hello run"
    ]
    # A field the stored run predates counts as its default; one this version no longer has is ignored.
    older = {key: value for key, value in stored.items() if key != "weight_decay"}
    assert run_folders.configuration_differences({**older, "retired_option": 1}, config) == []


def test_a_folder_that_is_not_a_run_is_refused_with_nothing_written(tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "config.json").write_text('{"learning_rate": 0.1}')
    (mine / "history.csv").write_text("epoch,loss\n0,1.0\n")
    before = _snapshot(mine)
    for overwrite in (False, True):  # --overwrite replaces runs only, never a folder a run did not write
        config = HelloConfig.from_preset("smoke", out=str(mine), overwrite=overwrite)
        with pytest.raises(UsageError, match="is not empty and is not a run folder"):
            run_folders.open_run_directory(config)
        assert _snapshot(mine) == before
    assert run_folders.read_run_config(mine) is None


def test_a_file_or_a_path_through_a_file_is_refused(tmp_path):
    existing = tmp_path / "notes.txt"
    existing.write_text("mine")
    with pytest.raises(UsageError, match="is a file, not a folder"):
        run_folders.open_run_directory(HelloConfig.from_preset("smoke", out=str(existing)))
    with pytest.raises(UsageError, match="cannot write .*notes.txt/run: Not a directory"):
        run_folders.open_run_directory(HelloConfig.from_preset("smoke", out=str(existing / "run")))
    assert existing.read_text() == "mine"


def test_a_run_of_another_app_or_configuration_is_refused_unless_overwrite(tmp_path):
    other_app = _fabricated_run(tmp_path / "other_app", RunConfig(), finished=True)
    other_settings = _fabricated_run(tmp_path / "other_settings", HelloConfig.from_preset("smoke"), finished=True)
    (other_app / "config.json").write_text(json.dumps({**RunConfig().to_dict(), "app": "translation"}))
    cases = [(other_app, {}, "holds a translation run, not a hello run"), (other_settings, {"units": 4}, "--units 3")]
    for folder, changes, message in cases:
        before = _snapshot(folder)
        with pytest.raises(UsageError, match=message) as refused:
            run_folders.open_run_directory(HelloConfig.from_preset("smoke", out=str(folder), **changes))
        assert "--overwrite" in str(refused.value) and len(str(refused.value).splitlines()) == 1
        assert _snapshot(folder) == before
        claimed = run_folders.open_run_directory(
            HelloConfig.from_preset("smoke", out=str(folder), overwrite=True, **changes)
        )
        assert not claimed.finished
        assert sorted(path.name for path in folder.iterdir()) == ["config.json"]  # the old run is gone, and only it
        assert run_folders.read_run_config(folder)["app"] == "hello"


def test_a_finished_run_is_kept_an_unfinished_one_resumes_and_overwrite_starts_again(tmp_path):
    config = HelloConfig.from_preset("smoke", out=str(tmp_path / "run"))
    finished = _fabricated_run(tmp_path / "run", config, finished=True)
    before = _snapshot(finished)
    assert run_folders.open_run_directory(config) == run_folders.RunDirectory(finished, finished=True)
    assert _snapshot(finished) == before

    (finished / "metrics.json").unlink()  # killed before it finished: its checkpoints must survive to resume from
    (finished / "checkpoints" / "backup").mkdir()
    assert run_folders.open_run_directory(config) == run_folders.RunDirectory(finished, finished=False)
    assert (finished / "checkpoints" / "backup").is_dir() and (finished / "model.keras").is_file()

    again = HelloConfig.from_preset("smoke", out=str(finished), overwrite=True)
    assert run_folders.open_run_directory(again) == run_folders.RunDirectory(finished, finished=False)
    assert sorted(path.name for path in finished.iterdir()) == ["config.json"]


def test_a_run_that_stops_before_training_writes_anything_leaves_nothing_behind(tmp_path, capsys):
    def bad_data(config, run_dir):
        assert run_folders.read_run_config(run_dir)["app"] == "hello"  # claimed before training starts
        raise UsageError("no such data")

    failing = App("hello", APP.layout, APP.description, HelloConfig, bad_data)
    target = tmp_path / "new" / "run"
    assert run_cli(failing, ["--preset", "smoke", "--out", str(target)]) == 2
    assert _one_error_line(capsys).endswith("error: no such data")
    assert list(tmp_path.iterdir()) == []
    # A folder whose run was killed before training wrote a file holds only config.json: any run may start there.
    untrained = tmp_path / "untrained"
    untrained.mkdir()
    runs.write_config(untrained, HelloConfig.from_preset("smoke", units=4))
    claimed = run_folders.open_run_directory(HelloConfig.from_preset("smoke", out=str(untrained)))
    assert not claimed.finished and run_folders.read_run_config(untrained)["units"] == 3


def test_default_folders_take_a_version_suffix_instead_of_replacing_another_configuration(tmp_path, monkeypatch):
    monkeypatch.setattr(run_folders, "RUNS_ROOT", tmp_path)
    smoke = HelloConfig.from_preset("smoke")
    longer = HelloConfig.from_preset("smoke", epochs=301)
    base = tmp_path / "hello" / "rnn-1x3-smoke"
    assert run_folders.run_directory(smoke) == base
    _fabricated_run(base, smoke, finished=True)
    assert run_folders.run_directory(smoke) == base
    assert run_folders.run_directory(longer) == base.with_name("rnn-1x3-smoke-2")
    _fabricated_run(base.with_name("rnn-1x3-smoke-2"), longer, finished=False)
    assert run_folders.run_directory(longer) == base.with_name("rnn-1x3-smoke-2")  # found again, to resume
    # A gap left by a deleted version is filled by a new configuration, never by an existing one's run.
    _fabricated_run(base.with_name("rnn-1x3-smoke-4"), HelloConfig.from_preset("smoke", epochs=302), finished=True)
    assert run_folders.run_directory(HelloConfig.from_preset("smoke", epochs=302)) == base.with_name("rnn-1x3-smoke-4")
    assert run_folders.run_directory(HelloConfig.from_preset("smoke", epochs=303)) == base.with_name("rnn-1x3-smoke-3")
    (tmp_path / "hello" / "rnn-1x3-smoke-3").mkdir()
    (tmp_path / "hello" / "rnn-1x3-smoke-3" / "notes.txt").write_text("mine")  # not a run: skipped, kept
    assert run_folders.run_directory(HelloConfig.from_preset("smoke", epochs=303)) == base.with_name("rnn-1x3-smoke-5")


def test_a_failed_write_is_one_line_and_takes_back_the_folders_it_made(tmp_path, monkeypatch):
    def refuse(run_dir, config):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(run_dir / "config.json"))

    monkeypatch.setattr(runs, "write_config", refuse)
    target = tmp_path / "new" / "deeper" / "run"
    with pytest.raises(UsageError, match=r"cannot write .*config.json: Permission denied"):
        run_folders.open_run_directory(HelloConfig.from_preset("smoke", out=str(target)))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_folder_without_write_permission_is_one_line(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        with pytest.raises(UsageError, match="Permission denied"):
            run_folders.open_run_directory(HelloConfig.from_preset("smoke", out=str(locked / "run")))
    finally:
        locked.chmod(0o755)


def test_a_full_disk_leaves_the_previous_file_whole(tmp_path, monkeypatch):
    target = runs.write_json(tmp_path / "metrics.json", {"value": 1})

    def full_disk(self, data):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self))

    monkeypatch.setattr(Path, "write_bytes", full_disk)
    with pytest.raises(OSError) as failed:
        runs.write_json(target, {"value": 2})
    monkeypatch.undo()
    assert json.loads(target.read_text()) == {"value": 1}
    assert [path.name for path in tmp_path.iterdir()] == ["metrics.json"]  # no temporary file left behind
    assert run_folders.write_failure(target, failed.value).endswith(": No space left on device")
    assert run_folders.write_failure(target, FileNotFoundError(errno.ENOENT, "No such file or directory")) is None


# Through one application's command line.


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """`python -m gallery.hello --preset smoke` with the default folder taken by a run of other settings."""
    root = tmp_path_factory.mktemp("runs")
    taken = _fabricated_run(
        root / "hello" / "rnn-1x3-smoke", HelloConfig.from_preset("smoke", epochs=301), finished=True
    )
    before = _snapshot(taken)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(run_folders, "RUNS_ROOT", root)
        assert run_cli(APP, ["--preset", "smoke"]) == 0
    assert _snapshot(taken) == before
    return root / "hello" / "rnn-1x3-smoke-2"


def test_the_default_folder_of_a_new_configuration_is_a_new_version(trained):
    assert json.loads((trained / "metrics.json").read_text())["predicted"] == "ello"
    assert run_folders.read_run_config(trained)["epochs"] == 300


def test_the_same_command_at_a_finished_run_trains_nothing(trained, monkeypatch, capsys):
    before = _snapshot(trained)
    monkeypatch.setattr(run_folders, "RUNS_ROOT", trained.parent.parent)
    assert run_cli(APP, ["--preset", "smoke"]) == 0
    output = capsys.readouterr().out
    assert f"{trained} holds a finished run of this configuration; kept it" in output
    assert "hello: next-character accuracy = 1" in output and f"run folder: {trained}" in output
    assert "before training" not in output
    assert _snapshot(trained) == before


def test_the_command_line_refuses_what_it_must_not_replace(trained, tmp_path, capsys):
    user_folder = tmp_path / "mine"
    user_folder.mkdir()
    (user_folder / "config.json").write_text('{"my": "data"}')
    (user_folder / "history.csv").write_text("epoch,loss\n")
    a_file = tmp_path / "notes.txt"
    a_file.write_text("mine")
    translation = tmp_path / "translation"
    translation.mkdir()
    (translation / "config.json").write_text('{"app": "translation"}')
    (translation / "metrics.json").write_text("{}")
    cases = [
        ([str(trained), "--preset", "smoke", "--units", "4"], "holds a run of another configuration (--units 3"),
        ([str(user_folder), "--overwrite"], "is not empty and is not a run folder"),
        ([str(a_file)], "is a file, not a folder"),
        ([str(translation), "--preset", "smoke"], "holds a translation run, not a hello run"),
    ]
    for arguments, message in cases:
        folder = Path(arguments[0])
        before = _snapshot(folder) if folder.is_dir() else folder.read_bytes()
        assert run_cli(APP, ["--out", *arguments]) == 2, arguments
        line = _one_error_line(capsys)
        assert line.startswith("python -m gallery.hello: error: ") and message in line, line
        assert (_snapshot(folder) if folder.is_dir() else folder.read_bytes()) == before


def test_overwrite_trains_again_and_a_full_disk_is_one_line(trained, tmp_path, monkeypatch, capsys):
    copy = tmp_path / "copy"
    copy.mkdir()
    for name, data in _snapshot(trained).items():
        (copy / name).parent.mkdir(parents=True, exist_ok=True)
        (copy / name).write_bytes(data)

    def full_disk(model, path):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr(runs, "save_model", full_disk)
    assert run_cli(APP, ["--out", str(copy), "--preset", "smoke", "--units", "4", "--overwrite"]) == 2
    line = _one_error_line(capsys)
    assert f"cannot write {copy / 'model.keras'}: No space left on device" in line
    # The old run was replaced on request; the new one is unfinished, so the same command finishes it later.
    assert not (copy / "metrics.json").exists()
    assert run_folders.read_run_config(copy)["units"] == 4
    monkeypatch.undo()
    assert run_cli(APP, ["--out", str(copy), "--preset", "smoke", "--units", "4"]) == 0
    assert "before training" in capsys.readouterr().out
    assert json.loads((copy / "metrics.json").read_text())["predicted"] == "ello"
