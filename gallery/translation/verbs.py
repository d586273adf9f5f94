"""The translate verb: a finished run's model and vocabularies, greedy or beam search, one line in, one line out."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from datasets.pairs import Tokenizer
from gallery import runs
from gallery.cli import Verb
from gallery.errors import UsageError
from gallery.translation.data import VOCABULARY_FILE
from gallery.translation.decoding import Translator


def load_translator(run_dir: str | Path) -> tuple[Translator, dict]:
    """The translator of a finished run folder, in a fresh process, and the run's config."""
    loaded = runs.load_run(run_dir, "translation")
    meta = loaded.read_json(VOCABULARY_FILE)
    source = Tokenizer(meta["source"], meta["level"])
    target = Tokenizer(meta["target"], meta["level"])
    translator = Translator(loaded.model, source, target, meta["max_source_length"], meta["max_target_length"])
    return translator, loaded.config


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


VERBS = [Verb("translate", "translate sentences with a trained run", _configure_translate, _translate)]
