"""Translation scores: sacrebleu BLEU and chrF, exact match, by source length, and the epoch line's exact match."""

from __future__ import annotations

import math
import time

import numpy as np
from sacrebleu.metrics import BLEU, CHRF

from datasets.pairs import Tokenizer
from gallery.translation.decoding import Translator

# force=True: both sides are the standardised text on purpose (punctuation split off, as the model writes it),
# which sacrebleu would otherwise take for forgotten detokenisation and warn about on every evaluation.
_BLEU, _CHRF = BLEU(force=True), CHRF()


def signatures() -> dict[str, str]:
    """sacrebleu's signatures of the BLEU and chrF that `corpus_scores` computes (one reference per sentence), so
    a score can be set beside another computed the same way."""
    _BLEU.corpus_score(["a"], [["a"]])
    _CHRF.corpus_score(["a"], [["a"]])
    return {"bleu": _BLEU.get_signature().format(), "chrf": _CHRF.get_signature().format()}


def corpus_scores(hypotheses: list[str], references: list[str]) -> dict[str, float]:
    """sacrebleu corpus BLEU and chrF, and the fraction of exact matches, on standardised text."""
    if not hypotheses:
        return {"bleu": 0.0, "chrf": 0.0, "exact_match": 0.0, "count": 0}
    return {
        "bleu": float(_BLEU.corpus_score(hypotheses, [references]).score),
        "chrf": float(_CHRF.corpus_score(hypotheses, [references]).score),
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


def references_of(target: Tokenizer, pairs: list[tuple[str, str]]) -> list[str]:
    """The standardised target texts, as the model writes them (the form the scores compare)."""
    joiner = "" if target.level == "char" else " "
    return [joiner.join(tokens) for tokens in target.pieces([b for _, b in pairs])]


def evaluate(translator: Translator, pairs: list[tuple[str, str]], beam: int) -> dict:
    """Greedy (and beam, when beam > 1) scores on `pairs`, with the hypotheses for the samples."""
    rows = translator.source.encode([a for a, _ in pairs])
    references = references_of(translator.target, pairs)
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

    def __init__(self, translator: Translator, pairs: list[tuple[str, str]]):
        self.translator = translator
        self.rows = translator.source.encode([a for a, _ in pairs])
        self.references = references_of(translator.target, pairs)

    def __call__(self, epoch: int, logs: dict) -> str:
        hypotheses = [self.translator.target.join(ids) for ids in self.translator.translate_ids(self.rows)]
        exact = float(np.mean([h == r for h, r in zip(hypotheses, self.references)])) if self.rows else 0.0
        logs["val_exact_match"] = exact
        parts = [f"val exact match {exact:.3f}"]
        if "val_token_accuracy" in logs:
            parts.insert(0, f"val token accuracy {logs['val_token_accuracy']:.3f}")
        return "  ".join(parts)


def markdown_table(rows: list[dict], columns: list[str]) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        cells = [f"{row[c]:.3f}" if isinstance(row[c], float) else str(row[c]) for c in columns]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
