"""Training the hello network: the per-step printout before and after, checked against NumPy at every number."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import keras
import numpy as np

from datasets.batches import ArrayBatches
from gallery import runs, training
from gallery.hello.config import HelloConfig
from gallery.hello.data import encode, vocabulary
from gallery.hello.model import build_model, numpy_forward, with_hidden_states
from models import reference


def step_table(model, inputs, targets, vocab, config) -> tuple[str, float, str]:
    """The per-step printout, the largest difference from NumPy, and the predicted string."""
    scores, hidden = (np.asarray(array) for array in with_hidden_states(model)(inputs, training=False))
    reference_scores, reference_hidden = numpy_forward(model, inputs, config)
    difference = float(max(np.abs(scores - reference_scores).max(), np.abs(hidden - reference_hidden).max()))
    probabilities = reference.softmax(scores[0].astype(np.float64))
    vector = lambda values: "[" + " ".join(f"{v:+.2f}" for v in values) + "]"  # noqa: E731
    lines = []
    predicted = ""
    for t in range(inputs.shape[1]):
        char_in = vocab[int(inputs[0, t].argmax())]
        guess, target = vocab[int(probabilities[t].argmax())], vocab[int(targets[0, t])]
        predicted += guess
        mark = "ok" if guess == target else "WRONG"
        lines.append(
            f"t={t}  x={char_in!r} {vector(inputs[0, t])}  h={vector(hidden[0, t])}\n"
            f"      y=W_hy h={vector(scores[0, t])}  softmax={vector(probabilities[t])}"
            f"  predicts {guess!r}, target {target!r}: {mark}"
        )
    return "\n".join(lines), difference, predicted


class _StopWhenCorrect(keras.callbacks.Callback):
    """Stops as soon as every next character is predicted right: the lecture's point, made in seconds."""

    def __init__(self, inputs, targets):
        super().__init__()
        self.inputs, self.targets = inputs, targets

    def on_epoch_end(self, epoch, logs=None):
        scores = np.asarray(self.model(self.inputs, training=False))
        if (scores.argmax(-1) == self.targets).all():
            self.model.stop_training = True


def train_and_evaluate(config: HelloConfig, run_dir: Path) -> dict[str, Any]:
    vocab = vocabulary(config.data)
    inputs, targets = encode(config.data, vocab)
    print(
        f"vocabulary {vocab}; inputs {config.data[:-1]!r}, targets {config.data[1:]!r}; "
        f"{config.architecture()}, activation {config.activation}"
    )
    model = build_model(config, len(vocab))
    before, _, predicted_before = step_table(model, inputs, targets, vocab, config)
    print(f"\nbefore training (predicts {predicted_before!r}):\n{before}\n")

    model.compile(
        optimizer=training.optimizer(config),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    # The whole word is the training set and there is no validation split: hello is memorised, not learned.
    word = ArrayBatches(inputs, targets, batch_size=1)
    result = training.fit(
        model,
        word,
        None,
        config,
        run_dir,
        monitor="loss",
        callbacks=[_StopWhenCorrect(inputs, targets)],
        log_every=50,
        early_stopping=False,
    )
    after, difference, predicted = step_table(model, inputs, targets, vocab, config)
    accuracy = float(np.mean([a == b for a, b in zip(predicted, config.data[1:])]))
    print(f"after training (predicts {predicted!r}, target {config.data[1:]!r}):\n{after}")
    print(f"\nNumPy reference: largest difference {difference:.1e}")

    steps = f"before training:\n{before}\n\nafter training:\n{after}\n"
    runs.write_json(run_dir / "vocabulary.json", vocab)
    runs.write_text(run_dir / "steps.txt", steps)
    return training.write_finished_run(
        run_dir,
        config,
        model,
        result,
        training.Primary("next-character accuracy", accuracy, higher_is_better=True),
        curve_title=f"hello: {config.architecture()}",
        curve_keys=("loss",),
        showcase=runs.Showcase(texts=[("before and after training", steps)]),
        predicted=predicted,
        target=config.data[1:],
        final_loss=result.history["loss"][-1] if result.history.get("loss") else None,
        numpy_max_abs_difference=difference,
    )
