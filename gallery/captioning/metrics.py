"""Scoring captions: corpus BLEU against every reference, and semantic accuracy checked against the scene."""

from __future__ import annotations

from typing import Any

import keras

from datasets import scene_grammar
from gallery.captioning.captioner import Captioner
from gallery.captioning.config import CaptioningConfig
from gallery.captioning.data import Split
from gallery.statistics import wilson_interval


def bleu_scores(hypotheses: list[str], references: list[list[str]]) -> dict[str, float]:
    """Corpus BLEU-1..4 (sacrebleu) against every reference of each image."""
    from sacrebleu.metrics import BLEU

    most = max(len(group) for group in references)
    # sacrebleu wants one stream per reference position; images with fewer references leave gaps (None).
    streams = [[group[i] if i < len(group) else None for group in references] for i in range(most)]
    return {
        f"bleu{order}": float(BLEU(max_ngram_order=order, effective_order=True).corpus_score(hypotheses, streams).score)
        for order in (1, 2, 3, 4)
    }


def semantic_scores(hypotheses: list[str], scenes: list) -> dict[str, Any]:
    """The shares of captions right, truthful and parsed; the right ones' count and 95% Wilson interval (a test
    group of a thousand scenes leaves about three points either side at 90%); and accuracy by number of shapes."""
    checks = [scene_grammar.check_caption(text, scene) for scene, text in zip(scenes, hypotheses)]
    count = max(1, len(checks))
    correct = sum(check.correct for check in checks)
    by_shapes = {}
    for shapes in sorted({len(scene.objects) for scene in scenes}):
        group = [check.correct for check, scene in zip(checks, scenes) if len(scene.objects) == shapes]
        by_shapes[str(shapes)] = sum(group) / len(group)
    return {
        "semantic_accuracy": correct / count,
        "semantic_correct": correct,
        "count": len(checks),
        "semantic_accuracy_interval95": list(wilson_interval(correct, count)),
        "truthful": sum(check.truthful for check in checks) / count,
        "parsed": sum(check.parsed for check in checks) / count,
        # Relations only appear with two or more shapes, so this separates naming shapes from placing them.
        "semantic_accuracy_by_shapes": by_shapes,
    }


class ValidationScore:
    """The task score of the validation images, captioned greedily after each epoch, for the epoch line.

    `training.fit` calls the epoch summary before the checkpoint, early-stopping and CSV callbacks, so the score it
    writes into the epoch's logs is what those callbacks monitor and record.
    """

    def __init__(self, model: keras.Model, split: Split, vocabulary, config: CaptioningConfig, key: str):
        self.model, self.split, self.vocabulary, self.config, self.key = model, split, vocabulary, config, key
        self.captioner: Captioner | None = None

    def score(self) -> float:
        if self.captioner is None:
            self.captioner = Captioner(self.model, self.vocabulary, self.config.max_length)
        texts = self.captioner.texts(self.split.images)
        if self.split.scenes is not None:
            return semantic_scores(texts, self.split.scenes)["semantic_accuracy"]
        return bleu_scores(texts, self.split.references)["bleu4"] / 100.0

    def __call__(self, epoch: int, logs: dict) -> str:
        logs[self.key] = self.score()
        label = "semantic accuracy" if self.split.scenes is not None else "BLEU-4 / 100"
        return f"validation {label} {logs[self.key]:.3f}"


def evaluate(captioner: Captioner, splits: dict[str, Split], beam: int = 1) -> tuple[dict, dict[str, list[str]]]:
    """BLEU (and semantic scores on scenes) of every test group, keyed `seen`/`unseen` or `test`, and the captions."""
    metrics, outputs = {}, {}
    for name in [key for key in splits if key.startswith("test")]:
        split = splits[name]
        texts = captioner.texts(split.images, beam)
        outputs[name] = texts
        group = name.removeprefix("test_") if name != "test" else "test"
        scores = bleu_scores(texts, split.references)
        if split.scenes is not None:
            scores.update(semantic_scores(texts, split.scenes))
        metrics[group] = scores
    return metrics, outputs
