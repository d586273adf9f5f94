"""Character-level language model: learns to predict the next character, then writes text one character at a time.

Layout: many-to-many (aligned) for training, one-to-many for sampling. An embedding, the shared recurrent stack
(any registered cell and activation) and a dense layer give next-character logits at every step; training uses
truncated backpropagation through time over windows of `--seq-len` characters. Sampling feeds a prime through the
step model and carries the recurrent state from character to character.

Data: by default the documentation text CPython ships in `pydoc_data.topics` (about 465,000 characters), split
contiguously 90/10. Also `--data hello`, a UTF-8 file or folder of .txt files, or `tfds:tiny_shakespeare`;
`--level word` models words, punctuation marks and whitespace runs instead of characters.

    python -m gallery.language_model                                  # demo preset: LSTM 1x256, 10-minute budget
    python -m gallery.language_model sample --run runs/language_model/lstm-1x256-demo --prime "def " --length 500
    python -m gallery.language_model neurons --run runs/language_model/lstm-1x256-demo --text "if x:\n    return 1"
    python -m gallery.language_model --data /path/to/input.txt --cell gru --preset full

Each epoch prints the validation loss in nats per character, bits per character and perplexity, and a short sample
(temperature 0.8, fixed seed). Expected: the samples turn from noise into Python-documentation-like prose and code;
see README.md beside this file for the measured figures.
"""

from __future__ import annotations

import argparse
import math
import re
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np

from datasets import text as text_data
from gallery import plots, runs, training
from gallery.cli import App, RunResult, Verb
from gallery.config import RunConfig, option, override, schedule_option
from gallery.errors import UsageError
from models.decoding import StepRunner, feed, sample
from models.templates import many_to_many, many_to_many_inference

VOCABULARY_FILE = "vocabulary.json"
SAMPLES_FILE = "samples.txt"
EPOCH_SAMPLE_TEMPERATURE = 0.8
EPOCH_SAMPLE_SEED = 1
MAX_NEURON_CHARACTERS = 4000
FINAL_SAMPLE_FACTOR = 3  # the sample kept with the run is this many times the per-epoch one


@dataclass
class LanguageModelConfig(RunConfig):
    """An LSTM character model trained on windows drawn at random from the text.

    The demo model has one layer: on a busy 2-core CPU a 2x256 stack learnt no more per batch than 1x256 and ran
    three times slower (see README.md), so the one-layer model gets further in the same minutes.
    """

    APP = "language_model"
    UNIDIRECTIONAL_REASON = "would let the model read the character it must predict; leave it off"
    PRESETS = {
        "smoke": {
            "units": 16,
            "layers": 1,
            "embedding_dim": 8,
            "seq_len": 24,
            "epochs": 2,
            "steps_per_epoch": 3,
            "batch_size": 8,
            "sample_length": 40,
            "validation_steps": 2,
            "budget_seconds": 0.0,
        },
        "demo": {},
        "full": {
            "units": 512,
            "layers": 2,
            "dropout": 0.2,
            "learning_rate": 2e-3,
            "epochs": 50,
            "steps_per_epoch": 100,
            "budget_seconds": 0.0,
            "patience": 8,
        },
    }

    units: int = override("units", 256)
    layers: int = override("layers", 1)
    epochs: int = override("epochs", 30)
    batch_size: int = override("batch_size", 64)
    learning_rate: float = override("learning_rate", 8e-3)
    patience: int = override("patience", 5)
    budget_seconds: float = override("budget_seconds", 600.0)
    level: str = option("char", "model characters, or words/punctuation/whitespace", choices=text_data.LEVELS)
    seq_len: int = option(100, "window length in tokens for truncated backpropagation through time", minimum=2)
    embedding_dim: int = option(64, "size of the token embedding", minimum=1)
    steps_per_epoch: int = option(40, "training batches per epoch (0 = one pass over the training text)", minimum=0)
    validation_steps: int = option(0, "validation batches per epoch (0 = the whole validation split)", minimum=0)
    schedule: str = schedule_option("cosine")
    max_vocab: int = option(10000, "word level: keep this many most frequent tokens, the rest are <unk>", minimum=2)
    sample_length: int = option(200, "characters of the sample printed each epoch", minimum=1)


def build_model(config: LanguageModelConfig, vocab_size: int) -> keras.Model:
    """Embedding -> recurrent stack -> dense logits over the vocabulary, at every step."""
    return many_to_many(
        config.rnn_spec(),
        vocab_size,
        vocab_size=vocab_size,
        embedding_dim=config.embedding_dim,
        name="language_model",
    )


def nats_to_report(nats_per_token: float, tokens: int, characters: int) -> dict[str, float]:
    """Loss per token turned into per-character nats and bits, and per-token perplexity."""
    nats_per_char = nats_per_token * tokens / max(characters, 1)
    return {
        "nats_per_char": nats_per_char,
        "bits_per_char": nats_per_char / math.log(2),
        "perplexity": math.exp(min(nats_per_token, 700.0)),
        "nats_per_token": nats_per_token,
    }


def describe_loss(report: dict[str, float], level: str) -> str:
    text = f"{report['nats_per_char']:.4f} nats/char  {report['bits_per_char']:.3f} bits/char"
    if level == "word":
        return text + f"  perplexity {report['perplexity']:.1f}/token"
    return text + f"  perplexity {report['perplexity']:.3f}"


class Sampler:
    """Generation with the step model, state carried from token to token: same seed, same text."""

    def __init__(self, model: keras.Model, vocabulary: text_data.Vocabulary):
        self.model, self.vocabulary = model, vocabulary
        self.runner = StepRunner(many_to_many_inference(model))

    def prime_ids(self, prime: str) -> np.ndarray:
        tokens = text_data.tokenize(prime, self.vocabulary.level)
        if not tokens:
            raise UsageError("--prime is empty; give at least one character to start from")
        missing = self.vocabulary.unknown(tokens)
        if missing and text_data.UNKNOWN not in self.vocabulary.index:
            shown = ", ".join(repr(token) for token in missing[:20])
            unit = "character" if self.vocabulary.level == "char" else "word"
            raise UsageError(
                f"the prime has {len(missing)} {unit}(s) the model never saw: {shown}; "
                f"use {unit}s from the training text"
            )
        return self.vocabulary.encode(tokens)

    def generate(self, prime: str, length: int, temperature: float, top_k: int | None, seed: int) -> str:
        ids = self.prime_ids(prime)
        _, states = self.runner.start(batch_size=1)
        # Every prime token but the last sets the state; the last is the first input of the sampler.
        _, states = feed(self.runner, ids[None, :-1], [], states) if len(ids) > 1 else (None, states)
        decoded = sample(self.runner, [], states, ids[-1:], length, temperature=temperature, top_k=top_k, seed=seed)
        return self.vocabulary.decode(decoded.tokens[0])


class EpochReport:
    """The epoch line's task part: validation nats and bits per character, perplexity and a fixed-seed sample.

    Called by the epoch line before the CSV logger writes the row, so the per-character figures and the learning
    rate it adds to the logs land in history.csv; every sample is appended to samples.txt.
    """

    def __init__(self, model, vocabulary, prime, config, run_dir, validation_tokens, validation_characters):
        self.model, self.vocabulary, self.prime, self.config, self.run_dir = model, vocabulary, prime, config, run_dir
        self.validation_tokens, self.validation_characters = validation_tokens, validation_characters
        self.sampler = None

    def __call__(self, epoch: int, logs: dict) -> str:
        if self.sampler is None:
            # The step model shares the training model's layers, so it always sees the current weights.
            self.sampler = Sampler(self.model, self.vocabulary)
        text = self.sampler.generate(
            self.prime, self.config.sample_length, EPOCH_SAMPLE_TEMPERATURE, None, EPOCH_SAMPLE_SEED
        )
        logs["learning_rate"] = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
        parts = []
        if "val_loss" in logs:
            report = nats_to_report(logs["val_loss"], self.validation_tokens, self.validation_characters)
            logs["val_nats_per_char"] = report["nats_per_char"]
            logs["val_bits_per_char"] = report["bits_per_char"]
            parts.append(f"validation {describe_loss(report, self.vocabulary.level)}")
        parts.append(f"lr {logs['learning_rate']:.2g}")
        path = self.run_dir / SAMPLES_FILE
        previous = path.read_text(encoding="utf-8") if path.is_file() else ""
        header = f"=== epoch {epoch + 1}, temperature {EPOCH_SAMPLE_TEMPERATURE}, seed {EPOCH_SAMPLE_SEED}"
        runs.write_text(path, previous + f"{header}, prime {self.prime!r}\n{self.prime}{text}\n\n")
        return "  ".join(parts) + f"\n    sample: {self.prime + text!r}\n   "


def epoch_prime(data: text_data.LanguageModelData) -> str:
    """The first line start of the validation text: a fixed, in-vocabulary prime for the epoch samples."""
    return data.vocabulary.decode(data.validation_ids[:1])


def run(config: LanguageModelConfig) -> RunResult:
    training.set_seed(config.seed)
    try:
        corpus = text_data.load_corpus(config.data)
        data = text_data.prepare(corpus, config.level, config.seq_len, max_vocab=config.max_vocab)
    except text_data.TextDataError as error:
        raise UsageError(str(error)) from None
    vocabulary = data.vocabulary
    run_dir = runs.run_directory(config)
    validation_windows = data.validation_window_count(config.seq_len)
    validation_batches = math.ceil(validation_windows / config.batch_size)
    if config.validation_steps:
        validation_batches = min(validation_batches, config.validation_steps)
    validation_tokens = min(validation_windows, validation_batches * config.batch_size) * config.seq_len
    validation_characters = (
        validation_tokens
        if config.level == "char"
        else int(data.validation_token_lengths[1 : validation_tokens + 1].sum())
    )
    training_windows = max(1, (len(data.train_ids) - 1) // config.seq_len)
    steps_per_epoch = config.steps_per_epoch or max(1, training_windows // config.batch_size)
    unit = "characters" if config.level == "char" else "tokens"
    print(
        f"data: {corpus.description}: {len(data.train_ids):,} training and {len(data.validation_ids):,} validation "
        f"{unit}, vocabulary {len(vocabulary)}; {config.architecture()}, embedding {config.embedding_dim}, "
        f"windows of {config.seq_len}, {steps_per_epoch} batches of {config.batch_size} per epoch"
    )

    with training.distribution_strategy(config).scope():
        model = build_model(config, len(vocabulary))
        model.compile(
            optimizer=training.optimizer(config),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        )
    run_dir.mkdir(parents=True, exist_ok=True)
    backup = run_dir / training.CHECKPOINTS / "backup"
    if not (backup.is_dir() and any(backup.iterdir())):
        (run_dir / SAMPLES_FILE).unlink(missing_ok=True)
    runs.write_config(run_dir, config)
    runs.write_json(run_dir / VOCABULARY_FILE, vocabulary.to_json())

    prime = epoch_prime(data)
    epoch_report = EpochReport(model, vocabulary, prime, config, run_dir, validation_tokens, validation_characters)
    validation_inputs, validation_targets = data.validation_windows(config.seq_len)
    validation_count = validation_tokens // config.seq_len
    result = training.fit(
        model,
        data.train_windows(config.seq_len, config.batch_size, config.seed),
        (validation_inputs[:validation_count], validation_targets[:validation_count]),
        config,
        run_dir,
        epoch_summary=epoch_report,
        callbacks=training.schedule_callbacks(config),
        steps_per_epoch=steps_per_epoch,
        validation_batch_size=config.batch_size,
    )

    # fit restored the weights of the epoch with the lowest validation loss, so that loss is theirs.
    validation_loss = float(np.nanmin(result.history["val_loss"]))
    report = nats_to_report(validation_loss, validation_tokens, validation_characters)
    print(f"best weights (epoch {_best_epoch(result.history)}): validation {describe_loss(report, config.level)}")
    sampler = epoch_report.sampler or Sampler(model, vocabulary)
    final_length = FINAL_SAMPLE_FACTOR * config.sample_length
    final_sample = prime + sampler.generate(prime, final_length, EPOCH_SAMPLE_TEMPERATURE, None, EPOCH_SAMPLE_SEED)

    runs.save_model(model, run_dir / "model.keras")
    curve = {key: value for key, value in result.history.items() if key in ("epoch", "loss")}
    if "val_loss" in result.history:
        curve["val_loss"] = result.history["val_loss"]
    plots.learning_curve(
        curve, run_dir / "learning_curve.png", title=f"language model: {config.architecture()} (nats/{config.level})"
    )
    images = [("learning_curve.png", "training and validation loss per epoch")]
    if config.level == "char":
        passage = vocabulary.decode(data.validation_ids[: 6 * 60])
        draw_neurons(model, vocabulary, passage, run_dir / "neurons.png", units=None, count=6, layer=None)
        images.append(("neurons.png", "the most variable hidden units of the top layer over a validation passage"))
    runs.write_showcase(
        run_dir,
        texts=[(f"{final_length} tokens sampled at temperature {EPOCH_SAMPLE_TEMPERATURE}", final_sample)],
        images=images,
        links=[(SAMPLES_FILE, "the fixed-seed sample after every epoch")],
        tables=[
            {
                "title": "validation loss (best weights)",
                "columns": ["nats/char", "bits/char", "perplexity"],
                "rows": [
                    [
                        round(report["nats_per_char"], 4),
                        round(report["bits_per_char"], 4),
                        round(report["perplexity"], 3),
                    ]
                ],
            }
        ],
    )
    metrics = runs.write_metrics(
        run_dir,
        primary_name="validation nats/char",
        primary_value=report["nats_per_char"],
        higher_is_better=False,
        parameters=model.count_params(),
        train_seconds=result.seconds,
        validation_bits_per_char=report["bits_per_char"],
        validation_perplexity=report["perplexity"],
        validation_nats_per_token=report["nats_per_token"],
        level=config.level,
        vocabulary_size=len(vocabulary),
        data=corpus.description,
        train_tokens=len(data.train_ids),
        validation_tokens=len(data.validation_ids),
        validation_tokens_scored=validation_tokens,
        epochs=result.epochs,
        best_epoch=_best_epoch(result.history),
        final_sample=final_sample,
    )
    training.finish(run_dir)
    return RunResult(metrics, run_dir)


def _best_epoch(history: dict[str, list[float]]) -> int | None:
    values = history.get("val_loss")
    if not values:
        return None
    return int(np.nanargmin(values)) + 1


# --- verbs ---------------------------------------------------------------------------------------------------------


def load_language_model(run_dir: str) -> tuple[runs.LoadedRun, text_data.Vocabulary]:
    loaded = runs.load_run(run_dir, "language_model")
    path = loaded.path(VOCABULARY_FILE)
    if not path.is_file():
        raise UsageError(f"{loaded.run_dir} has no {VOCABULARY_FILE}; train the run again")
    import json

    vocabulary = text_data.Vocabulary.from_json(json.loads(path.read_text(encoding="utf-8")))
    return loaded, vocabulary


def _unescape(text: str) -> str:
    """Let a shell user write \\n and \\t in --prime and --text."""
    return re.sub(r"\\([nt\\])", lambda match: {"n": "\n", "t": "\t", "\\": "\\"}[match.group(1)], text)


def configure_sample(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--run", required=True, help="run folder of a trained language model")
    parser.add_argument("--prime", default="\\n", help="text to start from; \\n and \\t are understood (default: \\n)")
    parser.add_argument("--length", type=int, default=500, help="tokens to generate (default: 500)")
    parser.add_argument("--temperature", type=float, default=0.8, help="softmax temperature (default: 0.8)")
    parser.add_argument("--top-k", type=int, default=None, help="sample from the k most likely tokens only")
    parser.add_argument("--seed", type=int, default=0, help="random seed: the same seed gives the same text")


def sample_verb(args: argparse.Namespace) -> int:
    if args.length < 1:
        raise UsageError(f"--length must be at least 1, got {args.length}")
    if args.temperature <= 0:
        raise UsageError(f"--temperature must be positive, got {args.temperature}")
    if args.top_k is not None and args.top_k < 1:
        raise UsageError(f"--top-k must be at least 1, got {args.top_k}")
    if args.seed < 0:
        raise UsageError(f"--seed must be at least 0, got {args.seed}")
    loaded, vocabulary = load_language_model(args.run)
    prime = _unescape(args.prime)
    sampler = Sampler(loaded.model, vocabulary)
    text = sampler.generate(prime, args.length, args.temperature, args.top_k, args.seed)
    print(prime + text)
    return 0


def configure_neurons(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--run", required=True, help="run folder of a trained language model")
    parser.add_argument("--text", required=True, help="the passage to read; \\n and \\t are understood")
    parser.add_argument("--units-to-show", default="", help="comma-separated unit numbers (default: most variable)")
    parser.add_argument("--count", type=int, default=6, help="how many of the most variable units (default: 6)")
    parser.add_argument("--layer", type=int, default=None, help="recurrent layer, 0 = bottom (default: the top)")
    parser.add_argument("--width", type=int, default=60, help="characters per row of the picture (default: 60)")
    parser.add_argument("--output", default="", help="PNG path (default: <run>/neurons.png)")


def neurons_verb(args: argparse.Namespace) -> int:
    if args.count < 1:
        raise UsageError(f"--count must be at least 1, got {args.count}")
    if args.width < 1:
        raise UsageError(f"--width must be at least 1, got {args.width}")
    loaded, vocabulary = load_language_model(args.run)
    if vocabulary.level != "char":
        raise UsageError("neurons draws one cell per character; this run was trained with --level word")
    passage = _unescape(args.text)
    units = None
    if args.units_to_show.strip():
        try:
            units = [int(part) for part in args.units_to_show.split(",") if part.strip()]
        except ValueError:
            shown = args.units_to_show
            raise UsageError(f"--units-to-show must be numbers separated by commas, got {shown!r}") from None
    output = Path(args.output) if args.output else loaded.path("neurons.png")
    chosen = draw_neurons(loaded.model, vocabulary, passage, output, units, args.count, args.layer, args.width)
    print(f"units {', '.join(map(str, chosen))} over {len(passage)} characters: {output}")
    return 0


def hidden_states(model: keras.Model, vocabulary: text_data.Vocabulary, passage: str, layer: int | None):
    """h_t of one recurrent layer at every character of the passage, from zero state: (characters, units)."""
    if not passage:
        raise UsageError("--text is empty; give a passage to read")
    if len(passage) > MAX_NEURON_CHARACTERS:
        raise UsageError(f"--text has {len(passage)} characters; give at most {MAX_NEURON_CHARACTERS}")
    tokens = text_data.tokenize(passage, "char")
    missing = vocabulary.unknown(tokens)
    if missing:
        shown = ", ".join(repr(token) for token in missing[:20])
        raise UsageError(f"the text has {len(missing)} character(s) the model never saw: {shown}")
    layer_names = [item.name for item in model.layers if re.fullmatch(r"rnn_\d+", item.name)]
    index = len(layer_names) - 1 if layer is None else layer
    if not 0 <= index < len(layer_names):
        raise UsageError(f"--layer {layer} does not exist; this model has layers 0 to {len(layer_names) - 1}")
    recurrent = model.get_layer(f"rnn_{index}")
    output = recurrent.output
    # Recurrent layers return (sequence, *states); the no-recurrence baseline returns the sequence alone.
    sequence = output[0] if isinstance(output, (list, tuple)) else output
    probe = keras.Model(model.input, sequence)
    ids = vocabulary.encode(tokens)[None]
    return np.asarray(probe(ids, training=False))[0]


def draw_neurons(
    model: keras.Model,
    vocabulary: text_data.Vocabulary,
    passage: str,
    path: Path,
    units: list[int] | None,
    count: int,
    layer: int | None,
    width: int = 60,
) -> list[int]:
    """One panel per unit: the passage in rows of `width` characters, each cell coloured by the unit's activation."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    activations = hidden_states(model, vocabulary, passage, layer)
    total_units = activations.shape[1]
    if units is None:
        units = [int(unit) for unit in np.argsort(-activations.var(axis=0), kind="stable")[: min(count, total_units)]]
    bad = [unit for unit in units if not 0 <= unit < total_units]
    if bad:
        raise UsageError(f"--units-to-show {bad[0]} does not exist; units are 0 to {total_units - 1}")
    rows = math.ceil(len(passage) / width)
    panel_height = 0.28 * rows + 0.45
    figure, axes = plt.subplots(len(units), 1, figsize=(0.16 * width + 1.2, panel_height * len(units)), squeeze=False)
    colormap = plt.get_cmap("coolwarm")
    for axis, unit in zip(axes[:, 0], units):
        values = activations[:, unit]
        # tanh-bounded units keep the fixed range [-1, 1]; only unbounded ones (relu, elu) are scaled down.
        scale = max(float(np.abs(values).max()), 1.0)
        grid = np.full((rows, width), np.nan)
        grid[np.unravel_index(np.arange(len(passage)), (rows, width))] = values / scale
        axis.imshow(grid, cmap=colormap, vmin=-1, vmax=1, aspect="auto", interpolation="nearest")
        for position, char in enumerate(passage):
            row, column = divmod(position, width)
            shown = {"\n": "\u21b5", "\t": "\u2192", " ": "\u00b7"}.get(char, char)
            axis.text(column, row, shown, ha="center", va="center", fontsize=7, family="monospace")
        axis.set_xticks([])
        axis.set_yticks([])
        axis.set_title(f"unit {unit} (range {values.min():+.2f} to {values.max():+.2f})", fontsize=8, loc="left")
    figure.tight_layout()
    runs.save_figure(figure, path, dpi=110)
    return units


APP = App(
    name="language_model",
    layout="many-to-many (aligned) training, one-to-many sampling",
    description="Character-level language model: trains on text, reports nats/char, samples new text.",
    config=LanguageModelConfig,
    legacy_run=run,
    verbs=[
        Verb(
            "sample",
            "generate text from a prime, state carried from character to character",
            configure_sample,
            sample_verb,
        ),
        Verb(
            "neurons",
            "PNG of hidden units' activations over a passage, one coloured cell per character",
            configure_neurons,
            neurons_verb,
        ),
    ],
)
