"""Why RNNs are hard to train: the adding and copy-memory probes at growing T, and gradient flow through time.

`python -m gallery.compare probes` trains one small model per (task, cell, T) on freshly generated data and
plots its final test error against T beside the memoryless baseline (adding: MSE 1/6 for always answering 1;
copy: 10 ln 8 / (T + 20) nats per step). On the adding problem at the longest T it also measures, before and
after training, the norm of d loss / d h_t against the distance T - t, by running the trained layer's own cell
step by step under a `tf.GradientTape` and differentiating with respect to every hidden state: vanishing and
exploding gradients as a picture. Finished (task, cell, T) results are kept in probes.json; running the same
command again skips them.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from gallery import runs, training
from gallery.compare import probe_data
from gallery.compare.grid import Architecture
from gallery.errors import UsageError
from models.stacks import RecurrentStack, RNNSpec

TASKS = ("adding", "copy")


@dataclass
class ProbeSettings:
    """What the probes run: tasks, cells, sequence lengths and how long each model trains."""

    tasks: tuple[str, ...] = TASKS
    architectures: tuple[Architecture, ...] = ()
    lengths: tuple[int, ...] = (10, 30, 100)
    steps: int = 400
    units: int = 64
    batch_size: int = 64
    learning_rate: float = 1e-3
    clipnorm: float = 1.0
    test_examples: int = 512
    gradient_examples: int = 64
    seed: int = 0
    out: Path = field(default_factory=lambda: Path("runs/compare/probes"))


PROBE_PRESETS: dict[str, dict[str, Any]] = {
    "smoke": {"lengths": (4, 8), "steps": 3, "units": 8, "batch_size": 8, "test_examples": 16, "gradient_examples": 4},
    "demo": {"lengths": (10, 30, 100), "steps": 400, "units": 64},
    "full": {"lengths": (10, 25, 50, 100, 200), "steps": 3000, "units": 128, "test_examples": 2000},
}


def build_adding_model(architecture: Architecture, units: int) -> keras.Model:
    """(value, marker) per step -> one recurrent layer -> the final hidden state -> the predicted sum."""
    inputs = keras.Input(shape=(None, probe_data.ADDING_FEATURES), name="values_and_markers")
    stack = RecurrentStack(RNNSpec(architecture.cell, units, 1, architecture.activation), "rnn")
    _, states = stack(inputs)
    last_hidden = states[-1][0]
    prediction = keras.layers.Dense(1, name="readout")(last_hidden)
    return keras.Model(inputs, prediction, name=f"adding_{architecture.label}")


def build_copy_model(architecture: Architecture, units: int) -> keras.Model:
    """Tokens -> one-hot (a fixed identity embedding) -> one recurrent layer -> per-step logits."""
    tokens = keras.Input(shape=(None,), dtype="int32", name="tokens")
    one_hot = keras.layers.Embedding(
        probe_data.COPY_VOCABULARY,
        probe_data.COPY_VOCABULARY,
        embeddings_initializer="identity",
        trainable=False,
        name="one_hot",
    )(tokens)
    hidden, _ = RecurrentStack(RNNSpec(architecture.cell, units, 1, architecture.activation), "rnn")(one_hot)
    logits = keras.layers.Dense(probe_data.COPY_VOCABULARY, name="readout")(hidden)
    return keras.Model(tokens, logits, name=f"copy_{architecture.label}")


def hidden_state_gradient_norms(
    cell: keras.layers.Layer, inputs: np.ndarray, loss_of_last_state: Callable[[tf.Tensor], tf.Tensor]
) -> np.ndarray:
    """Mean over the batch of ||d loss / d h_t|| for every step t, with the loss a function of h_T alone.

    The cell is run step by step so that every h_t is a tensor on the tape; the gradient with respect to it is
    the total derivative through every later step. The loss is summed over the batch so that each example's
    gradient is its own (not divided by the batch size). Index t of the result is at distance T - 1 - t from
    the end.
    """
    inputs = tf.convert_to_tensor(inputs, dtype=tf.float32)
    batch = int(inputs.shape[0])
    sizes = cell.state_size if isinstance(cell.state_size, (list, tuple)) else [cell.state_size]
    states = [tf.zeros((batch, int(size))) for size in sizes]
    hidden = []
    with tf.GradientTape() as tape:
        for step in range(int(inputs.shape[1])):
            output, states = cell(inputs[:, step], states, training=False)
            states = list(states) if isinstance(states, (list, tuple)) else [states]
            hidden.append(output)
        loss = tf.reduce_sum(loss_of_last_state(hidden[-1]))
    gradients = tape.gradient(loss, hidden, unconnected_gradients=tf.UnconnectedGradients.ZERO)
    return np.array([float(tf.reduce_mean(tf.norm(gradient, axis=-1))) for gradient in gradients])


def adding_gradient_norms(model: keras.Model, inputs: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """||d squared error / d h_t|| for a model built by `build_adding_model`, through its own trained layers."""
    cell = model.get_layer("rnn_0").cell
    readout = model.get_layer("readout")
    targets = tf.convert_to_tensor(targets, dtype=tf.float32)
    return hidden_state_gradient_norms(cell, inputs, lambda h: tf.square(readout(h) - targets))


def _train(model: keras.Model, loss, batches: Callable[[int], tuple], settings: ProbeSettings) -> float:
    """Adam with clipping on `settings.steps` fresh batches; returns the training seconds."""
    model.compile(
        optimizer=keras.optimizers.Adam(settings.learning_rate, clipnorm=settings.clipnorm or None), loss=loss
    )
    inputs, targets = batches(settings.steps * settings.batch_size)
    started = time.perf_counter()
    model.fit(inputs, targets, batch_size=settings.batch_size, epochs=1, shuffle=False, verbose=0)
    return time.perf_counter() - started


def run_probe(task: str, architecture: Architecture, length: int, settings: ProbeSettings) -> dict[str, Any]:
    """Train one model on one task at one length; the test error, its baseline and (adding, longest T) gradients."""
    training.set_seed(settings.seed)
    rng = np.random.default_rng([settings.seed, length, TASKS.index(task)])
    record: dict[str, Any] = {"task": task, "architecture": architecture.label, "length": length}
    if task == "adding":
        model = build_adding_model(architecture, settings.units)
        test_inputs, test_targets = probe_data.adding_problem(settings.test_examples, length, rng)
        gradient_inputs = test_inputs[: settings.gradient_examples]
        gradient_targets = test_targets[: settings.gradient_examples]
        measure_gradients = length == max(settings.lengths)
        if measure_gradients:
            record["gradient_norms_initial"] = adding_gradient_norms(model, gradient_inputs, gradient_targets).tolist()
        seconds = _train(model, "mse", lambda count: probe_data.adding_problem(count, length, rng), settings)
        predictions = np.asarray(model(test_inputs, training=False))
        record["error"] = float(np.mean((predictions - test_targets) ** 2))
        record["error_name"] = "test MSE"
        record["baseline"] = probe_data.adding_baseline_mse()
        if measure_gradients:
            record["gradient_norms_trained"] = adding_gradient_norms(model, gradient_inputs, gradient_targets).tolist()
    elif task == "copy":
        model = build_copy_model(architecture, settings.units)
        loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        seconds = _train(model, loss, lambda count: probe_data.copy_memory(count, length, rng), settings)
        test_inputs, test_targets = probe_data.copy_memory(settings.test_examples, length, rng)
        logits = model(test_inputs, training=False)
        record["error"] = float(np.mean(keras.losses.sparse_categorical_crossentropy(test_targets, logits, True)))
        record["error_name"] = "test cross entropy (nats/step)"
        record["baseline"] = probe_data.copy_baseline_loss(length)
        recall = slice(-probe_data.COPY_LENGTH, None)
        recalled = np.asarray(logits)[:, recall].argmax(-1) == test_targets[:, recall]
        record["recall_accuracy"] = float(recalled.mean())
    else:
        raise UsageError(f"unknown probe task {task!r}; choose from: {', '.join(TASKS)}")
    record["parameters"] = int(model.count_params())
    record["train_seconds"] = seconds
    record["beats_baseline"] = bool(record["error"] < record["baseline"])
    return record


def _key(task: str, label: str, length: int) -> str:
    return f"{task}|{label}|{length}"


def run_probes(settings: ProbeSettings) -> dict[str, Any]:
    """Every (task, cell, T) not yet in <out>/probes.json, then the plots and the table; returns probes.json."""
    out = Path(settings.out)
    out.mkdir(parents=True, exist_ok=True)
    results_path = out / "probes.json"
    saved = json.loads(results_path.read_text(encoding="utf-8")) if results_path.is_file() else {}
    described = _settings_dict(settings)
    if saved and saved.get("settings") != described:
        raise UsageError(
            f"{out} holds probes run with other settings ({_difference(saved.get('settings', {}), described)}); "
            "use another --out or the same flags"
        )
    records = {_key(r["task"], r["architecture"], r["length"]): r for r in saved.get("records", [])}
    todo = [
        (task, architecture, length)
        for task in settings.tasks
        for architecture in settings.architectures
        for length in settings.lengths
    ]
    for number, (task, architecture, length) in enumerate(todo, start=1):
        key = _key(task, architecture.label, length)
        if key in records:
            print(f"[{number}/{len(todo)}] {task} {architecture.label} T={length}: kept from an earlier run")
            continue
        record = run_probe(task, architecture, length, settings)
        records[key] = record
        verdict = "beats" if record["beats_baseline"] else "does not beat"
        print(
            f"[{number}/{len(todo)}] {task} {architecture.label} T={length}: {record['error_name']} "
            f"{record['error']:.4f}, baseline {record['baseline']:.4f} ({verdict} it), {record['train_seconds']:.0f}s",
            flush=True,
        )
        payload = {"settings": described, "records": list(records.values())}
        runs.write_json(results_path, payload)
        # The table and plots of what finished so far: an interrupted run still leaves a picture.
        write_probe_report(payload, out)
    payload = {"settings": described, "records": [records[_key(t, a.label, n)] for t, a, n in todo]}
    runs.write_json(results_path, payload)
    write_probe_report(payload, out)
    return payload


def _settings_dict(settings: ProbeSettings) -> dict[str, Any]:
    values = asdict(settings)
    values.pop("out")
    # The cells and lengths may grow between runs; what each model saw may not.
    for growing in ("tasks", "architectures", "lengths"):
        values.pop(growing)
    return json.loads(json.dumps(values))


def _difference(old: dict, new: dict) -> str:
    changed = [f"{key} {old.get(key)} -> {new.get(key)}" for key in new if old.get(key) != new.get(key)]
    return ", ".join(changed) or "unknown"


def write_probe_report(payload: dict[str, Any], out: Path) -> None:
    """probes.md (a table per task), the error-against-T plots and the gradient-flow plot."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    records = payload["records"]
    lines = ["# Probes: why RNNs are hard to train", ""]
    settings = payload["settings"]
    lines.append(
        f"One layer of {settings['units']} units per cell, {settings['steps']} Adam steps of {settings['batch_size']} "
        f"fresh examples (learning rate {settings['learning_rate']}, clipnorm {settings['clipnorm']}), "
        f"tested on {settings['test_examples']} new examples; seed {settings['seed']}."
    )
    images = []
    for task in TASKS:
        task_records = [r for r in records if r["task"] == task]
        if not task_records:
            continue
        lengths = sorted({r["length"] for r in task_records})
        labels = list(dict.fromkeys(r["architecture"] for r in task_records))
        by_key = {(r["architecture"], r["length"]): r for r in task_records}
        lines += ["", f"## {task}: {task_records[0]['error_name']} against T", ""]
        lines.append("| cell | " + " | ".join(f"T={n}" for n in lengths) + " |")
        lines.append("|---|" + "---|" * len(lengths))
        baseline = {r["length"]: r["baseline"] for r in task_records}
        for label in labels:
            cells = []
            for n in lengths:
                record = by_key.get((label, n))
                if record is None:
                    cells.append("-")
                    continue
                text = f"{record['error']:.4f}"
                if task == "copy":
                    text += f" ({100 * record['recall_accuracy']:.0f}% recalled)"
                cells.append(f"**{text}**" if record["beats_baseline"] else text)
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
        lines.append("| memoryless baseline | " + " | ".join(f"{baseline[n]:.4f}" for n in lengths) + " |")
        figure, axis = plt.subplots(figsize=(5.5, 3.8))
        for label in labels:
            points = [(n, by_key[label, n]["error"]) for n in lengths if (label, n) in by_key]
            axis.plot(*zip(*points), marker="o", label=label)
        dense = np.linspace(min(lengths), max(lengths), 200)
        if task == "adding":
            axis.axhline(probe_data.adding_baseline_mse(), color="black", linestyle="--", label="always answer 1 (1/6)")
        else:
            baseline_curve = [probe_data.copy_baseline_loss(n) for n in dense]
            axis.plot(dense, baseline_curve, "k--", label="memoryless 10 ln 8/(T+20)")
        axis.set_xscale("log")
        axis.set_yscale("log")
        axis.set_xlabel("sequence length T (copy: delay T)")
        axis.set_ylabel(task_records[0]["error_name"])
        axis.set_title(f"{task} problem: final error against T")
        axis.grid(alpha=0.3, which="both")
        axis.legend(fontsize=8)
        figure.tight_layout()
        runs.save_figure(figure, out / f"{task}_error.png", dpi=110)
        images.append(f"{task}_error.png")
        lines += ["", f"![{task}]({task}_error.png)"]
    gradient_records = [r for r in records if "gradient_norms_initial" in r]
    if gradient_records:
        figure, axes = plt.subplots(1, 2, figsize=(10, 3.8), sharey=True)
        for axis, stage, title in zip(axes, ("initial", "trained"), ("at initialisation", "after training")):
            for record in gradient_records:
                norms = np.asarray(record[f"gradient_norms_{stage}"])
                distance = np.arange(len(norms))[::-1]
                axis.plot(distance, np.maximum(norms, 1e-30), label=record["architecture"])
            axis.set_yscale("log")
            axis.set_xlabel("distance T - t (steps)")
            axis.set_title(f"{title}, adding problem T={gradient_records[0]['length']}")
            axis.grid(alpha=0.3, which="both")
        axes[0].set_ylabel("mean ||d loss / d h_t||")
        axes[1].legend(fontsize=8)
        figure.tight_layout()
        runs.save_figure(figure, out / "gradient_flow.png", dpi=110)
        images.append("gradient_flow.png")
        lines += ["", "## Gradient flow: mean norm of d loss / d h_t", ""]
        lines += ["| cell | stage | at distance 0 | at distance T-1 | far / near |", "|---|---|---|---|---|"]
        for record in gradient_records:
            for stage in ("initial", "trained"):
                norms = record[f"gradient_norms_{stage}"]
                ratio = norms[0] / norms[-1] if norms[-1] else math.nan
                lines.append(f"| {record['architecture']} | {stage} | {norms[-1]:.3g} | {norms[0]:.3g} | {ratio:.3g} |")
        lines += ["", "![gradient flow](gradient_flow.png)"]
    runs.write_text(out / "probes.md", "\n".join(lines) + "\n")
    runs.write_showcase(
        out,
        texts=[("probe tables", "\n".join(lines))],
        images=[(image, image.removesuffix(".png").replace("_", " ")) for image in images],
    )


def settings_from_preset(preset: str, architectures: Sequence[Architecture], **overrides: Any) -> ProbeSettings:
    if preset not in PROBE_PRESETS:
        raise UsageError(f"unknown preset {preset!r}; choose one of: {', '.join(PROBE_PRESETS)}")
    values = {**PROBE_PRESETS[preset], **{k: v for k, v in overrides.items() if v is not None}}
    return ProbeSettings(architectures=tuple(architectures), **values)
