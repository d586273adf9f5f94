"""Sequence-to-sequence translation: an encoder reads the whole source, a decoder writes the target, with attention.

Layout: many-to-many, unaligned (encoder-decoder). The encoder (any cell, optionally bidirectional) reads the
source tokens; the decoder, started from the encoder's final states, writes the target one token at a time,
trained with teacher forcing; `--attention additive` (Bahdanau) or `dot` (Luong) lets every decoder step look at
every source position. Decoding is greedy or beam search (`--beam N`) on a step model that carries the states.

Data: by default, offline, integers up to a million written in words by num2words, English to Spanish
("three hundred and forty-two" -> "trescientos cuarenta y dos"), split by number so that no test number is seen in
training; `--pair en-fr` etc. for other languages. `--data PATH` reads tab-separated sentence pairs (Anki/Tatoeba:
source, tab, target, optional attribution), `--reverse` swaps the direction; `--data tfds:ted_hrlr_translate/pt_to_en`
reads a TensorFlow Datasets source. Word-level tokens by default, `--level char` for characters.

    python -m gallery.translation                                   # numbers en -> es, attention, a few minutes
    python -m gallery.translation translate --run runs/translation/lstm-1x128-demo "forty two"
    python -m gallery.translation --data ../shared/data/spa_eng/spa.txt --reverse --preset full   # Spanish -> English

Expected: the demo preset translates 99.9% of held-out numbers exactly (measured: 1,599 of 1,600, BLEU 99.99; see
README.md), and the full preset on spa-eng Spanish -> English reaches BLEU 48.7 greedy, 50.6 with beam 4 on the
held-out pairs; the run folder holds BLEU, chrF and exact match (greedy and beam), attention heatmaps, sample
translations and a table of scores by source length.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
import sacrebleu

from datasets import pairs as pairdata
from datasets.batches import ArrayBatches
from datasets.pairs import END, START, PairSplits, Tokenizer, detokenize
from gallery import plots, runs, training
from gallery.cli import App, RunResult, Verb
from gallery.config import RunConfig, option, override
from gallery.errors import UsageError
from models.attention import ATTENTION_MODES
from models.decoding import StepRunner, beam_search, greedy
from models.templates import seq2seq, seq2seq_inference

VOCABULARY_FILE = "vocabulary.json"
EVALUATION_CHUNK = 256
SOURCE_PADDING = 8


@dataclass
class TranslationConfig(RunConfig):
    """Encoder-decoder translation; the defaults are the demo preset on number words, English to Spanish."""

    APP = "translation"
    PRESETS = {
        "smoke": {
            "numbers": 400,
            "units": 16,
            "embedding_dim": 16,
            "epochs": 2,
            "batch_size": 32,
            "beam": 2,
            "max_pairs": 300,
        },
        "demo": {},
        "full": {
            "numbers": 100000,
            "units": 256,
            "embedding_dim": 256,
            "bidirectional": True,
            "epochs": 40,
            "patience": 4,
        },
    }

    data: str = option("numbers", "numbers (num2words words, offline), a tab-separated pairs file, or tfds:NAME")
    attention: str = option("additive", "additive (Bahdanau), dot (Luong) or none", choices=ATTENTION_MODES)
    pair: str = option("en-es", "number words: source-target languages of num2words (en-es, en-fr, fr-de, ...)")
    numbers: int = option(16000, "number words: how many distinct integers 0..1,000,000 to draw", minimum=30)
    level: str = option("word", "tokens: words (punctuation split off) or characters", choices=pairdata.LEVELS)
    reverse: bool = option(False, "swap source and target (e.g. spa.txt is English<TAB>Spanish)")
    max_words: int = option(10, "sentence pairs: keep pairs with at most this many words a side", minimum=1)
    max_pairs: int = option(0, "sentence pairs: use at most this many training pairs (0 = all)", minimum=0)
    max_vocabulary: int = option(20000, "most frequent tokens kept per language; the rest become [UNK]", minimum=8)
    embedding_dim: int = option(64, "token embedding width", minimum=1)
    beam: int = option(4, "beam width of the beam-search figures (1 = greedy only)", minimum=1)
    epochs: int = override("epochs", 8)
    batch_size: int = override("batch_size", 128)
    learning_rate: float = override("learning_rate", 2e-3)
    patience: int = override("patience", 3)

    def validate(self) -> None:
        super().validate()
        if self.data == "numbers":
            try:
                pairdata.parse_pair(self.pair)
            except ValueError as error:
                raise UsageError(f"--pair: {error}") from None
        elif not self.data.startswith("tfds:") and not Path(self.data).is_file():
            raise UsageError(
                f"--data {self.data!r} is not a file; give a tab-separated pairs file, tfds:NAME, or numbers"
            )


# --- data --------------------------------------------------------------------------------------------------------


def load_pairs(config: TranslationConfig) -> PairSplits:
    """The pairs the config names, as train / validation / test."""
    try:
        if config.data == "numbers":
            source, target = pairdata.parse_pair(config.pair)
            if config.reverse:
                source, target = target, source
            return pairdata.number_pairs(source, target, count=config.numbers)
        if config.data.startswith("tfds:"):
            name = config.data.removeprefix("tfds:")
            return pairdata.tfds_pairs(
                name, reverse=config.reverse, max_words=config.max_words, max_pairs=config.max_pairs
            )
        return pairdata.tsv_pairs(
            config.data, reverse=config.reverse, max_words=config.max_words, max_pairs=config.max_pairs
        )
    except (ValueError, FileNotFoundError, UnicodeDecodeError) as error:
        raise UsageError(f"--data {config.data}: {error}") from None


@dataclass
class Encoded:
    """Padded id arrays of one split: source, decoder input ([start] + target), decoder target (target + [end])."""

    source: np.ndarray
    target_in: np.ndarray
    target_out: np.ndarray

    def batches(self, batch_size: int, shuffle_seed: int | None = None) -> ArrayBatches:
        weights = (self.target_out != 0).astype(np.float32)
        inputs = {"source": self.source, "target_in": self.target_in}
        # Bucketed by length: most sentences are far shorter than the longest, and every padded column would cost
        # a recurrent step on both sides (spa-eng: 6.8 tokens on average, padded to 18).
        lengths = np.maximum((self.source != 0).sum(axis=1), (self.target_out != 0).sum(axis=1))
        return ArrayBatches(
            inputs, self.target_out, weights, batch_size=batch_size, shuffle=shuffle_seed is not None,
            seed=shuffle_seed or 0, lengths=lengths,
        )  # fmt: skip


def encode_pairs(pairs: list[tuple[str, str]], source: Tokenizer, target: Tokenizer) -> Encoded:
    source_ids = source.encode([a for a, _ in pairs])
    target_ids = target.encode([b for _, b in pairs])
    return Encoded(
        pairdata.pad(source_ids),
        pairdata.pad([[START, *row] for row in target_ids]),
        pairdata.pad([[*row, END] for row in target_ids]),
    )


# --- model and decoding ------------------------------------------------------------------------------------------


def build_model(config: TranslationConfig, source_vocab: int, target_vocab: int) -> keras.Model:
    spec = config.rnn_spec()
    return seq2seq(
        spec, source_vocab, target_vocab, embedding_dim=config.embedding_dim, attention=config.attention,
        name="translation",
    )  # fmt: skip


def initialise_output_bias(model: keras.Model, target_out: np.ndarray) -> np.ndarray:
    """Start the output bias at the log-frequency of each target token in the training targets.

    An untrained decoder then predicts the unigram distribution instead of a uniform one over the vocabulary. From
    the uniform start, with the 11,794 English words of spa-eng, the model with attention sat at predicting
    `[end]` everywhere (token accuracy 0.13) for a whole epoch; from the unigram start it reaches 0.46 in 250 steps
    (gallery/translation/README.md).
    """
    output = model.get_layer("output")
    kernel, _ = output.get_weights()
    # Add-one smoothing keeps tokens absent from the targets ([start], padding) at a finite, very low bias.
    counts = np.bincount(target_out[target_out != 0].ravel(), minlength=kernel.shape[1]).astype(np.float64) + 1.0
    bias = np.log(counts / counts.sum()).astype(np.float32)
    output.set_weights([kernel, bias])
    return bias


def compile_model(model: keras.Model, config: TranslationConfig) -> None:
    model.compile(
        optimizer=training.optimizer(config),
        # The mean over the real target tokens, so a batch's loss does not depend on how far it is padded (batches
        # are bucketed by length, and padded to the longest in each).
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction="mean_with_sample_weight"),
        weighted_metrics=[keras.metrics.SparseCategoricalAccuracy(name="token_accuracy")],
    )


class Translator:
    """A trained model with its tokenizers: text in, text out, greedy or beam search, with the attention maps."""

    def __init__(self, model: keras.Model, source: Tokenizer, target: Tokenizer, max_source: int, max_target: int):
        self.model, self.source, self.target = model, source, target
        self.max_source, self.max_target = max_source, max_target
        self.runner = StepRunner(seq2seq_inference(model))

    def decode_ids(self, source_rows: list[list[int]], beam: int = 1) -> tuple[list[list[int]], list | None]:
        """Target ids per source row; greedy (beam 1) also returns each row's attention map (steps x source)."""
        if not source_rows:
            return [], None
        # Padded (masked, so it changes nothing) to a multiple of 8: a few shapes for compiled backends to trace.
        longest = max(len(row) for row in source_rows)
        padded = pairdata.pad(source_rows, -(-max(longest, 1) // SOURCE_PADDING) * SOURCE_PADDING)
        context, states = self.runner.start(padded)
        starts = np.full(len(source_rows), START, np.int32)
        limit = self.max_target + 5
        if beam > 1:
            decoded = beam_search(self.runner, context, states, starts, END, limit, beam_width=beam)
            return decoded.tokens, None
        decoded = greedy(self.runner, context, states, starts, END, limit)
        maps = None
        if decoded.attention is not None:
            maps = [matrix[:, : len(row)] for matrix, row in zip(decoded.attention, source_rows)]
        return decoded.tokens, maps

    def translate_ids(self, source_rows: list[list[int]], beam: int = 1) -> list[list[int]]:
        """Many rows, in chunks of similar length (less padding), results in the order given."""
        order = sorted(range(len(source_rows)), key=lambda i: len(source_rows[i]))
        results: list[list[int]] = [[] for _ in source_rows]
        for begin in range(0, len(order), EVALUATION_CHUNK):
            chunk = order[begin : begin + EVALUATION_CHUNK]
            rows = [source_rows[i] for i in chunk]
            # An empty source has nothing to attend to; its translation is empty too.
            present = [k for k, row in enumerate(rows) if row]
            decoded, _ = self.decode_ids([rows[k] for k in present], beam)
            for k, tokens in zip(present, decoded):
                results[chunk[k]] = tokens
        return results

    def prepare(self, text: str) -> tuple[list[int], list[str], list[str], bool]:
        """(ids, tokens, unknown tokens, truncated) of one input text, cut to the longest source seen in training."""
        tokens = self.source.pieces([text])[0]
        unknown = [token for token in tokens if token not in self.source.index]
        ids = self.source.encode([text])[0]
        truncated = len(ids) > self.max_source
        if truncated:
            ids, tokens = ids[: self.max_source], tokens[: self.max_source]
        return ids, tokens, unknown, truncated

    def readable(self, ids: list[int]) -> str:
        text = self.target.join(ids)
        return detokenize(text) if self.target.level == "word" else text


# --- evaluation --------------------------------------------------------------------------------------------------


def corpus_scores(hypotheses: list[str], references: list[str]) -> dict[str, float]:
    """sacrebleu corpus BLEU and chrF, and the fraction of exact matches, on standardised text."""
    if not hypotheses:
        return {"bleu": 0.0, "chrf": 0.0, "exact_match": 0.0, "count": 0}
    # force=True: both sides are the standardised text on purpose (punctuation split off, as the model writes it),
    # which sacrebleu would otherwise take for forgotten detokenisation and warn about on every evaluation.
    return {
        "bleu": float(sacrebleu.corpus_bleu(hypotheses, [references], force=True).score),
        "chrf": float(sacrebleu.corpus_chrf(hypotheses, [references]).score),
        "exact_match": float(np.mean([h == r for h, r in zip(hypotheses, references)])),
        "count": len(hypotheses),
    }


def length_buckets(lengths: list[int], count: int = 5) -> list[tuple[int, int]]:
    """`count` equal-width ranges of source length covering 1..max."""
    longest = max(lengths, default=1)
    width = max(1, math.ceil(longest / count))
    return [(low, low + width - 1) for low in range(1, longest + 1, width)]


def by_source_length(lengths: list[int], hypotheses: list[str], references: list[str]) -> list[dict]:
    """BLEU and exact match per source-length range: where attention helps, long sources show it."""
    rows = []
    for low, high in length_buckets(lengths):
        chosen = [i for i, length in enumerate(lengths) if low <= length <= high]
        if not chosen:
            continue
        scores = corpus_scores([hypotheses[i] for i in chosen], [references[i] for i in chosen])
        rows.append({"source_tokens": f"{low}-{high}", **scores})
    return rows


def evaluate(translator: Translator, pairs: list[tuple[str, str]], beam: int) -> dict:
    """Greedy (and beam, when beam > 1) scores on `pairs`, with the hypotheses for the samples."""
    sources = [a for a, _ in pairs]
    rows = translator.source.encode(sources)
    joiner = "" if translator.target.level == "char" else " "
    references = [joiner.join(tokens) for tokens in translator.target.pieces([b for _, b in pairs])]
    result = {"references": references}
    modes = {"greedy": 1, "beam": beam} if beam > 1 else {"greedy": 1}
    for mode, width in modes.items():
        started = time.perf_counter()
        hypotheses = [translator.target.join(ids) for ids in translator.translate_ids(rows, width)]
        result[mode] = {
            "hypotheses": hypotheses,
            "scores": corpus_scores(hypotheses, references),
            "seconds": time.perf_counter() - started,
        }
    result["lengths"] = [len(row) for row in rows]
    result["by_source_length"] = by_source_length(result["lengths"], result["greedy"]["hypotheses"], references)
    return result


class ValidationExactMatch:
    """The epoch line's task metric: greedy-decodes a few hundred validation sources, logs `val_exact_match`.

    It runs inside the epoch summary (not as a callback) so the value is in the logs before the CSV row is written,
    whatever order the training loop gives its callbacks.
    """

    def __init__(self, model, pairs, source: Tokenizer, target: Tokenizer, max_source: int, max_target: int):
        # The step model shares the training model's layers, so it always decodes with the current weights.
        self.translator = Translator(model, source, target, max_source, max_target)
        self.rows = source.encode([a for a, _ in pairs])
        joiner = "" if target.level == "char" else " "
        self.references = [joiner.join(tokens) for tokens in target.pieces([b for _, b in pairs])]

    def __call__(self, epoch: int, logs: dict) -> str:
        hypotheses = [self.translator.target.join(ids) for ids in self.translator.translate_ids(self.rows)]
        exact = float(np.mean([h == r for h, r in zip(hypotheses, self.references)])) if self.rows else 0.0
        logs["val_exact_match"] = exact
        parts = [f"val exact match {exact:.3f}"]
        if "val_token_accuracy" in logs:
            parts.insert(0, f"val token accuracy {logs['val_token_accuracy']:.3f}")
        return "  ".join(parts)


def attention_heatmaps(translator: Translator, pairs, run_dir: Path, count: int = 3) -> list[tuple[str, str]]:
    """PNG attention maps (target steps x source tokens) for test sources of increasing length."""
    if not translator.runner.inference.has_attention or not pairs:
        return []
    lengths = [len(tokens) for tokens in translator.source.pieces([a for a, _ in pairs])]
    order = sorted(range(len(pairs)), key=lambda i: (lengths[i], i))
    picks = sorted({order[int(q * (len(order) - 1))] for q in (0.5, 0.8, 1.0)})[:count]
    images = []
    for number, index in enumerate(picks, start=1):
        ids, tokens, _, _ = translator.prepare(pairs[index][0])
        if not ids:
            continue
        decoded, maps = translator.decode_ids([ids])
        output_tokens = translator.target.tokens(decoded[0]) + ["[end]"]
        matrix = maps[0][: len(output_tokens)]
        name = f"attention_{number}.png"
        plots.heatmap(
            matrix,
            run_dir / name,
            row_labels=output_tokens[: len(matrix)],
            column_labels=translator.source.tokens(ids),
            title=f"reference: {pairs[index][1]}"[:80],
            xlabel="source",
            ylabel="output",
        )
        images.append((name, f"attention of the decoder over {pairs[index][0]!r}"))
    return images


def _markdown_table(rows: list[dict], columns: list[str]) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        cells = [f"{row[c]:.3f}" if isinstance(row[c], float) else str(row[c]) for c in columns]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


# --- run ---------------------------------------------------------------------------------------------------------


def run(config: TranslationConfig) -> RunResult:
    training.set_seed(config.seed)
    run_dir = runs.run_directory(config)
    data = load_pairs(config)
    if config.max_pairs:
        data.train = data.train[: config.max_pairs]
    print(
        f"data: {data.description}; {len(data.train)} train, {len(data.validation)} validation, "
        f"{len(data.test)} test pairs" + (f"; {data.skipped} malformed lines skipped" if data.skipped else "")
    )
    source = Tokenizer.fit([a for a, _ in data.train], config.level, config.max_vocabulary)
    target = Tokenizer.fit([b for _, b in data.train], config.level, config.max_vocabulary)
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
    summary = ValidationExactMatch(model, data.validation[:256], source, target, max_source, max_target)
    result = training.fit(
        model,
        train.batches(config.batch_size, shuffle_seed=config.seed),
        validation.batches(config.batch_size),
        config,
        run_dir,
        epoch_summary=summary,
    )

    translator = summary.translator
    evaluation = evaluate(translator, data.test, config.beam)
    greedy_scores = evaluation["greedy"]["scores"]
    beam_scores = evaluation.get("beam", {}).get("scores")
    headline = (
        f"test ({len(data.test)} pairs), greedy: BLEU {greedy_scores['bleu']:.2f}, chrF {greedy_scores['chrf']:.2f},"
        f" exact match {greedy_scores['exact_match']:.4f}"
    )
    if beam_scores:
        headline += (
            f"; beam {config.beam}: BLEU {beam_scores['bleu']:.2f}, chrF {beam_scores['chrf']:.2f}, "
            f"exact match {beam_scores['exact_match']:.4f}"
        )
    print(headline)

    runs.write_config(run_dir, config)
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
    runs.save_model(model, run_dir / "model.keras")
    plots.learning_curve(
        {key: value for key, value in result.history.items() if key != "val_exact_match"},
        run_dir / "learning_curve.png",
        title=f"translation: {config.architecture()}, attention {config.attention}",
    )
    images = [("learning_curve.png", "loss and token accuracy per epoch")]
    images += attention_heatmaps(translator, data.test, run_dir)

    sample_lines, sample_rows = [], []
    for i, (text, reference) in enumerate(data.test[:20]):
        hypothesis = evaluation["greedy"]["hypotheses"][i]
        mark = "ok" if hypothesis == evaluation["references"][i] else "differs"
        sample_lines.append(f"source:    {text}\nreference: {reference}\ngreedy:    {hypothesis}  ({mark})")
        row = [text, reference, hypothesis]
        if "beam" in evaluation:
            row.append(evaluation["beam"]["hypotheses"][i])
        sample_rows.append(row)
    runs.write_text(run_dir / "samples.txt", "\n\n".join(sample_lines) + "\n")
    length_columns = ["source_tokens", "count", "exact_match", "bleu", "chrf"]
    runs.write_text(
        run_dir / "by_source_length.md",
        f"attention {config.attention}, greedy, test split\n\n"
        + _markdown_table(evaluation["by_source_length"], length_columns)
        + "\n",
    )
    runs.write_showcase(
        run_dir,
        texts=[("test translations", headline)],
        images=images,
        tables=[
            {
                "title": "test translations (first 20)",
                "columns": ["source", "reference", "greedy"] + (["beam"] if "beam" in evaluation else []),
                "rows": sample_rows,
            },
            {
                "title": "greedy scores by source length",
                "columns": length_columns,
                "rows": [[row[c] for c in length_columns] for row in evaluation["by_source_length"]],
            },
        ],
    )
    decoding = {"greedy": {**greedy_scores, "seconds": evaluation["greedy"]["seconds"]}}
    if beam_scores:
        decoding[f"beam_{config.beam}"] = {**beam_scores, "seconds": evaluation["beam"]["seconds"]}
    metrics = runs.write_metrics(
        run_dir,
        primary_name="test BLEU (greedy)",
        primary_value=greedy_scores["bleu"],
        higher_is_better=True,
        parameters=model.count_params(),
        train_seconds=result.seconds,
        test_bleu=greedy_scores["bleu"],
        test_chrf=greedy_scores["chrf"],
        test_exact_match=greedy_scores["exact_match"],
        decoding=decoding,
        by_source_length=evaluation["by_source_length"],
        data=data.description,
        pairs={"train": len(data.train), "validation": len(data.validation), "test": len(data.test)},
        skipped_lines=data.skipped,
        vocabulary={"source": len(source), "target": len(target), "level": config.level},
        epochs=result.epochs,
        best_val_loss=min(result.history.get("val_loss", [math.nan])),
    )
    training.finish(run_dir)
    return RunResult(metrics, run_dir)


# --- translate verb ----------------------------------------------------------------------------------------------


def load_translator(run_dir: str | Path) -> tuple[Translator, dict]:
    """The translator of a finished run folder, in a fresh process."""
    loaded = runs.load_run(run_dir, "translation")
    path = loaded.path(VOCABULARY_FILE)
    if not path.is_file():
        raise UsageError(f"{loaded.run_dir} has no {VOCABULARY_FILE}; train the run again")
    import json

    meta = json.loads(path.read_text(encoding="utf-8"))
    source = Tokenizer(meta["source"], meta["level"])
    target = Tokenizer(meta["target"], meta["level"])
    translator = Translator(loaded.model, source, target, meta["max_source_length"], meta["max_target_length"])
    return translator, loaded.config


def _configure_translate(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--run", required=True, help="a finished translation run folder")
    parser.add_argument("--beam", type=int, default=1, help="beam width (default 1: greedy)")
    parser.add_argument("text", nargs="*", help="sentences to translate (default: one per line from stdin)")


def translate_lines(translator: Translator, lines: list[str], beam: int = 1, warn=None) -> list[str]:
    """Translations of `lines`, one each; an empty line gives an empty translation. Warnings go to `warn`."""
    warn = warn or (lambda message: print(message, file=sys.stderr))
    rows = []
    for number, line in enumerate(lines, start=1):
        ids, _, unknown, truncated = translator.prepare(line)
        if unknown:
            warn(f"line {number}: unknown to the model, read as [UNK]: {' '.join(dict.fromkeys(unknown))}")
        if truncated:
            warn(
                f"line {number}: longer than the longest source seen in training; "
                f"truncated to its first {translator.max_source} tokens"
            )
        rows.append(ids)
    return [translator.readable(ids) for ids in translator.translate_ids(rows, beam)]


def _translate(args: argparse.Namespace) -> int:
    if args.beam < 1:
        raise UsageError(f"--beam must be at least 1, got {args.beam}")
    translator, _ = load_translator(args.run)
    lines = list(args.text) if args.text else [line.rstrip("\r\n") for line in sys.stdin]
    for translation in translate_lines(translator, lines, args.beam):
        print(translation)
    return 0


APP = App(
    name="translation",
    layout="many-to-many (unaligned, seq2seq)",
    description="Encoder-decoder translation with attention: number words (en -> es) or sentence pairs.",
    config=TranslationConfig,
    legacy_run=run,
    verbs=[Verb("translate", "translate sentences with a trained run", _configure_translate, _translate)],
)
