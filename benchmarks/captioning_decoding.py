"""Finished synthetic-scenes captioning runs scored with greedy and beam decoding on the test scenes of several seeds.

A run's test figure moves with which scenes its seed drew (by a point on 300 to 1,000 scenes), so this
scores each run folder on the seen and held-out test groups of every `--seeds` (seed 0's are the run's own when it
trained with seed 0; other seeds draw new test scenes from their own streams, as a fresh test set would be drawn)
at every `--beams` width, and prints one Markdown table of semantic accuracy.

    python benchmarks/captioning_decoding.py runs/captioning/lstm-1x128-full --seeds 0 1 2 --beams 1 3
"""

from __future__ import annotations

import argparse
import platform

import keras

from datasets import scenes
from gallery.captioning.data import Split
from gallery.captioning.metrics import evaluate
from gallery.captioning.verbs import load_captioner


def test_splits(config: dict, seed: int, count: int) -> dict[str, Split]:
    """The seen and held-out test groups that training would draw with this seed (training split left empty)."""
    data = scenes.load_scenes(0, 1, count, image_size=config["image_size"], seed=seed)
    return {
        name: Split(split.images, split.captions, split.scenes)
        for name, split in (("test_seen", data.test_seen), ("test_unseen", data.test_unseen))
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", help="finished captioning run folders trained on synthetic scenes")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--beams", type=int, nargs="+", default=[1, 3])
    parser.add_argument("--test-images", type=int, default=0, help="scenes per group (0 = the run's own count)")
    args = parser.parse_args()
    print(f"keras {keras.__version__}, {platform.machine()}, {platform.processor() or 'cpu'}")
    print("| run | seed | scenes per group | decoding | seen | held-out |")
    print("|---|---|---|---|---|---|")
    for run in args.runs:
        captioner, config = load_captioner(run)
        count = args.test_images or int(config["test_images"])
        for seed in args.seeds:
            splits = test_splits(config, seed, count)
            for beam in args.beams:
                metrics, _ = evaluate(captioner, splits, beam)
                decoding = "greedy" if beam == 1 else f"beam {beam}"
                seen, unseen = (metrics[group]["semantic_accuracy"] for group in ("seen", "unseen"))
                print(f"| `{run}` | {seed} | {count} | {decoding} | {seen:.1%} | {unseen:.1%} |", flush=True)


if __name__ == "__main__":
    main()
