"""Training the translation model: teacher forcing on bucketed batches, then greedy and beam scores on the test."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import keras

from gallery import runs, training
from gallery.translation.config import TranslationConfig
from gallery.translation.data import VOCABULARY_FILE, encode_pairs, fit_tokenizers, load_pairs
from gallery.translation.decoding import Translator
from gallery.translation.metrics import ValidationExactMatch, evaluate, markdown_table, signatures
from gallery.translation.model import build_model, initialise_output_bias
from gallery.translation.plots import attention_heatmaps

LENGTH_COLUMNS = ["source_tokens", "count", "exact_match", "bleu", "chrf"]
SAMPLES = 20


def compile_model(model: keras.Model, config: TranslationConfig) -> None:
    model.compile(
        optimizer=training.optimizer(config),
        # The mean over the real target tokens, so a batch's loss does not depend on how far it is padded (batches
        # are bucketed by length, and padded to the longest in each).
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction="mean_with_sample_weight"),
        weighted_metrics=[keras.metrics.SparseCategoricalAccuracy(name="token_accuracy")],
    )


def headline(evaluation: dict, test_pairs: int, beam: int) -> str:
    """One line of test scores, greedy then beam."""
    scores = evaluation["greedy"]["scores"]
    line = (
        f"test ({test_pairs} pairs), greedy: BLEU {scores['bleu']:.2f}, chrF {scores['chrf']:.2f},"
        f" exact match {scores['exact_match']:.4f}"
    )
    if "beam" in evaluation:
        scores = evaluation["beam"]["scores"]
        line += (
            f"; beam {beam}: BLEU {scores['bleu']:.2f}, chrF {scores['chrf']:.2f}, "
            f"exact match {scores['exact_match']:.4f}"
        )
    return f"{line} (sacreBLEU {signatures()['bleu']})"


def write_samples(run_dir: Path, test_pairs: list[tuple[str, str]], evaluation: dict) -> dict[str, Any]:
    """samples.txt with the first test translations; returns them as a showcase table."""
    lines, rows = [], []
    for i, (text, reference) in enumerate(test_pairs[:SAMPLES]):
        hypothesis = evaluation["greedy"]["hypotheses"][i]
        mark = "ok" if hypothesis == evaluation["references"][i] else "differs"
        lines.append(f"source:    {text}\nreference: {reference}\ngreedy:    {hypothesis}  ({mark})")
        row = [text, reference, hypothesis]
        if "beam" in evaluation:
            row.append(evaluation["beam"]["hypotheses"][i])
        rows.append(row)
    runs.write_text(run_dir / "samples.txt", "\n\n".join(lines) + "\n")
    columns = ["source", "reference", "greedy"] + (["beam"] if "beam" in evaluation else [])
    return {"title": f"test translations (first {SAMPLES})", "columns": columns, "rows": rows}


def train_and_evaluate(config: TranslationConfig, run_dir: Path) -> dict[str, Any]:
    data = load_pairs(config)
    print(
        f"data: {data.description}; {len(data.train)} train, {len(data.validation)} validation, "
        f"{len(data.test)} test pairs" + (f"; {data.skipped} malformed lines skipped" if data.skipped else "")
    )
    source, target = fit_tokenizers(config, data.train)
    train, validation = (encode_pairs(split, source, target) for split in (data.train, data.validation))
    max_source, max_target = train.source.shape[1], train.target_out.shape[1] - 1
    print(
        f"vocabulary: {len(source)} source and {len(target)} target {config.level} tokens; "
        f"longest source {max_source}, target {max_target}; {config.architecture()}, attention {config.attention}"
    )

    with training.distribution_strategy(config).scope():
        model = build_model(config, len(source), len(target))
        initialise_output_bias(model, train.target_out)
        compile_model(model, config)
    translator = Translator(model, source, target, max_source, max_target)
    result = training.fit(
        model,
        train.batches(config.batch_size, shuffle_seed=config.seed),
        validation.batches(config.batch_size),
        config,
        run_dir,
        epoch_summary=ValidationExactMatch(translator, data.validation[:256]),
    )

    evaluation = evaluate(translator, data.test, config.beam)
    summary = headline(evaluation, len(data.test), config.beam)
    print(summary)
    runs.write_json(
        run_dir / VOCABULARY_FILE,
        {
            "level": config.level,
            "max_source_length": int(max_source),
            "max_target_length": int(max_target),
            "source": source.vocabulary,
            "target": target.vocabulary,
        },
    )
    images = attention_heatmaps(translator, data.test, run_dir)
    samples = write_samples(run_dir, data.test, evaluation)
    by_length = evaluation["by_source_length"]
    runs.write_text(
        run_dir / "by_source_length.md",
        f"attention {config.attention}, greedy, test split\n\n{markdown_table(by_length, LENGTH_COLUMNS)}\n",
    )
    greedy = evaluation["greedy"]
    decoding = {"greedy": {**greedy["scores"], "seconds": greedy["seconds"]}}
    if "beam" in evaluation:
        decoding[f"beam_{config.beam}"] = {**evaluation["beam"]["scores"], "seconds": evaluation["beam"]["seconds"]}
    return training.write_finished_run(
        run_dir,
        config,
        model,
        result,
        training.Primary("test BLEU (greedy)", greedy["scores"]["bleu"], higher_is_better=True),
        curve_title=f"translation: {config.architecture()}, attention {config.attention}",
        curve_keys=("loss", "val_loss", "token_accuracy", "val_token_accuracy"),
        showcase=runs.Showcase(
            texts=[("test translations", summary)],
            images=images,
            tables=[
                samples,
                {
                    "title": "greedy scores by source length",
                    "columns": LENGTH_COLUMNS,
                    "rows": [[row[c] for c in LENGTH_COLUMNS] for row in by_length],
                },
            ],
        ),
        test_bleu=greedy["scores"]["bleu"],
        test_chrf=greedy["scores"]["chrf"],
        test_exact_match=greedy["scores"]["exact_match"],
        decoding=decoding,
        sacrebleu_signatures=signatures(),
        by_source_length=by_length,
        data=data.description,
        pairs={"train": len(data.train), "validation": len(data.validation), "test": len(data.test)},
        skipped_lines=data.skipped,
        vocabulary={"source": len(source), "target": len(target), "level": config.level},
        best_val_loss=min(result.history.get("val_loss", [math.nan])),
    )
