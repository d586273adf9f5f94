"""The issue's reference point: a plain, hand-written Keras LSTM-256 character model trained for a fixed time.

One LSTM layer of 256 units, Adam at its default learning rate, non-overlapping windows of 100 characters
shuffled each epoch, batch 64, no schedule, no dropout: the textbook Keras character model. It reads the same text
and the same contiguous 90/10 split as `python -m gallery.language_model` and reports the lowest validation loss
in nats per character reached within the time budget, so the app's demo preset can be compared with it on the
same machine at the same time of day.

    python benchmarks/language_model_baseline.py                       # default data, 300 s (the issue's 5 minutes)
    python benchmarks/language_model_baseline.py --data /path/to/input.txt --budget-seconds 600

It prints one line per epoch and a last line `baseline: <nats> nats/char after <seconds> s (<characters> trained)`.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from datasets import text as text_data  # noqa: E402

SEQ_LEN = 100
BATCH = 64
UNITS = 256


def build_baseline(vocab_size: int) -> keras.Model:
    inputs = keras.Input(shape=(None,), dtype="int32")
    x = keras.layers.Embedding(vocab_size, 64)(inputs)
    x = keras.layers.LSTM(UNITS, return_sequences=True)(x)
    logits = keras.layers.Dense(vocab_size)(x)
    model = keras.Model(inputs, logits)
    model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


class Budget(keras.callbacks.Callback):
    def __init__(self, seconds: float):
        super().__init__()
        self.seconds, self.started, self.best, self.rows = seconds, time.perf_counter(), math.inf, []

    def on_epoch_end(self, epoch, logs=None):
        elapsed = time.perf_counter() - self.started
        self.best = min(self.best, logs["val_loss"])
        self.rows.append({"epoch": epoch + 1, "seconds": elapsed, "loss": logs["loss"], "val_loss": logs["val_loss"]})
        print(f"epoch {epoch + 1}  loss {logs['loss']:.4f}  val {logs['val_loss']:.4f} nats/char  {elapsed:.0f}s")
        if elapsed >= self.seconds:
            self.model.stop_training = True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="default", help="a --data value of the app (default: pydoc topics)")
    parser.add_argument("--budget-seconds", type=float, default=300.0)
    parser.add_argument("--steps-per-epoch", type=int, default=40, help="batches between validations")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", default="", help="also write the result here")
    args = parser.parse_args()
    keras.utils.set_random_seed(args.seed)
    data = text_data.prepare(text_data.load_corpus(args.data), "char", SEQ_LEN)
    count = (len(data.train_ids) - 1) // SEQ_LEN
    inputs = data.train_ids[: count * SEQ_LEN].reshape(count, SEQ_LEN)
    targets = data.train_ids[1 : count * SEQ_LEN + 1].reshape(count, SEQ_LEN)
    train = (
        tf.data.Dataset.from_tensor_slices((inputs, targets))
        .shuffle(count, seed=args.seed, reshuffle_each_iteration=True)
        .batch(BATCH, drop_remainder=True)
        .repeat()
    )
    validation = data.validation_windows(SEQ_LEN)
    model = build_baseline(len(data.vocabulary))
    budget = Budget(args.budget_seconds)
    model.fit(
        train,
        validation_data=validation,
        validation_batch_size=BATCH,
        epochs=10_000,
        steps_per_epoch=args.steps_per_epoch,
        callbacks=[budget],
        verbose=0,
    )
    seconds = budget.rows[-1]["seconds"]
    trained = len(budget.rows) * args.steps_per_epoch * BATCH * SEQ_LEN
    print(f"baseline: {budget.best:.4f} nats/char after {seconds:.0f} s ({trained:,} characters trained)")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump({"best_nats_per_char": budget.best, "history": budget.rows, "data": args.data}, handle, indent=1)


if __name__ == "__main__":
    main()
