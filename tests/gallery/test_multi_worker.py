"""Training across machines (--strategy multi_worker): two workers on 127.0.0.1 train one run in step."""

import json
import os
import re
import socket
import subprocess
import sys

import pytest

from gallery import cluster, runs, training
from gallery.cli import run_cli
from gallery.config import RunConfig
from gallery.errors import UsageError
from gallery.hello import APP as HELLO

DIGEST = re.compile(r"^(?:worker|chief) (\d+)(?: \(chief\))? of (\d+) workers: weights sha256 ([0-9a-f]{64})$", re.M)


def free_ports(count):
    """Ports free on 127.0.0.1 now; each socket is held until all are picked, so no two are the same."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for handle in sockets:
            handle.bind(("127.0.0.1", 0))
        return [handle.getsockname()[1] for handle in sockets]
    finally:
        for handle in sockets:
            handle.close()


def tf_config(ports, index):
    workers = [f"127.0.0.1:{port}" for port in ports]
    return json.dumps({"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}})


def train_on_two_workers(app, folders, timeout=420):
    """Start the same command on two workers (each with its own --out), wait for both, return their outputs."""
    ports = free_ports(2)
    processes = []
    for index, folder in enumerate(folders):
        environment = {**os.environ, "TF_CONFIG": tf_config(ports, index), "CUDA_VISIBLE_DEVICES": ""}
        command = [sys.executable, "-m", f"gallery.{app}", "--preset", "smoke", "--strategy", "multi_worker"]
        processes.append(
            subprocess.Popen(
                [*command, "--out", str(folder)],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                env=environment,
            )
        )
    outputs = []
    try:
        for process in processes:
            outputs.append(process.communicate(timeout=timeout)[0])
    finally:
        for process in processes:
            if process.poll() is None:  # a worker waiting for its peer ignores SIGTERM
                process.kill()
                process.communicate()
    return [process.returncode for process in processes], outputs


@pytest.mark.slow
def test_two_workers_train_one_run_in_step_and_only_the_chief_writes_it(tmp_path):
    # qa builds its model under the strategy: each worker trains on its half of every batch, so only
    # gradients averaged across the workers keep their weights equal.
    chief_folder, other_folder = tmp_path / "worker0", tmp_path / "worker1"
    codes, outputs = train_on_two_workers("qa", [chief_folder, other_folder])
    assert codes == [0, 0], "\n\n".join(output[-3000:] for output in outputs)

    assert (chief_folder / "model.keras").is_file() and (chief_folder / "metrics.json").is_file()
    assert not (chief_folder / "checkpoints").exists()
    assert not other_folder.exists(), "the worker that is not the chief wrote into its --out"
    assert all(f"run folder: {chief_folder}" in output for output in outputs)

    reported = [DIGEST.findall(output) for output in outputs]
    assert [found[0][:2] for found in reported] == [("0", "2"), ("1", "2")], reported
    chief_digest, other_digest = (found[0][2] for found in reported)
    assert chief_digest == other_digest, "the workers ended with different weights"
    saved = runs.load_run(chief_folder, "qa")
    assert cluster.weights_digest(saved.model) == chief_digest


def test_a_worker_starts_its_strategy_after_importing_an_app():
    # TensorFlow configures the collective ops only before its runtime starts: importing the app (and `models`,
    # whose quiet start-up probe runs an op on a lone machine) must run none on a worker.
    environment = {**os.environ, "TF_CONFIG": tf_config(free_ports(1), 0), "CUDA_VISIBLE_DEVICES": ""}
    script = "import gallery.qa, gallery.cluster; print(gallery.cluster.multi_worker_strategy().num_replicas_in_sync)"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=environment, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip() == "1" and done.stderr == ""


def test_a_batch_smaller_than_the_cluster_is_refused_in_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TF_CONFIG", tf_config([1, 2], 0))
    out = tmp_path / "run"
    status = run_cli(HELLO, ["--preset", "smoke", "--strategy", "multi_worker", "--out", str(out)])
    error = capsys.readouterr().err
    assert status == 2 and len(error.strip().splitlines()) == 1
    assert "--batch-size 1 is less than the 2 workers" in error
    assert not out.exists()


def test_multi_worker_without_tf_config_is_one_line_that_shows_one(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    out = tmp_path / "run"
    status = run_cli(HELLO, ["--preset", "smoke", "--strategy", "multi_worker", "--out", str(out)])
    error = capsys.readouterr().err
    assert status == 2
    assert len(error.strip().splitlines()) == 1
    assert "needs TF_CONFIG" in error and '"task": {"type": "worker", "index": 0}' in error
    assert not out.exists()


@pytest.mark.parametrize(
    "value",
    [
        "not json",
        json.dumps({"cluster": {"worker": ["a:1", "b:2"]}}),
        json.dumps({"cluster": {"worker": ["a:1", "b:2"]}, "task": {"type": "worker", "index": 2}}),
        json.dumps({"cluster": {"worker": ["a:1"]}, "task": {"type": "ps", "index": 0}}),
        json.dumps({"cluster": ["a:1"], "task": {"type": "worker", "index": 0}}),
    ],
)
def test_an_invalid_tf_config_is_refused_saying_what_to_set(monkeypatch, value):
    monkeypatch.setenv("TF_CONFIG", value)
    with pytest.raises(UsageError, match="set TF_CONFIG on every machine"):
        cluster.cluster_worker()


def test_the_chief_is_the_chief_task_or_else_worker_zero(monkeypatch):
    def worker(members, task_type, index):
        monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": members, "task": {"type": task_type, "index": index}}))
        return cluster.cluster_worker()

    workers_only = {"worker": ["a:1", "b:2"]}
    assert worker(workers_only, "worker", 0).is_chief
    assert not worker(workers_only, "worker", 1).is_chief
    with_chief = {"chief": ["c:3"], "worker": ["a:1", "b:2"]}
    assert worker(with_chief, "chief", 0).is_chief
    assert not worker(with_chief, "worker", 0).is_chief
    assert worker(with_chief, "worker", 1).count == 3


def test_multi_worker_is_refused_in_one_line_off_tensorflow(monkeypatch):
    monkeypatch.setattr(training, "on_tensorflow", lambda: False)
    with pytest.raises(UsageError, match="--strategy multi_worker is TensorFlow's"):
        training.distribution_strategy(RunConfig(strategy="multi_worker"))
