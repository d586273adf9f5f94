"""Time of batched beam search itself, the ranking work between model steps, at a translation-sized vocabulary.

    python benchmarks/beam_search_speed.py                  # batch 256, beam 4, 11,794 words, 20 steps
    python benchmarks/beam_search_speed.py --vocabulary 30000 --beam 8

The step "model" is a fixed random table of logits, so the figure is the decoder's own cost (log-softmax, picking
the best hypotheses, reordering states). It is timed twice: stepwise, the table looked up in NumPy and the ranking
done in NumPy between calls (`beam_search_stepwise`), and compiled, the same table as a Keras step model and the
whole search one compiled loop (`beam_search` on a `StepRunner`). The printed checksums (tokens and total score)
must agree between the two, and between two versions of models/decoding.py.
"""

from __future__ import annotations

import argparse
import time

import keras
import numpy as np
from keras import ops

import models  # noqa: F401
from models.decoding import StepRunner, beam_search, beam_search_stepwise
from models.templates import InferenceModels

TABLE_ROWS = 64


def logits_table(vocabulary: int, seed: int) -> np.ndarray:
    return (np.random.default_rng(seed).normal(size=(TABLE_ROWS, vocabulary)) * 3).astype(np.float32)


class TableRunner:
    """Logits that depend on the previous token and the step number, like a real step model's, at no cost."""

    def __init__(self, table: np.ndarray):
        self.table = table

    def __call__(self, tokens, context, states):
        steps = states[0]
        logits = self.table[(np.asarray(tokens) + steps[:, 0].astype(int)) % len(self.table)]
        return logits, [steps + 1], None


def table_step_model(table: np.ndarray) -> InferenceModels:
    """The same table as a Keras step model: (token, step count) -> (logits, step count + 1)."""
    token = keras.Input(shape=(1,), dtype="int32", name="token")
    steps = keras.Input(shape=(1,), name="steps")
    lookup = keras.layers.Embedding(TABLE_ROWS, table.shape[1], name="table")
    row = (token + ops.cast(steps, "int32")) % TABLE_ROWS
    logits = keras.layers.Reshape((table.shape[1],))(lookup(row))
    step = keras.Model([token, steps], [logits, steps + 1.0])
    lookup.set_weights([table])
    return InferenceModels(start=None, step=step, context_count=0, state_count=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--beam", type=int, default=4)
    parser.add_argument("--vocabulary", type=int, default=11794, help="the spa-eng full preset's English side")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    table = logits_table(args.vocabulary, seed=0)
    states = [np.zeros((args.batch, 1), np.float32)]
    starts = np.ones(args.batch, int)
    compiled_runner = StepRunner(table_step_model(table))
    searches = {
        "stepwise (NumPy ranking)": lambda: beam_search_stepwise(
            TableRunner(table), [], states, starts, end_id=2, max_length=args.steps, beam_width=args.beam
        ),
        "compiled loop": lambda: beam_search(
            compiled_runner, [], states, starts, end_id=2, max_length=args.steps, beam_width=args.beam
        ),
    }
    searches["compiled loop"]()  # compile
    for name, search in searches.items():
        times = []
        for _ in range(args.repeats):
            started = time.perf_counter()
            decoded = search()
            times.append(time.perf_counter() - started)
        best = min(times)
        print(
            f"{name}: beam {args.beam}, batch {args.batch}, vocabulary {args.vocabulary}, {args.steps} steps: "
            f"{best:.2f} s (best of {args.repeats}), {1000 * best / args.steps:.0f} ms a step; "
            f"checksum {sum(map(len, decoded.tokens))} tokens, score {float(decoded.scores.sum()):.3f}"
        )


if __name__ == "__main__":
    main()
