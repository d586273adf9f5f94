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

from datasets import scene_grammar, scenes


def main(run_dir: Path) -> None:
    config = json.loads((run_dir / "config.json").read_text())
    samples = json.loads((run_dir / "test_captions.json").read_text())
    data = scenes.load_scenes(
        config["train_images"] or 1,
        # Runs of this version keep no validation count: it is half the test count.
        config.get("validation_images") or max(1, config["test_images"] // 2),
        config["test_images"],
        image_size=config["image_size"],
        seed=config["seed"],
    )
    groups = {"test_seen": data.test_seen, "test_unseen": data.test_unseen}
    for name, split in groups.items():
        totals, correct, mistakes, directions = Counter(), Counter(), Counter(), Counter()
        for sample in (s for s in samples if s["group"] == name):
            scene = split.scenes[sample["index"]]
            check = scene_grammar.check_caption(sample["caption"], scene)
            shapes = len(scene.objects)
            totals[shapes] += 1
            correct[shapes] += check.correct
            directions["right"] += check.true_relations
            directions["reversed"] += check.reversed_relations
            if not check.parsed:
                mistakes["not in the grammar"] += 1
            elif check.false_statements and check.false_statements == check.reversed_relations:
                # The shapes are right and only directions are wrong: the model cannot tell where things are.
                mistakes["relations the wrong way round"] += 1
            elif check.false_statements:
                mistakes["states something else false"] += 1
            elif check.missing_objects:
                mistakes["misses a shape"] += 1
        parts = [f"{k} shape(s): {correct[k]}/{totals[k]} = {correct[k] / totals[k]:.1%}" for k in sorted(totals)]
        # Of the relations stated between two shapes that are there, how many point the right way (chance: half).
        judged = directions["right"] + directions["reversed"]
        direction = f"{directions['right']}/{judged} = {directions['right'] / judged:.1%}" if judged else "none"
        print(f"{name}: " + "; ".join(parts) + f"; mistakes: {dict(mistakes)}; relations the right way: {direction}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
