"""The language model's verbs on a trained run: `sample` writes text from a prime, `neurons` draws hidden units."""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

from datasets import text as text_data
from gallery import export, runs
from gallery.cli import Verb
from gallery.errors import UsageError
from gallery.language_model.plots import draw_neurons
from gallery.language_model.sampling import Sampler
from gallery.language_model.train import VOCABULARY_FILE
from gallery.trained import TrainedRun


class LanguageModelRun(TrainedRun):
    """A trained language model: `predict(prime, ...)` writes text as the `sample` verb does; `sampler.runner` steps."""

    def __init__(self, loaded: runs.LoadedRun):
        super().__init__(loaded)
        self.vocabulary = text_data.Vocabulary.from_json(loaded.read_json(VOCABULARY_FILE))
        self.sampler = Sampler(self.model, self.vocabulary)

    def predict(
        self, prime: str = "\n", length: int = 500, temperature: float = 0.8, top_k: int | None = None, seed: int = 0
    ) -> str:
        """`length` tokens generated after `prime` (the same seed gives the same text)."""
        return self.sampler.generate(prime, length, temperature, top_k, seed)


def load_language_model(run_dir: str) -> tuple[runs.LoadedRun, text_data.Vocabulary]:
    """A finished language-model run and the vocabulary saved beside its model."""
    loaded = runs.load_run(run_dir, "language_model")
    return loaded, text_data.Vocabulary.from_json(loaded.read_json(VOCABULARY_FILE))


def exportable(run: LanguageModelRun, file_format: str) -> export.Export:
    """Signatures `step` (one token and the states in, next-token logits and the states out; generation starts
    from zero states) and `logits` (a window of tokens in, logits at every position out), with vocabulary.json."""
    import tensorflow as tf

    inference = run.sampler.runner.inference
    state_names = [f"state_{index}" for index in range(inference.state_count)]
    state_specs = [
        tf.TensorSpec([None, width], tf.float32, name) for name, width in zip(state_names, inference.state_widths)
    ]

    def step(token, *states):
        outputs = inference.step([token, *states], training=False)
        return {"logits": outputs[0], **dict(zip(state_names, outputs[1:]))}

    def logits(tokens):
        return {"logits": run.model(tokens, training=False)}

    return export.Export(
        signatures=[
            export.Signature("step", step, [tf.TensorSpec([None, 1], tf.int32, "token"), *state_specs]),
            export.Signature("logits", logits, [tf.TensorSpec([None, None], tf.int32, "tokens")]),
        ],
        tracked=[run.model, inference.step],
        files={VOCABULARY_FILE: json.dumps(run.loaded.read_json(VOCABULARY_FILE), ensure_ascii=False)},
    )


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


def sample_text(args: argparse.Namespace) -> int:
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
    text = Sampler(loaded.model, vocabulary).generate(prime, args.length, args.temperature, args.top_k, args.seed)
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


def neurons(args: argparse.Namespace) -> int:
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


VERBS = [
    Verb(
        "sample",
        "generate text from a prime, state carried from character to character",
        configure_sample,
        sample_text,
    ),
    Verb(
        "neurons",
        "PNG of hidden units' activations over a passage, one coloured cell per character",
        configure_neurons,
        neurons,
    ),
    export.export_verb(exportable, formats=("savedmodel",)),
]
