"""The lecture's "hello" character RNN, printed step by step before and after training.

Layout: many-to-many, aligned. Vocabulary [h, e, l, o]; the inputs are "hell" as one-hot vectors, the targets
"ello". For every time step it prints the input character, its one-hot vector, h_t = tanh(W_hh h_{t-1} +
W_xh x_t + b_h), the output scores y_t = W_hy h_t, their softmax, and the predicted next character against the
target, and it checks every number against a NumPy forward pass of the same weights.

    python -m gallery.hello                       # hidden size 3, tanh, trains in seconds until it says "ello"
    python -m gallery.hello --cell rnn --activation relu --units 8
    python -m gallery.hello --cell lstm --data "hello world"

Expected: before training the predictions are noise; after training the model predicts "ello" and the NumPy
reference agrees to about 1e-7.
"""

from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

from gallery import plots, runs, training
from gallery.cli import App, RunResult
from gallery.config import RunConfig, override
from gallery.errors import UsageError
from models import reference
from models.stacks import RecurrentStack


@dataclass
class HelloConfig(RunConfig):
    """The hello network: three hidden units and a vanilla tanh cell, as on the lecture's slide."""

    APP = "hello"
    UNIDIRECTIONAL_REASON = "would let the network read the character it must predict; leave it off"
    PRESETS = {"smoke": {"epochs": 300}, "demo": {}, "full": {"epochs": 1000}}

    cell: str = override("cell", "rnn")
    units: int = override("units", 3)
    epochs: int = override("epochs", 500)
    batch_size: int = override("batch_size", 1)
    learning_rate: float = override("learning_rate", 0.05)
    patience: int = override("patience", 500)
    data: str = override("data", "hello")

    def validate(self) -> None:
        super().validate()
        if len(self.data) < 2:
            raise UsageError(f"--data must be a word of at least two characters to predict, got {self.data!r}")
        if self.recurrent_dropout:
            raise UsageError("--recurrent-dropout does not apply to hello: its cell writes the formula out; leave it 0")


def vocabulary(word: str) -> list[str]:
    """Characters in order of first appearance: "hello" gives the lecture's [h, e, l, o]."""
    return list(dict.fromkeys(word))


def encode(word: str, vocab: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """One-hot inputs word[:-1] and target indices word[1:], each with a batch axis of one."""
    ids = np.array([vocab.index(char) for char in word])
    inputs = np.eye(len(vocab), dtype=np.float32)[ids[:-1]][None]
    return inputs, ids[1:][None]


def build_model(config: HelloConfig, vocab_size: int) -> keras.Model:
    """One-hot characters -> the recurrent stack (the vanilla cell written out) -> y_t = W_hy h_t."""
    inputs = keras.Input(shape=(None, vocab_size), name="one_hot")
    stack = RecurrentStack(config.rnn_spec(explicit=True), "rnn")
    hidden, _ = stack(inputs)
    scores = keras.layers.Dense(vocab_size, use_bias=False, name="W_hy")(hidden)
    return keras.Model(inputs, scores, name="hello")


def with_hidden_states(model: keras.Model) -> keras.Model:
    """The same network, also returning the top layer's h_t (the input of W_hy), for the printout."""
    output_layer = model.get_layer("W_hy")
    return keras.Model(model.inputs[0], [output_layer.output, output_layer.input])


def numpy_forward(model: keras.Model, inputs: np.ndarray, config: HelloConfig) -> tuple[np.ndarray, np.ndarray]:
    """The same forward pass in NumPy from the model's weights: (scores, top-layer hidden states)."""
    stack = RecurrentStack.from_model(model, "rnn")
    x = inputs.astype(np.float64)
    for layer in stack.layers:
        x = reference.layer_forward(layer, x, config.activation)
    W_hy = np.asarray(model.get_layer("W_hy").get_weights()[0], np.float64)
    return x @ W_hy, x


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
        self.solved_at = None

    def on_epoch_end(self, epoch, logs=None):
        scores = np.asarray(self.model(self.inputs, training=False))
        if (scores.argmax(-1) == self.targets).all():
            self.solved_at = epoch + 1
            self.model.stop_training = True


def run(config: HelloConfig) -> RunResult:
    training.set_seed(config.seed)
    vocab = vocabulary(config.data)
    inputs, targets = encode(config.data, vocab)
    run_dir = runs.run_directory(config)
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
    word = tf.data.Dataset.from_tensors((inputs, targets))
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

    runs.write_config(run_dir, config)
    runs.write_json(run_dir / "vocabulary.json", vocab)
    runs.write_text(run_dir / "steps.txt", f"before training:\n{before}\n\nafter training:\n{after}\n")
    runs.save_model(model, run_dir / "model.keras")
    plots.learning_curve(
        {k: v for k, v in result.history.items() if k in ("epoch", "loss")},
        run_dir / "learning_curve.png",
        title=f"hello: {config.architecture()}",
    )
    runs.write_showcase(
        run_dir,
        texts=[("before and after training", f"before training:\n{before}\n\nafter training:\n{after}")],
        images=[("learning_curve.png", "training loss per epoch")],
    )
    metrics = runs.write_metrics(
        run_dir,
        primary_name="next-character accuracy",
        primary_value=accuracy,
        higher_is_better=True,
        parameters=model.count_params(),
        train_seconds=result.seconds,
        predicted=predicted,
        target=config.data[1:],
        epochs=result.epochs,
        final_loss=result.history["loss"][-1] if result.history.get("loss") else None,
        numpy_max_abs_difference=difference,
    )
    training.finish(run_dir)
    return RunResult(metrics, run_dir)


APP = App(
    name="hello",
    layout="many-to-many (aligned)",
    description='The lecture\'s character RNN on "hello": every number of every step, before and after training.',
    config=HelloConfig,
    run=run,
)
