"""Semantic accuracy of a finished synthetic-scenes captioning run, by number of shapes and by kind of mistake.

    python benchmarks/captioning_breakdown.py runs/captioning/lstm-1x128-demo

The test scenes are regenerated from the run's config (they are deterministic by seed), and the run's own test
captions (test_captions.json) are checked again with the scene grammar's parser.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

from datasets import scenes


def main(run_dir: Path) -> None:
    config = json.loads((run_dir / "config.json").read_text())
    samples = json.loads((run_dir / "test_captions.json").read_text())
    data = scenes.load_scenes(
        config["train_images"] or 1,
        config["validation_images"],
        config["test_images"],
        image_size=config["image_size"],
        seed=config["seed"],
    )
    groups = {"test_seen": data.test_seen, "test_unseen": data.test_unseen}
    for name, split in groups.items():
        totals, correct, mistakes = Counter(), Counter(), Counter()
        for sample in (s for s in samples if s["group"] == name):
            scene = split.scenes[sample["index"]]
            check = scenes.check_caption(sample["caption"], scene)
            shapes = len(scene.objects)
            totals[shapes] += 1
            correct[shapes] += check.correct
            if not check.parsed:
                mistakes["not in the grammar"] += 1
            elif check.false_statements:
                mistakes["states something false"] += 1
            elif check.missing_objects:
                mistakes["misses a shape"] += 1
        parts = [f"{k} shape(s): {correct[k]}/{totals[k]} = {correct[k] / totals[k]:.1%}" for k in sorted(totals)]
        print(f"{name}: " + "; ".join(parts) + f"; mistakes: {dict(mistakes)}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
