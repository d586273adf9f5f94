"""Trained keyword runs scored on the held-out-voice test sets of several seeds and sizes: gallery/keywords/README.md.

A demo run's test figure depends on which clips its seed drew for the test set as well as on the model. This scores
each run folder given on the noisy synthetic test set (the same voices, never heard in training, and the same
noise treatment as `python -m gallery.keywords` uses) of every `--seeds` x `--test-per-class`, and prints one
Markdown table. Sets not in the clip cache are synthesised first (about a minute each).

    python benchmarks/keywords_test_draws.py runs/keywords/lstm-1x128-bi-demo runs/keywords/other
    python benchmarks/keywords_test_draws.py RUN --seeds 0 1 2 --test-per-class 100 300
"""

from __future__ import annotations

import argparse
import platform

import keras
import numpy as np

from datasets import speech
from gallery.keywords.config import KeywordsConfig
from gallery.keywords.data import load_bundle, test_batches
from gallery.keywords.metrics import predict_batches
from gallery.keywords.verbs import load_trained


def test_set(seed: int, per_class: int, batch_size: int = 64):
    """The demo's noisy held-out-voice test pipeline for a seed and size, exactly as training builds it."""
    per_split = {**KeywordsConfig().clips_per_class(), "test": per_class}
    return test_batches(load_bundle("synthetic", per_split, seed), batch_size, seed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", help="finished keywords run folders")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--test-per-class", type=int, nargs="+", default=[100, 300])
    args = parser.parse_args()
    models = {run: load_trained(run)[0] for run in args.runs}
    columns, scores = [], {run: [] for run in args.runs}
    for per_class in args.test_per_class:
        for seed in args.seeds:
            columns.append(f"seed {seed}, {per_class * len(speech.SYNTHETIC_LABELS):,} clips")
            data = test_set(seed, per_class)
            for run, model in models.items():
                probabilities, labels = predict_batches(model, data)
                scores[run].append(float(np.mean(probabilities.argmax(-1) == labels)))
    print(f"keras {keras.__version__}, {platform.machine()}, {platform.processor() or 'cpu'}")
    print("| run | " + " | ".join(columns) + " |")
    print("|---|" + "---|" * len(columns))
    for run, values in scores.items():
        print(f"| `{run}` | " + " | ".join(f"{value * 100:.2f}%" for value in values) + " |")


if __name__ == "__main__":
    main()
