"""Question answering on bAbI-style stories: read a short story, answer a question about it.

Layout: many-to-one with two input sequences (a story and a question) and one answer word. Two models
(`gallery/qa/model.py`): `--model baseline`, a story RNN and a question RNN merged into a softmax (Keras'
babi_rnn), and `--model attention` (the default), a recurrent memory reader: each sentence encoded by the RNN,
several hops of attention over the sentences conditioned on the question, then the answer (after MemN2N).

Data: by default stories from a world simulation written here (`datasets/babi_world.py`, tasks 1, 2, 3, 6, 7, 8,
9, 11; 3,000 training and 1,000 test questions per task); with `--data DIR` the bAbI v1.2 task files in DIR
(Weston et al. 2015; "bAbI tasks data, Copyright (c) 2015-present, Facebook, Inc., CC BY 3.0"). `--task all`
trains one model per task and reports every task.

    python -m gallery.qa                                   # generated task 1, attention model
    python -m gallery.qa --task all --data ../shared/data/babi/tasks_1-20_v1-2/en
    python -m gallery.qa ask --run runs/qa/attention-task1-lstm-1x64-demo \
        --story "Mary moved to the bathroom. John went to the hallway." --question "Where is Mary?"

Expected: the attention model answers generated task 1 (and real bAbI 1k task 1) at about 99-100% test accuracy,
with its attention on the sentence that says where the person went last. The run folder keeps per-task accuracy,
a learning curve and pictures of the attention over the sentences of test stories, supporting facts marked.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from datasets import babi, babi_world
from gallery import plots, runs, training
from gallery.cli import App, RunResult, Verb
from gallery.config import RunConfig, option, override
from gallery.errors import UsageError
from gallery.qa import model as qa_model

# Weston et al. 2015 (arXiv:1502.05698), Table 3: LSTM test accuracy (%) on bAbI 1k, tasks 1-20.
WESTON_LSTM = dict(
    zip(range(1, 21), (50, 20, 20, 61, 70, 48, 49, 45, 64, 44, 72, 74, 94, 27, 21, 23, 51, 52, 8, 91), strict=True)
)
GENERATED_TEST_SEED_OFFSET = 1_000_003  # test stories come from a seed no training run uses
ATTENTION_PICTURES = 3


@dataclass
class QAConfig(RunConfig):
    """Question answering: which model, which task, and the size of the memory."""

    APP = "qa"
    PRESETS = {
        "smoke": {
            "questions": 60,
            "test_questions": 30,
            "units": 8,
            "embedding_dim": 8,
            "hops": 2,
            "memory_size": 12,
            "epochs": 2,
            "batch_size": 16,
            "run_eagerly": True,
        },
        "demo": {},
        "full": {"epochs": 150, "patience": 25, "units": 64, "questions": 10000},
    }

    model: str = option(
        "attention", "baseline: story RNN + question RNN; attention: memory reader", choices=qa_model.MODELS
    )
    task: str = option("1", "bAbI task number (1-20; the generator writes 1,2,3,6,7,8,9,11), or 'all'")
    hops: int = option(3, "attention hops over the sentences (--model attention)", minimum=1)
    memory_size: int = option(50, "sentences of the story the model reads (the most recent ones)", minimum=1)
    embedding_dim: int = option(32, "word embedding width", minimum=1)
    questions: int = option(3000, "generated data: training questions per task (validation included)", minimum=10)
    test_questions: int = option(1000, "generated data: test questions per task", minimum=1)
    validation_fraction: float = option(0.1, "share of the training questions held out for validation", minimum=0.0)
    run_eagerly: bool = option(False, "train step by step without graph tracing: quicker for tiny runs only")
    cell: str = override("cell", "lstm")
    units: int = override("units", 32)
    epochs: int = override("epochs", 30)
    batch_size: int = override("batch_size", 32)
    learning_rate: float = override("learning_rate", 5e-3)
    patience: int = override("patience", 12)

    def validate(self) -> None:
        super().validate()
        self.task_numbers()
        if not 0 < self.validation_fraction < 1:
            raise UsageError(f"--validation-fraction must be between 0 and 1, got {self.validation_fraction}")
        if self.data.startswith("tfds:"):
            raise UsageError("bAbI is not read through tfds here; pass --data DIR with the qaN_*_train/test.txt files")

    @property
    def generated(self) -> bool:
        return self.data == "default"

    def task_numbers(self) -> list[int]:
        """The tasks this config names, checked against the data source."""
        offered = list(babi_world.TASKS) if self.generated else list(range(1, 21))
        if self.task == "all":
            if self.generated:
                return offered
            found = babi.available_tasks(self.data)
            if not found:
                raise UsageError(f"--data {self.data} holds no bAbI task files (qaN_*_train.txt with qaN_*_test.txt)")
            return found
        if not self.task.isdigit() or int(self.task) not in offered:
            source = "the world simulation writes tasks" if self.generated else "bAbI has tasks"
            raise UsageError(f"--task {self.task!r} is not valid; {source} {', '.join(map(str, offered))}, or 'all'")
        return [int(self.task)]

    def architecture(self) -> str:
        return f"{self.model}-task{self.task}-{super().architecture()}"


@dataclass
class TaskData:
    train: list[babi.Example]
    validation: list[babi.Example]
    test: list[babi.Example]
    source: str


def load_task(config: QAConfig, task: int) -> TaskData:
    """The examples of one task: generated, or read from the bAbI files of --data; the last share of train validates."""
    if config.generated:
        train = babi_world.generate_examples(task, config.questions, config.seed)
        test = babi_world.generate_examples(task, config.test_questions, config.seed + GENERATED_TEST_SEED_OFFSET)
        source = f"world simulation, task {task}, seed {config.seed}"
    else:
        directory = Path(config.data)
        if not directory.is_dir():
            raise UsageError(f"--data {config.data}: no such folder; pass the folder with the bAbI qaN_*.txt files")
        try:
            train_path, test_path = babi.task_files(directory, task)
            train, test = babi.read_babi_file(train_path, task), babi.read_babi_file(test_path, task)
        except (babi.BabiFilesMissingError, babi.BabiFormatError) as error:
            raise UsageError(f"{error}") from None
        source = f"{train_path.name} / {test_path.name}"
    if not train or not test:
        raise UsageError(f"task {task} has no questions in its training or test data")
    held_out = max(1, int(round(len(train) * config.validation_fraction)))
    return TaskData(train[:-held_out], train[-held_out:], test, source)


def model_inputs(config: QAConfig | dict, encoded: babi.EncodedExamples) -> dict[str, np.ndarray]:
    kind = config["model"] if isinstance(config, dict) else config.model
    if kind == "baseline":
        return {"story": encoded.story, "question": encoded.question}
    return {"memory": encoded.memory, "question": encoded.question}


def build_model(config: QAConfig, vocab_size: int, num_answers: int, memory_size: int) -> keras.Model:
    spec = config.rnn_spec()
    if config.model == "baseline":
        return qa_model.baseline(spec, vocab_size, num_answers, config.embedding_dim)
    return qa_model.memory_reader(
        spec,
        vocab_size,
        num_answers,
        config.embedding_dim,
        memory_size,
        config.hops,
        babi.RESERVED.index(babi.EMPTY),
    )


def _dataset(inputs: dict[str, np.ndarray], labels: np.ndarray, batch_size: int, shuffle_seed: int | None):
    dataset = tf.data.Dataset.from_tensor_slices((inputs, labels))
    if shuffle_seed is not None:
        dataset = dataset.shuffle(len(labels), seed=shuffle_seed, reshuffle_each_iteration=True)
    return dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def predict_logits(model: keras.Model, inputs: dict[str, np.ndarray], batch_size: int = 256) -> np.ndarray:
    count = len(next(iter(inputs.values())))
    return np.concatenate(
        [
            np.asarray(model({key: value[start : start + batch_size] for key, value in inputs.items()}))
            for start in range(0, count, batch_size)
        ]
    )


def attention_weights(model: keras.Model, inputs: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(logits, attention (n, hops, memory slots)) of a memory reader."""
    logits, weights = qa_model.with_attention(model)(inputs)
    return np.asarray(logits), np.asarray(weights)


def attention_picture(
    example: babi.Example, weights: np.ndarray, memory_size: int, predicted: str, path: Path, title: str
) -> Path:
    """The attention of each hop on each sentence of the story; supporting facts are marked and outlined."""
    import matplotlib.pyplot as plt  # gallery.plots has set the headless backend

    window = example.story[-memory_size:]
    first_kept = len(example.story) - len(window)
    shown = min(len(window), 20)  # the latest sentences, so the picture stays readable
    grid = weights[:, len(weights[0]) - shown :].T
    labels, marked = [], []
    for row, position in enumerate(range(len(window) - shown, len(window))):
        supporting = first_kept + position in example.supporting
        marked += [row] if supporting else []
        labels.append(f"{'* ' if supporting else ''}{first_kept + position + 1}. {window[position]}")
    hops = grid.shape[1]
    figure, axis = plt.subplots(figsize=(5.5 + 0.7 * hops, 1.4 + 0.32 * shown))
    image = axis.imshow(grid, cmap="Blues", vmin=0.0, vmax=1.0, aspect="auto")
    axis.set_xticks(range(hops), labels=[f"hop {hop + 1}" for hop in range(hops)], fontsize=8)
    axis.set_yticks(range(shown), labels=labels, fontsize=8)
    for (row, column), value in np.ndenumerate(grid):
        axis.text(
            column, row, f"{value:.2f}", ha="center", va="center", fontsize=7, color="white" if value > 0.5 else "black"
        )
    for row in marked:
        axis.add_patch(plt.Rectangle((-0.5, row - 0.5), hops, 1, fill=False, edgecolor="crimson", linewidth=1.5))
    verdict = "right" if predicted == example.answer else f"wrong, true answer: {example.answer}"
    axis.set_title(
        f"{title}\nQ: {example.question}   A: {predicted} ({verdict})\n* and red box: supporting fact", fontsize=9
    )
    figure.colorbar(image, ax=axis, fraction=0.04, pad=0.03)
    figure.tight_layout()
    return runs.save_figure(figure, path, dpi=110)


def _accuracy_summary(epoch: int, logs: dict) -> str:
    return (
        f"accuracy {logs.get('accuracy', float('nan')):.3f}  val_accuracy {logs.get('val_accuracy', float('nan')):.3f}"
    )


def train_task(config: QAConfig, task: int, run_dir: Path) -> dict[str, Any]:
    """Train and evaluate one task into its run folder; returns its metrics (metrics.json is written last)."""
    training.set_seed(config.seed)
    data = load_task(config, task)
    vocabulary = babi.build_vocabulary(data.train + data.validation)
    answers = babi.answer_labels(data.train + data.validation)
    # No more memory slots than the longest training story has sentences: most bAbI stories are short, and
    # every slot costs a sentence encoding per question.
    memory_size = min(config.memory_size, max(len(example.story) for example in data.train + data.validation))
    train_encoded = babi.encode(data.train, vocabulary, answers, memory_size)
    lengths = {"sentence_length": train_encoded.memory.shape[2], "question_length": train_encoded.question.shape[1]}
    validation = babi.encode(data.validation, vocabulary, answers, memory_size, **lengths)
    test = babi.encode(data.test, vocabulary, answers, memory_size, **lengths)
    print(
        f"task {task} ({babi.TASK_NAMES[task]}): {len(data.train)} train, {len(data.validation)} validation, "
        f"{len(data.test)} test questions from {data.source}; {len(vocabulary)} words, {len(answers)} answers; "
        f"{config.model} model, {super(QAConfig, config).architecture()}",
        flush=True,
    )
    with training.distribution_strategy(config).scope():
        model = build_model(config, len(vocabulary), len(answers), memory_size)
        model.compile(
            optimizer=training.optimizer(config),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
            run_eagerly=config.run_eagerly,
        )
    result = training.fit(
        model,
        _dataset(model_inputs(config, train_encoded), train_encoded.answers, config.batch_size, config.seed),
        _dataset(model_inputs(config, validation), validation.answers, config.batch_size, None),
        config,
        run_dir,
        epoch_summary=_accuracy_summary,
    )

    test_inputs = model_inputs(config, test)
    if config.model == "attention":
        logits, weights = attention_weights(model, test_inputs)
    else:
        logits, weights = predict_logits(model, test_inputs), None
    predicted = [answers[index] for index in logits.argmax(-1)]
    correct = np.array([guess == example.answer for guess, example in zip(predicted, data.test)])
    accuracy = float(correct.mean())
    print(f"task {task}: test accuracy {100 * accuracy:.1f}% ({int(correct.sum())}/{len(correct)})", flush=True)

    runs.write_config(run_dir, config)
    runs.write_json(run_dir / "vocabulary.json", vocabulary)
    runs.write_json(run_dir / "answers.json", answers)
    runs.write_json(run_dir / "lengths.json", {**lengths, "memory_size": memory_size})
    runs.save_model(model, run_dir / "model.keras")
    plots.learning_curve(
        result.history, run_dir / "learning_curve.png", title=f"qa task {task}: {config.architecture()}"
    )
    images = [("learning_curve.png", "loss and accuracy per epoch")]
    samples = []
    extra: dict[str, Any] = {}
    if weights is not None:
        supporting = test.supporting
        has_support = supporting.sum(1) > 0
        on_support = (weights * supporting[:, None, :]).sum(-1)  # (n, hops)
        extra["attention_on_supporting_facts_by_hop"] = [float(v) for v in on_support[has_support].mean(0)]
        for number, index in enumerate(range(min(ATTENTION_PICTURES, len(data.test))), start=1):
            name = f"attention_{number}.png"
            attention_picture(
                data.test[index],
                weights[index],
                memory_size,
                predicted[index],
                run_dir / name,
                f"task {task}, test story {index + 1}",
            )
            images.append((name, f"attention over sentences, test question {index + 1}"))
    for index in range(min(5, len(data.test))):
        example = data.test[index]
        story = "\n".join(f"{i + 1}. {sentence}" for i, sentence in enumerate(example.story[-8:]))
        samples.append(f"{story}\nQ: {example.question}\nA: {predicted[index]} (true: {example.answer})")
    runs.write_text(run_dir / "test_samples.txt", "\n\n".join(samples) + "\n")
    runs.write_showcase(run_dir, texts=[("test questions", "\n\n".join(samples))], images=images)
    metrics = runs.write_metrics(
        run_dir,
        primary_name="test accuracy",
        primary_value=accuracy,
        higher_is_better=True,
        parameters=model.count_params(),
        train_seconds=result.seconds,
        task=task,
        per_task={str(task): accuracy},
        epochs=result.epochs,
        test_questions=len(data.test),
        data=data.source,
        **extra,
    )
    training.finish(run_dir)
    return metrics


def _finished(run_dir: Path, config: QAConfig) -> dict[str, Any] | None:
    """The metrics of a task already trained with this very config (so `--task all` resumes where it stopped)."""
    try:
        saved = json.loads((run_dir / "config.json").read_text(encoding="utf-8"))
        metrics = json.loads((run_dir / "metrics.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    return metrics if saved == config.to_dict() and (run_dir / "model.keras").is_file() else None


def run_directory(config: QAConfig) -> Path:
    return runs.run_directory(config)


def run(config: QAConfig) -> RunResult:
    tasks = config.task_numbers()  # checks the task number before anything is written
    run_dir = run_directory(config)
    if config.task != "all":
        return RunResult(train_task(config, tasks[0], run_dir), run_dir)

    per_task: dict[str, float] = {}
    seconds, parameters = 0.0, 0
    for task in tasks:
        task_config = dataclasses.replace(config, task=str(task), out=str(run_dir / f"task{task}"))
        task_dir = Path(task_config.out)
        metrics = _finished(task_dir, task_config)
        if metrics is None:
            metrics = train_task(task_config, task, task_dir)
        else:
            print(f"task {task}: already trained in {task_dir}, test accuracy {100 * metrics['primary']['value']:.1f}%")
        per_task[str(task)] = metrics["primary"]["value"]
        seconds += metrics["train_seconds"]
        parameters = max(parameters, metrics["parameters"])
    mean = float(np.mean(list(per_task.values())))
    table = task_table(per_task, real_data=not config.generated)
    print(table["text"])
    runs.write_config(run_dir, config)
    runs.write_text(run_dir / "per_task.md", table["text"] + "\n")
    runs.write_showcase(run_dir, tables=[table["showcase"]], texts=[("per-task accuracy", table["text"])])
    extra = {"beats_weston_lstm": table["beats"]} if not config.generated else {}
    metrics = runs.write_metrics(
        run_dir,
        primary_name="mean test accuracy over tasks",
        primary_value=mean,
        higher_is_better=True,
        parameters=parameters,
        train_seconds=seconds,
        task="all",
        per_task=per_task,
        tasks_at_95_percent=sum(value >= 0.95 for value in per_task.values()),
        **extra,
    )
    return RunResult(metrics, run_dir)


def task_table(per_task: dict[str, float], real_data: bool) -> dict[str, Any]:
    """A markdown table of test accuracy per task, beside Weston et al.'s LSTM on real bAbI 1k."""
    columns = ["task", "name", "accuracy %"] + (["Weston LSTM %", "beats LSTM"] if real_data else [])
    rows, beats = [], 0
    for key, value in per_task.items():
        task = int(key)
        row = [task, babi.TASK_NAMES[task], round(100 * value, 1)]
        if real_data:
            better = 100 * value > WESTON_LSTM[task]
            beats += better
            row += [WESTON_LSTM[task], "yes" if better else "no"]
        rows.append(row)
    mean = 100 * float(np.mean(list(per_task.values())))
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(map(str, row)) + " |" for row in rows]
    summary = f"mean accuracy {mean:.1f}% (mean error {100 - mean:.1f}%) over {len(per_task)} tasks"
    if real_data:
        lstm_mean = float(np.mean([WESTON_LSTM[int(key)] for key in per_task]))
        summary += f"; Weston LSTM mean on these tasks {lstm_mean:.1f}%; above the LSTM on {beats}/{len(per_task)}"
    text = "\n".join(lines) + "\n\n" + summary
    return {
        "text": text,
        "beats": beats,
        "showcase": {"title": "test accuracy per task", "columns": columns, "rows": rows},
    }


# --- the ask verb ---------------------------------------------------------------------------------------------


def _configure_ask(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--run", required=True, help="a trained qa run folder")
    parser.add_argument(
        "--story", required=True, help='sentences separated by full stops, e.g. "Mary moved to the bathroom."'
    )
    parser.add_argument("--question", required=True, help='e.g. "Where is Mary?"')
    parser.add_argument("--task", default=None, help="for a run of --task all: which task's model answers")


def _resolve_run(run: str, task: str | None) -> Path:
    run_dir = Path(run)
    config_path = run_dir / "config.json"
    if config_path.is_file():
        try:
            saved_task = json.loads(config_path.read_text(encoding="utf-8")).get("task")
        except json.JSONDecodeError:
            saved_task = None
        if saved_task == "all":
            if task is None:
                raise UsageError(f"{run_dir} holds one model per task; add --task N (or use --run {run_dir}/task1)")
            task_dir = run_dir / f"task{task}"
            if not task_dir.is_dir():
                raise UsageError(f"{run_dir} has no model for task {task!r}")
            return task_dir
    return run_dir


def answer_question(run_dir: Path | str, story: str, question: str) -> dict[str, Any]:
    """Load a trained run and answer one question: the answer, its probability, and per-sentence attention."""
    loaded = runs.load_run(run_dir, "qa")
    sentences = babi.split_sentences(story)
    if not sentences:
        raise UsageError("the story is empty; pass --story with at least one sentence")
    if not babi.tokenize(question):
        raise UsageError('the question is empty; pass --question, e.g. "Where is Mary?"')
    wordless = [sentence for sentence in sentences if not babi.tokenize(sentence)]
    if wordless:
        raise UsageError(f"the story has a sentence with no words: {wordless[0]!r}")
    vocabulary = loaded.read_json("vocabulary.json")
    answers = loaded.read_json("answers.json")
    lengths = loaded.read_json("lengths.json")
    unknown = babi.unknown_words([*sentences, question], vocabulary)
    if unknown:
        raise UsageError(
            f"the model does not know the words: {', '.join(unknown)}; use words from its training stories "
            f"({loaded.path('vocabulary.json')})"
        )
    config = loaded.config
    memory_size = int(lengths["memory_size"])
    longest = max(len(babi.tokenize(sentence)) for sentence in sentences)
    # The model reads any sentence length; the training length is only the least the arrays are padded to.
    example = babi.Example(tuple(sentences), question, answers[0], ())
    encoded = babi.encode(
        [example],
        vocabulary,
        answers,
        memory_size,
        sentence_length=max(lengths["sentence_length"], longest),
        question_length=max(lengths["question_length"], len(babi.tokenize(question))),
    )
    inputs = model_inputs(config, encoded)
    weights = None
    if config["model"] == "attention":
        logits, all_weights = attention_weights(loaded.model, inputs)
        kept = min(len(sentences), memory_size)
        weights = all_weights[0][:, memory_size - kept :]
    else:
        logits = predict_logits(loaded.model, inputs)
    probabilities = np.exp(logits[0] - logits[0].max())
    probabilities /= probabilities.sum()
    best = int(probabilities.argmax())
    return {
        "answer": answers[best],
        "probability": float(probabilities[best]),
        "sentences": sentences[-memory_size:],
        "attention": None if weights is None else weights.tolist(),
        "dropped_sentences": max(0, len(sentences) - memory_size),
    }


def _ask(args: argparse.Namespace) -> int:
    result = answer_question(_resolve_run(args.run, args.task), args.story, args.question)
    print(f"answer: {result['answer']} (probability {result['probability']:.2f})")
    if result["dropped_sentences"]:
        print(f"(the model's memory holds the last {len(result['sentences'])} sentences; earlier ones were not read)")
    if result["attention"] is not None:
        hops = len(result["attention"])
        print("attention on each sentence, by hop: " + " ".join(f"hop{hop + 1}" for hop in range(hops)))
        for index, sentence in enumerate(result["sentences"]):
            weights = "  ".join(f"{result['attention'][hop][index]:.2f}" for hop in range(hops))
            print(f"  {weights}  {sentence}.")
    return 0


APP = App(
    name="qa",
    layout="many-to-one (story + question)",
    description="Question answering on bAbI-style stories: a story RNN baseline or a recurrent memory reader with "
    "attention over sentences.",
    config=QAConfig,
    legacy_run=run,
    verbs=[Verb("ask", "answer a question about a story with a trained run", _configure_ask, _ask)],
)
