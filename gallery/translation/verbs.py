"""The translate verb: a finished run's model and vocabularies, greedy or beam search, one line in, one line out."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

from datasets.pairs import Tokenizer
from gallery import export, runs
from gallery.cli import Verb
from gallery.errors import UsageError
from gallery.trained import TrainedRun
from gallery.translation.data import VOCABULARY_FILE
from gallery.translation.decoding import Translator
from models.templates import seq2seq_inference


class TranslationRun(TrainedRun):
    """A trained translator: `predict(sentences, beam=1)` translates as the `translate` verb does."""

    def __init__(self, loaded: runs.LoadedRun):
        super().__init__(loaded)
        meta = loaded.read_json(VOCABULARY_FILE)
        source = Tokenizer(meta["source"], meta["level"])
        target = Tokenizer(meta["target"], meta["level"])
        self.translator = Translator(loaded.model, source, target, meta["max_source_length"], meta["max_target_length"])

    def predict(self, sentences: list[str], beam: int = 1) -> list[str]:
        """One translation per sentence (greedy, or beam search of width `beam`); unknown words read as [UNK]."""
        return translate_lines(self.translator, list(sentences), beam, warn=lambda message: None)


def load_translator(run_dir: str | Path) -> tuple[Translator, dict]:
    """The translator of a finished run folder, in a fresh process, and the run's config."""
    trained = TranslationRun(runs.load_run(run_dir, "translation"))
    return trained.translator, trained.config


def exportable(run: TranslationRun, file_format: str) -> export.Export:
    """Signatures `encode` (source ids in: the attention memory, the source ids it masks with, and the decoder's
    first states out) and `decode_step` (one target token, the memory, the source ids and the states in: the next
    token's logits, the new states and, with attention, its weights over the source), with vocabulary.json."""
    import tensorflow as tf

    inference = seq2seq_inference(run.model)
    state_names = [f"state_{index}" for index in range(inference.state_count)]
    state_specs = [
        tf.TensorSpec([None, width], tf.float32, name) for name, width in zip(state_names, inference.state_widths)
    ]
    memory_width = int(inference.step.inputs[1].shape[-1])

    def encode(source):
        memory, source_ids, *states = inference.start(source, training=False)
        return {"memory": memory, "source": source_ids, **dict(zip(state_names, states))}

    def decode_step(token, memory, source, *states):
        outputs = inference.step([token, memory, source, *states], training=False)
        result = {"logits": outputs[0], **dict(zip(state_names, outputs[1 : 1 + len(states)]))}
        if inference.has_attention:
            result["attention"] = outputs[-1]
        return result

    return export.Export(
        signatures=[
            export.Signature("encode", encode, [tf.TensorSpec([None, None], tf.int32, "source")]),
            export.Signature(
                "decode_step",
                decode_step,
                [
                    tf.TensorSpec([None, 1], tf.int32, "token"),
                    tf.TensorSpec([None, None, memory_width], tf.float32, "memory"),
                    tf.TensorSpec([None, None], tf.int32, "source"),
                    *state_specs,
                ],
            ),
        ],
        tracked=[run.model, inference.start, inference.step],
        files={VOCABULARY_FILE: json.dumps(run.loaded.read_json(VOCABULARY_FILE), ensure_ascii=False)},
    )


def translate_lines(
    translator: Translator, lines: list[str], beam: int = 1, warn: Callable[[str], None] | None = None
) -> list[str]:
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


def _configure_translate(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--run", required=True, help="a finished translation run folder")
    parser.add_argument("--beam", type=int, default=1, help="beam width (default 1: greedy)")
    parser.add_argument("text", nargs="*", help="sentences to translate (default: one per line from stdin)")


def _translate(args: argparse.Namespace) -> int:
    if args.beam < 1:
        raise UsageError(f"--beam must be at least 1, got {args.beam}")
    translator, _ = load_translator(args.run)
    lines = list(args.text) if args.text else [line.rstrip("\r\n") for line in sys.stdin]
    for translation in translate_lines(translator, lines, args.beam):
        print(translation)
    return 0


VERBS = [
    Verb("translate", "translate sentences with a trained run", _configure_translate, _translate),
    export.export_verb(exportable, formats=("savedmodel",)),
]
