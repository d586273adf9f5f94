"""The gallery against PyTorch on the same models: training tokens per second and greedy generation speed.

Character language models of one shape on both sides: embedding 64, one recurrent layer of 256 units, dense to a
vocabulary of 96, windows of 100 random tokens, Adam and cross-entropy on the logits. The gallery side is the
language-model stack (models.templates.many_to_many with an RNNSpec) trained with `model.fit` as the app trains
it; the PyTorch side is nn.Embedding, nn.LSTM / nn.GRU / nn.RNN (tanh) and nn.Linear with a plain training step,
at PyTorch's default thread count. Generation writes characters greedily at batch 1 from an LSTM-256 model: the
gallery's compiled decoding loop (models.decoding.greedy) against a Python loop calling nn.LSTM once per
character with its state carried, under no_grad.

Each round times every model, the gallery first and PyTorch next, after warm-up steps that are not timed; a cell
is the median over the rounds with its range, the ratio is gallery / PyTorch of the medians (above 1: the gallery
is faster). The table is printed and the record benchmarks/results/<--record>.json is written.

    pip install -e '.[bench]'                   # PyTorch (CPU), the benchmark's optional extra
    python benchmarks/peer_speed.py             # the full table and its record; about 10 minutes on a 2-core CPU
    python benchmarks/peer_speed.py --quick     # a few tiny steps, a smoke check; no record unless --record is given
"""

from __future__ import annotations

import argparse
import shlex
import statistics
import sys
import time
from functools import partial
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

sys.path.insert(0, str(Path(__file__).resolve().parent))
import records  # noqa: E402
from foundation_speed import (  # noqa: E402
    EMBEDDING,
    UNITS,
    VOCAB,
    WINDOW,
    compiled_and_warm,
    gallery_model,
    random_windows,
    training_tokens_per_second,
    windows_dataset,
)
from generation_speed import torch_step_loop  # noqa: E402

from models.decoding import StepRunner, greedy  # noqa: E402
from models.templates import many_to_many_inference  # noqa: E402

DEFAULT_RECORD = "peer-speed"
WARM_UP_STEPS = 3  # compiled_and_warm's, the same on the PyTorch side
# (record key, label, gallery cell name, batch)
TRAINING_ROWS = (
    ("lstm-64", "LSTM, batch 64", "lstm", 64),
    ("lstm-256", "LSTM, batch 256", "lstm", 256),
    ("gru-64", "GRU, batch 64", "gru", 64),
    ("gru-256", "GRU, batch 256", "gru", 256),
    ("simplernn-64", "SimpleRNN, batch 64", "rnn", 64),
)
GENERATION_KEY, GENERATION_LABEL = "generation-lstm-1", "greedy generation, LSTM-256, batch 1 (characters/s)"


class GalleryTrainer:
    """The gallery's language-model stack for one cell and batch, compiled and warmed up."""

    def __init__(self, cell: str, batch: int):
        keras.utils.set_random_seed(0)
        self.batch = batch
        self.data = windows_dataset(random_windows(batch), batch)
        self.model = compiled_and_warm(gallery_model(cell), self.data)

    def tokens_per_second(self, steps: int) -> float:
        return training_tokens_per_second(self.model, self.data, steps, self.batch)


class TorchTrainer:
    """The same model in PyTorch on the same windows, with a plain training step, warmed up."""

    def __init__(self, cell: str, batch: int):
        import torch

        torch.manual_seed(0)
        self.torch, self.batch = torch, batch
        layer = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn": torch.nn.RNN}[cell]  # nn.RNN: tanh by default
        self.embedding = torch.nn.Embedding(VOCAB, EMBEDDING)
        self.recurrent = layer(EMBEDDING, UNITS, batch_first=True)
        self.output = torch.nn.Linear(UNITS, VOCAB)
        modules = (self.embedding, self.recurrent, self.output)
        self.optimizer = torch.optim.Adam([weight for module in modules for weight in module.parameters()])
        tokens = torch.from_numpy(random_windows(batch)).long()
        self.batches = [(chunk[:, :-1], chunk[:, 1:]) for chunk in tokens.split(batch)]
        self.position = 0
        self.steps(WARM_UP_STEPS)

    def steps(self, count: int) -> None:
        cross_entropy = self.torch.nn.functional.cross_entropy
        for _ in range(count):
            inputs, targets = self.batches[self.position % len(self.batches)]
            self.position += 1
            self.optimizer.zero_grad(set_to_none=True)
            hidden, _ = self.recurrent(self.embedding(inputs))
            loss = cross_entropy(self.output(hidden).reshape(-1, VOCAB), targets.reshape(-1))
            loss.backward()
            self.optimizer.step()
        loss.item()  # the last loss read back, as a training loop reports it

    def tokens_per_second(self, steps: int) -> float:
        start = time.perf_counter()
        self.steps(steps)
        return steps * self.batch * WINDOW / (time.perf_counter() - start)


def gallery_generation(length: int):
    """The gallery's compiled greedy loop from the character 5, traced at this length; returns the timed call."""
    keras.utils.set_random_seed(0)
    runner = StepRunner(many_to_many_inference(gallery_model("lstm")))
    context, states = runner.start(batch_size=1)

    def generate() -> list[int]:
        return greedy(runner, context, states, np.array([5]), None, length).tokens[0]

    generate()
    return generate


def characters_per_second(generate, length: int) -> float:
    start = time.perf_counter()
    generate()
    return length / (time.perf_counter() - start)


def summary(values: list[float]) -> dict:
    return {"median": statistics.median(values), "range": [min(values), max(values)], "rounds": values}


def measure(rounds: int, steps: int, length: int) -> dict:
    """Every row's figures per round, timed in alternation: for each round and each row, the gallery then PyTorch."""
    timers = {}
    for key, label, cell_name, batch in TRAINING_ROWS:
        print(f"building and warming up {label} ...", flush=True)
        gallery, pytorch = GalleryTrainer(cell_name, batch), TorchTrainer(cell_name, batch)
        timers[key] = (partial(gallery.tokens_per_second, steps), partial(pytorch.tokens_per_second, steps))
    print(f"tracing the gallery's greedy loop for {length} characters ...", flush=True)
    torch_generate = torch_step_loop(length, temperature=None)
    torch_generate()
    timers[GENERATION_KEY] = tuple(
        partial(characters_per_second, generate, length) for generate in (gallery_generation(length), torch_generate)
    )
    speeds = {key: ([], []) for key in timers}
    for round_number in range(1, rounds + 1):
        for key, (gallery_timer, torch_timer) in timers.items():
            speeds[key][0].append(gallery_timer())
            speeds[key][1].append(torch_timer())
        print(f"round {round_number} of {rounds} done", flush=True)
    labels = {key: label for key, label, _, _ in TRAINING_ROWS} | {GENERATION_KEY: GENERATION_LABEL}
    rows = {}
    for key, (gallery, pytorch) in speeds.items():
        gallery, pytorch = summary(gallery), summary(pytorch)
        rows[key] = {
            "label": labels[key],
            "unit": "characters/s" if key == GENERATION_KEY else "tokens/s",
            "gallery": gallery,
            "pytorch": pytorch,
            "ratio": gallery["median"] / pytorch["median"],
        }
    return rows


def cell(figures: dict) -> str:
    low, high = figures["range"]
    return f"{figures['median']:,.0f} ({low:,.0f} to {high:,.0f})"


def table(rows: dict) -> str:
    lines = [
        "| model | gallery (Keras/TF) tokens/s | PyTorch tokens/s | ratio |",
        "|---|---|---|---|",
    ]
    for key, row in rows.items():
        pytorch = cell(row["pytorch"]) + (" (a Python loop over nn.LSTM, eager)" if key == GENERATION_KEY else "")
        lines.append(f"| {row['label']} | {cell(row['gallery'])} | {pytorch} | {row['ratio']:.2f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=None, help="interleaved rounds (default 3; quick: 2)")
    parser.add_argument("--steps", type=int, default=None, help="timed training steps a figure (default 20; quick: 2)")
    parser.add_argument("--length", type=int, default=None, help="characters generated (default 1000; quick: 20)")
    parser.add_argument("--quick", action="store_true", help="a few tiny steps, for a smoke check")
    parser.add_argument(
        "--record",
        default=None,
        help=f"write benchmarks/results/RECORD.json (default {DEFAULT_RECORD}; --quick writes none unless given)",
    )
    args = parser.parse_args()
    rounds, steps, length = (2, 2, 20) if args.quick else (3, 20, 1000)
    rounds, steps, length = args.rounds or rounds, args.steps or steps, args.length or length
    record = args.record or (None if args.quick else DEFAULT_RECORD)
    try:
        import torch
    except ImportError:
        print(
            "peer_speed: PyTorch is not installed; install the benchmark extra: pip install -e '.[bench]'",
            file=sys.stderr,
        )
        raise SystemExit(2) from None

    started = time.perf_counter()
    threads = torch.get_num_threads()
    print(
        f"TensorFlow {tf.__version__}, Keras {keras.__version__}, PyTorch {torch.__version__} with {threads} "
        f"threads; {records.machine()['cores']} cores"
    )
    rows = measure(rounds, steps, length)
    print(
        f"\nEmbedding {EMBEDDING}, one recurrent layer of {UNITS}, vocabulary {VOCAB}, windows of {WINDOW}, Adam; "
        f"median (range) of {rounds} interleaved rounds of {steps} training steps, {length} generated characters; "
        f"ratio gallery / PyTorch of the medians:\n"
    )
    print(table(rows))
    if record is None:
        return
    primary = rows["lstm-64"]
    metrics = {
        "primary": {
            "name": "training tokens/s, gallery / PyTorch (LSTM-256, batch 64)",
            "value": round(primary["ratio"], 3),
            "higher_is_better": True,
        },
        "rows": rows,
        "torch": {"version": torch.__version__, "threads": threads},
        "setup": {
            "embedding": EMBEDDING,
            "units": UNITS,
            "vocabulary": VOCAB,
            "window": WINDOW,
            "optimizer": "adam",
            "rounds": rounds,
            "steps": steps,
            "warm_up_steps": WARM_UP_STEPS,
            "generated_characters": length,
        },
    }
    command = shlex.join(["python", "benchmarks/peer_speed.py", *sys.argv[1:]])
    path = records.write_record(record, command=command, metrics=metrics, wall_seconds=time.perf_counter() - started)
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
