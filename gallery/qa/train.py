"""Training the qa models: one task into its run folder, or every task (one model each) and a per-task table."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import keras
import numpy as np

from datasets import babi
from gallery import runs, training
from gallery.qa.config import QAConfig
from gallery.qa.data import batches, load_task, model_inputs
from gallery.qa.metrics import attention_on_supporting_facts, task_table
from gallery.qa.model import attention_weights, build_model, predict_logits
from gallery.qa.plots import attention_picture

ATTENTION_PICTURES = 3
SAMPLES = 5


def _accuracy_summary(epoch: int, logs: dict) -> str:
    return (
        f"accuracy {logs.get('accuracy', float('nan')):.3f}  val_accuracy {logs.get('val_accuracy', float('nan')):.3f}"
    )


def train_task(config: QAConfig, task: int, run_dir: Path) -> dict[str, Any]:
    """Train and evaluate one task into its run folder; returns its metrics (metrics.json is written last)."""
    data = load_task(config, task)
    vocabulary = babi.build_vocabulary(data.train + data.validation)
    answers = babi.answer_labels(data.train + data.validation)
    # No more memory slots than the longest training story has sentences: most bAbI stories are short, and
    # every slot costs a sentence encoding per question.
    memory_size = min(config.memory_size, max(len(example.story) for example in data.train + data.validation))
    train = babi.encode(data.train, vocabulary, answers, memory_size)
    lengths = {"sentence_length": train.memory.shape[2], "question_length": train.question.shape[1]}
    validation = babi.encode(data.validation, vocabulary, answers, memory_size, **lengths)
    test = babi.encode(data.test, vocabulary, answers, memory_size, **lengths)
    print(
        f"task {task} ({babi.TASK_NAMES[task]}): {len(data.train)} train, {len(data.validation)} validation, "
        f"{len(data.test)} test questions from {data.source}; {len(vocabulary)} words, {len(answers)} answers; "
        f"{config.model} model, {config.recurrent_architecture()}",
        flush=True,
    )
    with training.distribution_strategy(config).scope():
        model = build_model(config, len(vocabulary), len(answers), memory_size)
        model.compile(
            optimizer=training.optimizer(config),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
            # JAX compiles a step in about the time TensorFlow traces one, and runs it eagerly several times slower.
            run_eagerly=config.run_eagerly and training.on_tensorflow(),
        )
    result = training.fit(
        model,
        batches(model_inputs(config.model, train), train.answers, config.batch_size, config.seed),
        batches(model_inputs(config.model, validation), validation.answers, config.batch_size),
        config,
        run_dir,
        epoch_summary=_accuracy_summary,
    )

    test_inputs = model_inputs(config.model, test)
    if config.model == "attention":
        logits, weights = attention_weights(model, test_inputs)
    else:
        logits, weights = predict_logits(model, test_inputs), None
    predicted = [answers[index] for index in logits.argmax(-1)]
    correct = np.array([guess == example.answer for guess, example in zip(predicted, data.test)])
    accuracy = float(correct.mean())
    print(f"task {task}: test accuracy {100 * accuracy:.1f}% ({int(correct.sum())}/{len(correct)})", flush=True)

    runs.write_json(run_dir / "vocabulary.json", vocabulary)
    runs.write_json(run_dir / "answers.json", answers)
    runs.write_json(run_dir / "lengths.json", {**lengths, "memory_size": memory_size})
    images, extra = [], {}
    if weights is not None:
        extra["attention_on_supporting_facts_by_hop"] = attention_on_supporting_facts(weights, test.supporting)
        for number, index in enumerate(range(min(ATTENTION_PICTURES, len(data.test))), start=1):
            name = f"attention_{number}.png"
            title = f"task {task}, test story {index + 1}"
            attention_picture(data.test[index], weights[index], memory_size, predicted[index], run_dir / name, title)
            images.append((name, f"attention over sentences, test question {index + 1}"))
    samples = []
    for index, example in enumerate(data.test[:SAMPLES]):
        story = "\n".join(f"{i + 1}. {sentence}" for i, sentence in enumerate(example.story[-8:]))
        samples.append(f"{story}\nQ: {example.question}\nA: {predicted[index]} (true: {example.answer})")
    runs.write_text(run_dir / "test_samples.txt", "\n\n".join(samples) + "\n")
    return training.write_finished_run(
        run_dir,
        config,
        model,
        result,
        training.Primary("test accuracy", accuracy, higher_is_better=True, count=len(data.test)),
        curve_title=f"qa task {task}: {config.architecture()}",
        curve_keys=("loss", "val_loss", "accuracy", "val_accuracy"),
        showcase=runs.Showcase(texts=[("test questions", "\n\n".join(samples))], images=images),
        task=task,
        per_task={str(task): accuracy},
        test_questions=len(data.test),
        data=data.source,
        **extra,
    )


def finished_task(run_dir: Path, config: QAConfig) -> dict[str, Any] | None:
    """The metrics of a task already trained with this very config (so `--task all` resumes where it stopped)."""
    try:
        saved = json.loads((run_dir / "config.json").read_text(encoding="utf-8"))
        metrics = json.loads((run_dir / "metrics.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    return metrics if saved == config.to_dict() and (run_dir / "model.keras").is_file() else None


def train_every_task(config: QAConfig, tasks: list[int], run_dir: Path) -> dict[str, Any]:
    """One model per task in run_dir/taskN, then the per-task table and the mean in run_dir itself."""
    per_task: dict[str, float] = {}
    seconds, parameters = 0.0, 0
    for task in tasks:
        task_config = dataclasses.replace(config, task=str(task), out=str(run_dir / f"task{task}"))
        task_dir = Path(task_config.out)
        metrics = finished_task(task_dir, task_config)
        if metrics is None:
            # Every task starts from the seed, so its model is the one a run of that task alone would train.
            training.set_seed(config.seed)
            metrics = train_task(task_config, task, task_dir)
        else:
            print(f"task {task}: already trained in {task_dir}, test accuracy {100 * metrics['primary']['value']:.1f}%")
        per_task[str(task)] = metrics["primary"]["value"]
        seconds += metrics["train_seconds"]
        parameters = max(parameters, metrics["parameters"])
    table = task_table(per_task, real_data=not config.generated)
    print(table["text"])
    runs.write_config(run_dir, config)
    runs.write_text(run_dir / "per_task.md", table["text"] + "\n")
    showcase = runs.Showcase(texts=[("per-task accuracy", table["text"])], tables=[table["showcase"]])
    runs.write_showcase(run_dir, **dataclasses.asdict(showcase))
    extra = {} if config.generated else {"beats_weston_lstm": table["beats"]}
    return runs.write_metrics(
        run_dir,
        primary_name="mean test accuracy over tasks",
        primary_value=float(np.mean(list(per_task.values()))),
        higher_is_better=True,
        parameters=parameters,
        train_seconds=seconds,
        task="all",
        per_task=per_task,
        tasks_at_95_percent=sum(value >= 0.95 for value in per_task.values()),
        **extra,
    )


def train_and_evaluate(config: QAConfig, run_dir: Path) -> dict[str, Any]:
    tasks = config.task_numbers()
    if config.task == "all":
        return train_every_task(config, tasks, run_dir)
    return train_task(config, tasks[0], run_dir)
