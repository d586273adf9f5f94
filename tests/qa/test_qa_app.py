"""The qa app: both models end to end in the smoke preset, the ask verb, save/load, and every bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

from datasets import babi, babi_world
from gallery import runs
from gallery.cli import run_cli
from gallery.qa import APP
from gallery.qa import model as qa_model
from gallery.qa.config import QAConfig
from gallery.qa.metrics import task_table
from gallery.qa.verbs import answer_question
from models.stacks import RNNSpec

STORY = "Mary moved to the bathroom. John went to the hallway."


@pytest.fixture(scope="module")
def attention_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("qa") / "attention"
    result = APP.run(QAConfig.from_preset("smoke", out=str(out), epochs=1, questions=30, test_questions=20))
    assert result.run_dir == out
    return out


def test_smoke_run_writes_a_finished_run_folder(attention_run):
    metrics = json.loads((attention_run / "metrics.json").read_text())
    assert metrics["primary"]["name"] == "test accuracy" and 0.0 <= metrics["primary"]["value"] <= 1.0
    assert set(metrics["per_task"]) == {"1"}
    assert len(metrics["attention_on_supporting_facts_by_hop"]) == 2  # smoke preset: two hops
    for name in ("model.keras", "config.json", "vocabulary.json", "answers.json", "attention_1.png", "showcase.json"):
        assert (attention_run / name).is_file(), name
    assert not (attention_run / "checkpoints").exists()
    showcase = json.loads((attention_run / "showcase.json").read_text())
    assert any(image["path"] == "attention_1.png" for image in showcase["images"])


def test_ask_answers_with_one_attention_weight_per_sentence_and_hop(attention_run, capsys):
    assert run_cli(APP, ["ask", "--run", str(attention_run), "--story", STORY, "--question", "Where is Mary?"]) == 0
    out = capsys.readouterr().out
    answers = json.loads((attention_run / "answers.json").read_text())
    assert out.startswith("answer: ") and out.split()[1] in answers
    assert "Mary moved to the bathroom." in out and "John went to the hallway." in out
    result = answer_question(attention_run, STORY, "Where is Mary?")
    weights = np.array(result["attention"])
    assert weights.shape == (2, 2)
    # The weights of each hop are a softmax over the story's sentences only: the empty slots get nothing.
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, atol=1e-5)


def test_loaded_model_predicts_what_the_run_evaluated(attention_run):
    loaded = runs.load_run(attention_run, "qa")
    config = QAConfig.from_dict(loaded.config)
    vocabulary = json.loads((attention_run / "vocabulary.json").read_text())
    answers = json.loads((attention_run / "answers.json").read_text())
    test = babi_world.generate_examples(1, config.test_questions, config.seed + 1_000_003)
    lengths = json.loads((attention_run / "lengths.json").read_text())
    memory_size = lengths.pop("memory_size")
    assert memory_size <= config.memory_size
    encoded = babi.encode(test, vocabulary, answers, memory_size, **lengths)
    logits = np.asarray(loaded.model({"memory": encoded.memory, "question": encoded.question}))
    accuracy = np.mean([answers[i] == e.answer for i, e in zip(logits.argmax(-1), test)])
    assert accuracy == pytest.approx(loaded.metrics["primary"]["value"])


def test_baseline_smoke_run_and_ask(tmp_path, capsys):
    out = tmp_path / "baseline"
    metrics = APP.run(QAConfig.from_preset("smoke", model="baseline", out=str(out), epochs=1, questions=20)).metrics
    assert 0.0 <= metrics["primary"]["value"] <= 1.0 and "attention_on_supporting_facts_by_hop" not in metrics
    capsys.readouterr()
    assert run_cli(APP, ["ask", "--run", str(out), "--story", STORY, "--question", "Where is John?"]) == 0
    out_text = capsys.readouterr().out
    assert out_text.startswith("answer: ") and "attention" not in out_text


def test_models_round_trip_through_keras_files(tmp_path):
    spec = RNNSpec("gru", 6, bidirectional=True)
    memory = np.full((2, 5, 4), 0, np.int32)
    memory[:, :, 0] = 2  # empty slots
    memory[0, 3:, :3] = [[5, 6, 7], [8, 9, 0]]
    memory[1, 4, :2] = [5, 9]
    question = np.array([[5, 6], [7, 0]], np.int32)
    reader = qa_model.memory_reader(spec, 12, 4, 8, memory_size=5, hops=2, empty_id=2)
    baseline = qa_model.baseline(spec, 12, 4, 8)
    story = np.array([[5, 6, 7, 8, 9], [5, 9, 0, 0, 0]], np.int32)
    for model, inputs in (
        (reader, {"memory": memory, "question": question}),
        (baseline, {"story": story, "question": question}),
    ):
        path = tmp_path / f"{model.name}.keras"
        model.save(path)
        loaded = keras.saving.load_model(path, safe_mode=True)
        np.testing.assert_allclose(np.asarray(loaded(inputs)), np.asarray(model(inputs)), atol=1e-6)
    _, weights = qa_model.with_attention(reader)({"memory": memory, "question": question})
    weights = np.asarray(weights)
    assert weights.shape == (2, 2, 5)
    np.testing.assert_allclose(weights[0, :, :3], 0.0, atol=1e-7)  # empty slots
    np.testing.assert_allclose(weights[1, :, 4], 1.0, atol=1e-6)  # the only sentence takes all the attention


def test_task_table_counts_tasks_above_the_weston_lstm():
    table = task_table({"1": 0.99, "2": 0.15, "19": 0.09}, real_data=True)
    assert table["beats"] == 2  # 99 > 50, 15 < 20, 9 > 8
    assert "above the LSTM on 2/3" in table["text"]


def test_every_task_mode_trains_one_model_per_task_writes_the_table_and_resumes(tmp_path, capsys):
    folder = tmp_path / "babi"
    folder.mkdir()
    for task in (1, 2):
        for split, questions, seed in (("train", 20, 0), ("test", 10, 1)):
            text = babi_world.generate_text(task, questions, seed)
            (folder / f"qa{task}_generated_{split}.txt").write_text(text, encoding="utf-8")
    out = tmp_path / "all"
    argv = ["--preset", "smoke", "--data", str(folder), "--task", "all", "--epochs", "1", "--out", str(out)]
    assert run_cli(APP, argv) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["task"] == "all" and set(metrics["per_task"]) == {"1", "2"}
    assert metrics["primary"]["value"] == pytest.approx(np.mean(list(metrics["per_task"].values())))
    for task in ("1", "2"):
        task_metrics = json.loads((out / f"task{task}" / "metrics.json").read_text())
        assert task_metrics["primary"]["value"] == metrics["per_task"][task]
    assert "Weston LSTM %" in (out / "per_task.md").read_text()
    showcase = json.loads((out / "showcase.json").read_text())
    assert [len(row) for row in showcase["tables"][0]["rows"]] == [5, 5]
    capsys.readouterr()
    # Stopped after its tasks but before the table: the same command again reads the finished tasks back.
    (out / "metrics.json").unlink()
    assert run_cli(APP, argv) == 0
    assert capsys.readouterr().out.count("already trained") == 2
    example = babi.read_babi_file(folder / "qa1_generated_train.txt")[0]
    story, question = " ".join(example.story), example.question
    assert run_cli(APP, ["ask", "--run", str(out), "--task", "1", "--story", story, "--question", question]) == 0
    assert capsys.readouterr().out.startswith("answer: ")
    _bad(capsys, ["ask", "--run", str(out), "--story", story, "--question", question], "add --task N")


def _bad(capsys, argv: list[str], expected: str) -> None:
    assert run_cli(APP, argv) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and expected in err, err


def test_bad_ask_inputs_exit_2_with_one_line(attention_run, capsys):
    run_dir = str(attention_run)
    _bad(
        capsys,
        ["ask", "--run", run_dir, "--story", "Bob flew to Mars.", "--question", "Where is Mary?"],
        "bob, flew, mars",
    )
    _bad(capsys, ["ask", "--run", run_dir, "--story", " . ", "--question", "Where is Mary?"], "story is empty")
    _bad(capsys, ["ask", "--run", run_dir, "--story", STORY, "--question", "?"], "question is empty")
    _bad(
        capsys,
        ["ask", "--run", str(attention_run.parent / "missing"), "--story", STORY, "--question", "Q?"],
        "does not exist",
    )


def test_bad_training_inputs_exit_2_with_one_line(tmp_path, capsys):
    _bad(capsys, ["--task", "4"], "world simulation writes tasks 1, 2, 3, 6, 7, 8, 9, 11")
    _bad(capsys, ["--task", "x"], "--task 'x' is not valid")
    folder = tmp_path / "babi"
    folder.mkdir()
    (folder / "qa1_single-supporting-fact_train.txt").write_text(
        "1 Mary moved to the bathroom.\n2 Where is Mary?\tbathroom\n"
    )
    (folder / "qa1_single-supporting-fact_test.txt").write_text("1 Mary moved to the bathroom.\n")
    bad_file = str(folder / "qa1_single-supporting-fact_train.txt")
    _bad(capsys, ["--data", str(folder), "--task", "1", "--out", str(tmp_path / "run")], f"{bad_file}, line 2")
    _bad(capsys, ["--data", str(folder), "--task", "7", "--out", str(tmp_path / "run")], "no qa7_*_train.txt")
    _bad(capsys, ["--data", str(tmp_path / "nowhere"), "--out", str(tmp_path / "run")], "no such folder")
    _bad(capsys, ["--data", str(tmp_path), "--task", "all", "--out", str(tmp_path / "run")], "holds no bAbI task files")


def test_command_line_error_is_one_line_and_status_2(tmp_path):
    command = [sys.executable, "-m", "gallery.qa", "ask", "--run", str(tmp_path), "--story", STORY, "--question", "Q?"]
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    completed = subprocess.run(command, capture_output=True, text=True, env=environment, timeout=120)
    assert completed.returncode == 2
    lines = [line for line in completed.stderr.splitlines() if line.startswith("python -m gallery.qa")]
    assert lines == [
        f"python -m gallery.qa: error: {tmp_path} is not a run folder (no config.json); "
        f"train one with: python -m gallery.qa --out {tmp_path}"
    ]


# Slow (a fresh Python process, and exports): `.ci/run` runs every load_run test as a step of its own.
@pytest.mark.slow
def test_load_run_answers_as_the_ask_verb_in_a_fresh_process(attention_run, capsys, fresh_python):
    assert run_cli(APP, ["ask", "--run", str(attention_run), "--story", STORY, "--question", "Where is Mary?"]) == 0
    verb_answer = capsys.readouterr().out.splitlines()[0]
    output = fresh_python(
        f"""
import json
from gallery import load_run
print(json.dumps(load_run({str(attention_run)!r}).predict({STORY!r}, "Where is Mary?")))
"""
    )
    result = json.loads(output.strip().splitlines()[-1])
    assert verb_answer == f"answer: {result['answer']} (probability {result['probability']:.2f})"
    assert result == answer_question(attention_run, STORY, "Where is Mary?")
