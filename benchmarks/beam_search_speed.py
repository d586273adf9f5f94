"""Time of batched beam search itself, the NumPy work between model steps, at a translation-sized vocabulary.

    python benchmarks/beam_search_speed.py                  # batch 256, beam 4, 11,794 words, 20 steps
    python benchmarks/beam_search_speed.py --vocabulary 30000 --beam 8

The step "model" is a fixed random table of logits, so the figure is the decoder's own cost (log-softmax, picking
the best hypotheses, reordering states), which runs on the CPU whatever the Keras backend. The printed checksum
(tokens and total score) lets two versions of models/decoding.py be compared for identical output.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from models.decoding import beam_search


class TableRunner:
    """Logits that depend on the previous token and the step number, like a real step model's, at no cost."""

    def __init__(self, vocabulary: int, seed: int):
        self.table = (np.random.default_rng(seed).normal(size=(64, vocabulary)) * 3).astype(np.float32)

    def __call__(self, tokens, context, states):
        steps = states[0]
        logits = self.table[(np.asarray(tokens) + steps[:, 0].astype(int)) % len(self.table)]
        return logits, [steps + 1], None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--beam", type=int, default=4)
    parser.add_argument("--vocabulary", type=int, default=11794, help="the spa-eng full preset's English side")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    runner = TableRunner(args.vocabulary, seed=0)
    times = []
    for _ in range(args.repeats):
        started = time.perf_counter()
        decoded = beam_search(
            runner,
            [],
            [np.zeros((args.batch, 1), np.float32)],
            np.ones(args.batch, int),
            end_id=2,
            max_length=args.steps,
            beam_width=args.beam,
        )
        times.append(time.perf_counter() - started)
    best = min(times)
    print(
        f"beam {args.beam}, batch {args.batch}, vocabulary {args.vocabulary}, {args.steps} steps: "
        f"{best:.2f} s (best of {args.repeats}), {1000 * best / args.steps:.0f} ms a step; "
        f"checksum {sum(map(len, decoded.tokens))} tokens, score {float(decoded.scores.sum()):.3f}"
    )


if __name__ == "__main__":
    main()
