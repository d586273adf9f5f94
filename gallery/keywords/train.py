"""Training the keyword recogniser, then its test accuracy overall, per class and by noise, with clips to hear."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import keras
import numpy as np

from datasets import pcm, speech
from datasets.speech_augment import evaluation_snr_db
from gallery import plots, runs, training
from gallery.keywords import metrics
from gallery.keywords.config import KeywordsConfig
from gallery.keywords.data import evaluation_augmentation, keyword_batches, test_seed
from gallery.keywords.model import build_model
from gallery.keywords.plots import examples, spectrogram_figure


def write_test_clips(run_dir: Path, model: keras.Model, test, true, predicted, labels) -> list[tuple[str, str]]:
    """One test clip per label as WAV and its log-mel frames in spectrograms.png; the clips' showcase entries."""
    chosen = examples(test, true, predicted, labels)
    audio = []
    for index, (waveform, label, guess) in enumerate(chosen):
        name = f"clips/{index:02d}_{labels[label]}.wav"
        runs.write_bytes(run_dir / name, pcm.wav_bytes(waveform))
        audio.append((name, f"test clip: {labels[label]} (predicted {labels[guess]})"))
    titles = [f"{labels[label]} -> {labels[guess]}" for _, label, guess in chosen]
    spectrogram_figure(model, np.stack([w for w, _, _ in chosen]), titles, run_dir / "spectrograms.png")
    return audio


def train_and_evaluate(config: KeywordsConfig, run_dir: Path) -> dict[str, Any]:
    data = keyword_batches(config)
    bundle, labels = data.bundle, data.bundle.labels
    print(f"data {bundle.source}: labels {labels}; clips {bundle.sizes()}", flush=True)
    normalisation_clips = data.normalisation_clips()
    with training.distribution_strategy(config).scope():
        model = build_model(config, len(labels), normalisation_clips)
        model.compile(
            optimizer=training.optimizer(config),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
        )
    print(f"model: {config.architecture()}, pooling {config.pool}, {model.count_params():,} parameters", flush=True)
    result = training.fit(
        model,
        data.train,
        data.validation,
        config,
        run_dir,
        monitor="val_accuracy",
        mode="max",
        callbacks=training.schedule_callbacks(config),
        epoch_summary=lambda epoch, logs: (
            f"accuracy {logs.get('accuracy', np.nan):.3f}  val_accuracy {logs.get('val_accuracy', np.nan):.3f}"
        ),
    )

    probabilities, true = metrics.predict_batches(model, data.test)
    predicted = probabilities.argmax(-1)
    accuracy = float(np.mean(predicted == true)) if true.size else float("nan")
    validation_probabilities, validation_true = metrics.predict_batches(model, data.validation)
    validation_accuracy = float(np.mean(validation_probabilities.argmax(-1) == validation_true))
    matrix = metrics.confusion(true, predicted, len(labels))
    per_class = metrics.per_class_accuracy(matrix, labels)
    print(f"test accuracy {accuracy:.4f} on {true.size} clips (validation {validation_accuracy:.4f})", flush=True)
    by_snr = None
    augmentation = evaluation_augmentation(bundle)
    if augmentation is not None and true.size:
        snr_db = evaluation_snr_db(bundle.test.in_memory(), augmentation, seed=test_seed(config.seed))
        silence = labels.index(speech.SILENCE) if speech.SILENCE in labels else -1
        by_snr = metrics.accuracy_by_snr(snr_db, true, predicted, silence, augmentation)
        bands = ", ".join(f"{band} {value:.3f} ({count})" for band, (value, count) in by_snr.items())
        print(f"  spoken test clips by noise: {bands}", flush=True)

    runs.write_json(run_dir / "labels.json", labels)
    plots.confusion_matrix_plot(
        matrix, labels, run_dir / "confusion_matrix.png", title=f"test confusion matrix, accuracy {accuracy:.3f}"
    )
    audio = write_test_clips(run_dir, model, data.test, true, predicted, labels)
    table_rows = [[label, int(matrix[i].sum()), per_class[label]] for i, label in enumerate(labels)]
    return training.write_finished_run(
        run_dir,
        config,
        model,
        result,
        training.Primary("test accuracy", accuracy, higher_is_better=True, count=int(true.size)),
        curve_title=f"keywords: {config.architecture()}, {config.pool} pooling",
        curve_keys=("loss", "val_loss", "accuracy", "val_accuracy"),
        showcase=runs.Showcase(
            images=[
                ("confusion_matrix.png", "test confusion matrix (rows: true label)"),
                ("spectrograms.png", "log-mel frames the model reads, test clips (true -> predicted)"),
            ],
            audio=audio,
            tables=[
                {"title": "test accuracy per class", "columns": ["label", "clips", "accuracy"], "rows": table_rows}
            ],
        ),
        data=bundle.source,
        clips=bundle.sizes(),
        test_accuracy_keywords=metrics.keyword_accuracy(true, predicted, labels),
        test_accuracy_by_snr=by_snr,
        validation_accuracy=validation_accuracy,
        per_class_accuracy=per_class,
        confusion_matrix=matrix.tolist(),
        labels=labels,
        data_notes=bundle.notes,
    )
