"""Test NLL per frame on the literature's polyphonic-music splits, for rnn (tanh), LSTM and GRU at ~300k parameters.

    GALLERY_DATA_DIR=../shared/data python benchmarks/music_polyphonic.py --set jsb_chorales --budget 600
    GALLERY_DATA_DIR=../shared/data python benchmarks/music_polyphonic.py --set nottingham --cells gru

Each cell trains through `gallery.music.APP.run` (the `full` preset unless flags change it) with its width chosen
so the model has about 300k parameters, as in Bai et al. 2018, and the script prints a Markdown table beside the
published figures. Runs go to runs/music/bench-<set>-<cell>; a killed benchmark resumes where it stopped.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
from pathlib import Path

from gallery.music import APP
from gallery.music.config import MusicConfig

# Width of each cell for about 300k parameters with 88 inputs and 88 sigmoid outputs.
UNITS_300K = {"rnn": 470, "lstm": 220, "gru": 256}
PUBLISHED = {
    "jsb_chorales": {
        "rnn": "8.91 (Bai)",
        "lstm": "8.45 (Bai), 8.67 (Chung)",
        "gru": "8.43 (Bai), 8.54 (Chung)",
        "TCN": "8.10 (Bai)",
    },
    "nottingham": {"lstm": "3.29 (Bai)", "gru": "3.46 (Bai)", "TCN": "3.07 (Bai)"},
    "piano_midi": {},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", default="jsb_chorales", choices=tuple(PUBLISHED))
    parser.add_argument("--cells", nargs="+", default=["rnn", "lstm", "gru"], choices=tuple(UNITS_300K))
    parser.add_argument("--budget", type=float, default=0.0, help="training seconds per cell (0 = no limit)")
    parser.add_argument("--epochs", type=int, default=300)
    parser.add_argument("--dropout", type=float, default=0.5)
    parser.add_argument("--transpose", type=int, default=3, help="random transposition of training pieces")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--learning-rate", type=float, default=2e-3)
    args = parser.parse_args()
    root = os.environ.get("GALLERY_DATA_DIR")
    if not root:
        raise SystemExit("set GALLERY_DATA_DIR to the folder holding jsb_chorales/, nottingham/, piano_midi/")
    rows = []
    for cell in args.cells:
        config = MusicConfig.from_preset(
            "full",
            data=str(Path(root) / args.set),
            cell=cell,
            units=UNITS_300K[cell],
            epochs=args.epochs,
            dropout=args.dropout,
            transpose=args.transpose,
            batch_size=args.batch_size,
            learning_rate=args.learning_rate,
            budget_seconds=args.budget,
            samples=1,
            out=f"runs/music/bench-{args.set}-{cell}",
        )
        metrics = APP.run(config).metrics
        rows.append((cell, metrics))
        print(json.dumps({"cell": cell, **{k: metrics[k] for k in ("test_nll_per_frame", "epochs", "train_seconds")}}))
    print(f"\n{args.set}, test split; {platform.machine()} with {os.cpu_count()} CPUs; budget {args.budget:.0f}s/cell")
    print("| cell | parameters | epochs | train s | test NLL/frame | test frame acc. | published |")
    print("|---|---|---|---|---|---|---|")
    for cell, m in rows:
        print(
            f"| {cell} | {m['parameters']:,} | {m['epochs']} | {m['train_seconds']:.0f} | "
            f"{m['test_nll_per_frame']:.3f} | {m['test_frame_accuracy']:.3f} | {PUBLISHED[args.set].get(cell, '-')} |"
        )


if __name__ == "__main__":
    main()
