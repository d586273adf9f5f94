"""Training the language model: nats per character and a fixed-seed sample every epoch, then the best weights."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import keras
import numpy as np

from gallery import resume, runs, training
from gallery.language_model import data as text_batches
from gallery.language_model.config import LanguageModelConfig
from gallery.language_model.metrics import describe_loss, nats_to_report
from gallery.language_model.model import build_model
from gallery.language_model.plots import draw_neurons
from gallery.language_model.sampling import Sampler

VOCABULARY_FILE = "vocabulary.json"
SAMPLES_FILE = "samples.txt"
EPOCH_SAMPLE_TEMPERATURE = 0.8
EPOCH_SAMPLE_SEED = 1
FINAL_SAMPLE_FACTOR = 3  # the sample kept with the run is this many times the per-epoch one
NEURON_PASSAGE = 6 * 60  # six rows of the neuron picture


class EpochReport:
    """The epoch line's task part: validation nats and bits per character, perplexity and a fixed-seed sample.

    Called by the epoch line before the CSV logger writes the row, so the per-character figures and the learning
    rate it adds to the logs land in history.csv; every sample is appended to samples.txt.
    """

    def __init__(self, model, batches: text_batches.TextBatches, config: LanguageModelConfig, run_dir: Path):
        self.model, self.batches, self.config, self.run_dir = model, batches, config, run_dir
        self.prime = batches.epoch_prime()
        self.sampler = None

    def sample(self, length: int) -> str:
        if self.sampler is None:
            # The step model shares the training model's layers, so it always sees the current weights.
            self.sampler = Sampler(self.model, self.batches.vocabulary)
        text = self.sampler.generate(self.prime, length, EPOCH_SAMPLE_TEMPERATURE, None, EPOCH_SAMPLE_SEED)
        return self.prime + text

    def __call__(self, epoch: int, logs: dict) -> str:
        text = self.sample(self.config.sample_length)
        logs["learning_rate"] = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
        parts = []
        if "val_loss" in logs:
            batches = self.batches
            report = nats_to_report(logs["val_loss"], batches.validation_tokens, batches.validation_characters)
            logs["val_nats_per_char"] = report["nats_per_char"]
            logs["val_bits_per_char"] = report["bits_per_char"]
            parts.append(f"validation {describe_loss(report, self.config.level)}")
        parts.append(f"lr {logs['learning_rate']:.2g}")
        path = self.run_dir / SAMPLES_FILE
        previous = path.read_text(encoding="utf-8") if path.is_file() else ""
        header = f"=== epoch {epoch + 1}, temperature {EPOCH_SAMPLE_TEMPERATURE}, seed {EPOCH_SAMPLE_SEED}"
        runs.write_text(path, previous + f"{header}, prime {self.prime!r}\n{text}\n\n")
        return "  ".join(parts) + f"\n    sample: {text!r}\n   "


def keep_samples(path: Path, epochs: int) -> None:
    """Keep the samples of the first `epochs` epochs, those a resumed run keeps (none for a new run)."""
    if not path.is_file():
        return
    if epochs == 0:
        path.unlink()
        return
    text = path.read_text(encoding="utf-8")
    cut = text.find(f"\n\n=== epoch {epochs + 1}, temperature")
    if cut >= 0:
        runs.write_text(path, text[: cut + 2])


def best_epoch(history: dict[str, list[float]]) -> int | None:
    values = history.get("val_loss")
    return int(np.nanargmin(values)) + 1 if values else None


def train_and_evaluate(config: LanguageModelConfig, run_dir: Path) -> dict[str, Any]:
    batches = text_batches.load(config)
    vocabulary = batches.vocabulary
    print(batches.describe(config))
    with training.distribution_strategy(config).scope():
        model = build_model(config, len(vocabulary))
        model.compile(
            optimizer=training.optimizer(config),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        )
    keep_samples(run_dir / SAMPLES_FILE, resume.resume_point(run_dir))

    epoch_report = EpochReport(model, batches, config, run_dir)
    result = training.fit(
        model,
        batches.train,
        batches.validation,
        config,
        run_dir,
        epoch_summary=epoch_report,
        callbacks=training.schedule_callbacks(config),
        validation_batch_size=config.batch_size,
    )

    # fit restored the weights of the epoch with the lowest validation loss, so that loss is theirs.
    validation_loss = float(np.nanmin(result.history["val_loss"]))
    report = nats_to_report(validation_loss, batches.validation_tokens, batches.validation_characters)
    best = best_epoch(result.history)
    print(f"best weights (epoch {best}): validation {describe_loss(report, config.level)}")
    final_length = FINAL_SAMPLE_FACTOR * config.sample_length
    final_sample = epoch_report.sample(final_length)

    runs.write_json(run_dir / VOCABULARY_FILE, vocabulary.to_json())
    images = []
    if config.level == "char":
        passage = batches.validation_passage(NEURON_PASSAGE)
        draw_neurons(model, vocabulary, passage, run_dir / "neurons.png", units=None, count=6, layer=None)
        images.append(("neurons.png", "the most variable hidden units of the top layer over a validation passage"))
    shown = {"nats_per_char": 4, "bits_per_char": 4, "perplexity": 3}
    table = {
        "title": "validation loss (best weights)",
        "columns": ["nats/char", "bits/char", "perplexity"],
        "rows": [[round(report[key], digits) for key, digits in shown.items()]],
    }
    data = batches.data
    return training.write_finished_run(
        run_dir,
        config,
        model,
        result,
        training.Primary("validation nats/char", report["nats_per_char"], higher_is_better=False),
        curve_title=f"language model: {config.architecture()} (nats/{config.level})",
        curve_keys=("loss", "val_loss"),
        showcase=runs.Showcase(
            texts=[(f"{final_length} tokens sampled at temperature {EPOCH_SAMPLE_TEMPERATURE}", final_sample)],
            images=images,
            links=[(SAMPLES_FILE, "the fixed-seed sample after every epoch")],
            tables=[table],
        ),
        validation_bits_per_char=report["bits_per_char"],
        validation_perplexity=report["perplexity"],
        validation_nats_per_token=report["nats_per_token"],
        level=config.level,
        vocabulary_size=len(vocabulary),
        data=data.corpus.description,
        train_tokens=len(data.train_ids),
        validation_tokens=len(data.validation_ids),
        validation_tokens_scored=batches.validation_tokens,
        best_epoch=best,
        final_sample=final_sample,
    )
