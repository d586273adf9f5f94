"""Training the captioner: fit with the validation captions' score as the monitor, then caption the test images."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import keras
import numpy as np

from datasets import scene_grammar
from gallery import runs, training
from gallery.captioning.captioner import Captioner
from gallery.captioning.config import SHOWN_IMAGES, CaptioningConfig
from gallery.captioning.data import VOCABULARY_FILE, CaptionBatches, Split, grounded_word_groups, load_data
from gallery.captioning.metrics import ValidationScore, evaluate
from gallery.captioning.model import build_model
from gallery.captioning.plots import attention_figure, caption_grid


def train_and_evaluate(config: CaptioningConfig, run_dir: Path) -> dict[str, Any]:
    splits, vocabulary, description = load_data(config)
    synthetic = splits["train"].scenes is not None
    tests = [name for name in splits if name.startswith("test")]
    print(
        f"captioning {description}: {len(splits['train'].images)} training images, "
        f"{len(splits['validation'].images)} validation, "
        + ", ".join(f"{len(splits[name].images)} {name.replace('_', ' ')}" for name in tests)
        + f"; vocabulary {len(vocabulary)} words; {config.encoder} encoder, {config.architecture()} decoder, "
        f"inject {config.inject}, attention {config.attention}, grounding {config.grounding}",
        flush=True,
    )
    with training.distribution_strategy(config).scope():
        groups = grounded_word_groups(vocabulary) if config.grounding == "views" else None
        model = build_model(config, len(vocabulary), groups)
        model.compile(
            optimizer=training.optimizer(config),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=0),
        )
    key = "val_semantic_accuracy" if synthetic else "val_bleu4"
    result = training.fit(
        model,
        CaptionBatches(splits["train"], vocabulary, config, shuffle=True),
        CaptionBatches(splits["validation"], vocabulary, config, shuffle=False),
        config,
        run_dir,
        monitor=key,
        mode="max",
        epoch_summary=ValidationScore(model, splits["validation"], vocabulary, config, key),
        callbacks=training.schedule_callbacks(config),
    )

    captioner = Captioner(model, vocabulary, config.max_length)
    metrics, outputs = evaluate(captioner, splits)
    for group, scores in metrics.items():
        line = f"test {group} (greedy): " + "  ".join(f"BLEU-{n} {scores[f'bleu{n}']:.1f}" for n in (1, 2, 3, 4))
        if "semantic_accuracy" in scores:
            low, high = scores["semantic_accuracy_interval95"]
            line += (
                f"  semantic accuracy {scores['semantic_accuracy']:.1%} ({low:.1%} to {high:.1%}, "
                f"{scores['count']} scenes; truthful {scores['truthful']:.1%})"
            )
        print(line)

    runs.write_json(run_dir / VOCABULARY_FILE, vocabulary.words)
    samples = _test_samples({name: splits[name] for name in tests}, outputs)
    runs.write_json(run_dir / "test_captions.json", samples)
    title = f"{config.architecture()} decoder, inject {config.inject}, attention {config.attention}"
    if synthetic:
        title += " (top rows: seen combinations; bottom rows: held-out; green = correct)"
    pictures = _pictures(captioner, {name: splits[name] for name in tests}, outputs, run_dir, title)
    columns = ["test group", "BLEU-1", "BLEU-2", "BLEU-3", "BLEU-4"] + (["semantic accuracy %"] if synthetic else [])
    rows = [
        [group, *(round(scores[f"bleu{n}"], 1) for n in (1, 2, 3, 4))]
        + ([round(100 * scores["semantic_accuracy"], 1)] if synthetic else [])
        for group, scores in metrics.items()
    ]
    if synthetic:
        seen = metrics["seen"]["semantic_accuracy"]
        primary = training.Primary("semantic accuracy (seen combinations)", seen, True, len(splits["test_seen"].images))
    else:
        primary = training.Primary("BLEU-4", metrics["test"]["bleu4"], True)
    print(f"captioned test images: {run_dir / 'captions.png'}")
    return training.write_finished_run(
        run_dir,
        config,
        model,
        result,
        primary,
        curve_title=f"captioning: {config.architecture()}",
        showcase=runs.Showcase(
            texts=[("captions", "\n".join(sample["caption"] for sample in samples[:SHOWN_IMAGES]))],
            images=pictures,
            tables=[{"title": "test metrics (greedy)", "columns": columns, "rows": rows}],
        ),
        decoding="greedy",
        data=description,
        test=metrics,
    )


def _verdict(split: Split, index: int, caption: str) -> bool | None:
    """Whether a caption is right about its scene (None for real images, which have no scene to check)."""
    return None if split.scenes is None else scene_grammar.check_caption(caption, split.scenes[index]).correct


def _test_samples(tests: dict[str, Split], outputs: dict[str, list[str]]) -> list[dict[str, Any]]:
    """Every test caption with its references and, on scenes, whether it is right (test_captions.json)."""
    samples = []
    for name, split in tests.items():
        for index, caption in enumerate(outputs[name]):
            sample = {"group": name, "index": index, "caption": caption, "references": split.references[index]}
            verdict = _verdict(split, index, caption)
            if verdict is not None:
                sample["correct"] = verdict
            samples.append(sample)
    return samples


def _pictures(captioner, tests: dict[str, Split], outputs, run_dir: Path, title: str) -> list[tuple[str, str]]:
    """captions.png (the first test images of each group) and, with attention, four attention figures."""
    per_group = max(1, SHOWN_IMAGES // len(tests))
    shown = [(name, index) for name, split in tests.items() for index in range(min(per_group, len(split.images)))]
    caption_grid(
        [tests[name].images[index] for name, index in shown],
        [outputs[name][index] for name, index in shown],
        [_verdict(tests[name], index, outputs[name][index]) for name, index in shown],
        run_dir / "captions.png",
        title,
    )
    pictures = [("captions.png", "test images with the captions the model wrote")]
    if not captioner.has_attention:
        return pictures
    firsts = [(name, index) for name, split in tests.items() for index in range(min(2, len(split.images)))]
    for number, (name, index) in enumerate(firsts[:4]):
        image = tests[name].images[index]
        ids = captioner.vocabulary.encode(outputs[name][index])
        maps = captioner.attention(image.astype(np.float32), ids)
        words = [captioner.vocabulary.words[i] for i in ids] + ["[end]"]
        attention_figure(image, words, maps, run_dir / f"attention_{number}.png")
        pictures.append((f"attention_{number}.png", f"where the decoder looked for each word ({name}, image {index})"))
    return pictures
