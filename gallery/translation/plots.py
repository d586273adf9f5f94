"""The translation app's pictures: the decoder's attention over the source, for test sentences of growing length."""

from __future__ import annotations

from pathlib import Path

from gallery import plots
from gallery.translation.decoding import Translator


def attention_heatmaps(translator: Translator, pairs, run_dir: Path, count: int = 3) -> list[tuple[str, str]]:
    """PNG attention maps (target steps x source tokens) for test sources of increasing length."""
    if not translator.runner.inference.has_attention or not pairs:
        return []
    lengths = [len(tokens) for tokens in translator.source.pieces([a for a, _ in pairs])]
    order = sorted(range(len(pairs)), key=lambda i: (lengths[i], i))
    picks = sorted({order[int(q * (len(order) - 1))] for q in (0.5, 0.8, 1.0)})[:count]
    images = []
    for number, index in enumerate(picks, start=1):
        ids, _, _, _ = translator.prepare(pairs[index][0])
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
