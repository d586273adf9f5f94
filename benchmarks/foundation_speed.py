"""What the shared blocks cost: training speed against plain Keras, and generation with carried state.

1. Training tokens per second of the gallery's language-model stack (models.templates.many_to_many) against a
   hand-written `keras.Sequential` of the same architecture (embedding, LSTM, dense), same data, same batch.
   The two are timed in alternation, several rounds, and the median ratio gallery / plain is reported; the
   gallery must cost no more than 5% (ratio >= 0.95).
2. Characters per second when generating 100, 500 and 1000 characters: the gallery's step model with the state
   carried from step to step, against re-feeding the whole prefix at every step (the keras-io text-generation
   example's way).

    python benchmarks/foundation_speed.py            # prints a Markdown table; about 5 minutes on a 2-core CPU
    python benchmarks/foundation_speed.py --quick    # fewer rounds, shorter generation, for a smoke check
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import keras
import numpy as np
import tensorflow as tf

import models  # noqa: F401
from models.decoding import StepRunner, feed, greedy
from models.stacks import RNNSpec
from models.templates import many_to_many, many_to_many_inference

VOCAB, EMBEDDING, UNITS, WINDOW, BATCH = 96, 64, 256, 100, 64


def plain_keras_model() -> keras.Model:
    return keras.Sequential(
        [
            keras.Input(shape=(None,), dtype="int32"),
            keras.layers.Embedding(VOCAB, EMBEDDING),
            keras.layers.LSTM(UNITS, return_sequences=True),
            keras.layers.Dense(VOCAB),
        ]
    )


def gallery_model(cell: str = "lstm") -> keras.Model:
    return many_to_many(RNNSpec(cell, UNITS, 1), VOCAB, vocab_size=VOCAB, embedding_dim=EMBEDDING)


def random_windows(batch: int = BATCH) -> np.ndarray:
    """Eight batches of random token windows, each one longer than WINDOW: inputs and next-token targets."""
    return np.random.default_rng(0).integers(0, VOCAB, (batch * 8, WINDOW + 1))


def windows_dataset(tokens: np.ndarray, batch: int = BATCH) -> tf.data.Dataset:
    return tf.data.Dataset.from_tensor_slices((tokens[:, :-1], tokens[:, 1:])).batch(batch).repeat()


def compiled_and_warm(model: keras.Model, data: tf.data.Dataset) -> keras.Model:
    """Compiled as the language-model app compiles it (Adam, cross-entropy on logits), traced and warmed up."""
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(data, epochs=1, steps_per_epoch=3, verbose=0)
    return model


def training_tokens_per_second(model: keras.Model, data: tf.data.Dataset, steps: int, batch: int = BATCH) -> float:
    start = time.perf_counter()
    model.fit(data, epochs=1, steps_per_epoch=steps, verbose=0)
    return steps * batch * WINDOW / (time.perf_counter() - start)


def compare_training(rounds: int, steps: int) -> dict:
    data = windows_dataset(random_windows())
    built = {}
    for name, builder in (("gallery", gallery_model), ("plain", plain_keras_model)):
        keras.utils.set_random_seed(0)
        built[name] = compiled_and_warm(builder(), data)
    speeds = {"gallery": [], "plain": []}
    for _ in range(rounds):
        for name in ("plain", "gallery"):
            speeds[name].append(training_tokens_per_second(built[name], data, steps))
    ratios = [g / p for g, p in zip(speeds["gallery"], speeds["plain"])]
    return {
        "gallery": statistics.median(speeds["gallery"]),
        "plain": statistics.median(speeds["plain"]),
        "ratio": statistics.median(ratios),
        "params": (built["gallery"].count_params(), built["plain"].count_params()),
    }


def generate_by_refeeding(model: keras.Model, prime: np.ndarray, length: int) -> list[int]:
    """The keras-io way: the whole prefix goes through the model again for every new character."""
    call = tf.function(lambda x: model(x, training=False), reduce_retracing=True)
    sequence = list(prime)
    for _ in range(length):
        logits = np.asarray(call(np.array([sequence])))[0, -1]
        sequence.append(int(logits.argmax()))
    return sequence[len(prime) :]


def generate_with_state(runner: StepRunner, prime: np.ndarray, length: int) -> list[int]:
    context, states = runner.start(batch_size=1)
    _, states = feed(runner, prime[None, :-1], context, states)
    return greedy(runner, context, states, prime[-1:], None, length).tokens[0]


def compare_generation(lengths: list[int]) -> list[dict]:
    keras.utils.set_random_seed(0)
    model = gallery_model()
    runner = StepRunner(many_to_many_inference(model))
    prime = np.array([5, 6, 7, 8])
    generate_with_state(runner, prime, 5)  # trace
    generate_by_refeeding(model, prime, 5)
    rows = []
    for length in lengths:
        start = time.perf_counter()
        carried = generate_with_state(runner, prime, length)
        carried_seconds = time.perf_counter() - start
        start = time.perf_counter()
        refed = generate_by_refeeding(model, prime, length)
        refeed_seconds = time.perf_counter() - start
        rows.append(
            {
                "length": length,
                "carried": length / carried_seconds,
                "refeed": length / refeed_seconds,
                "same_text": carried == refed,
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short smoke run of the benchmark")
    args = parser.parse_args()
    rounds, steps, lengths = (2, 5, [20, 50]) if args.quick else (5, 30, [100, 500, 1000])
    print(
        f"machine: {platform.machine()}, {platform.processor() or 'cpu'}, TensorFlow {tf.__version__}, "
        f"Keras {keras.__version__}, {tf.config.threading.get_inter_op_parallelism_threads() or 'auto'} threads"
    )
    training = compare_training(rounds, steps)
    print(
        f"\nTraining, LSTM-{UNITS}, embedding {EMBEDDING}, vocabulary {VOCAB}, windows of {WINDOW}, batch {BATCH}, "
        f"median of {rounds} alternating rounds of {steps} steps (parameters: gallery {training['params'][0]:,}, "
        f"plain {training['params'][1]:,}):\n"
    )
    print("| model | training tokens/s |\n|---|---|")
    print(f"| plain Keras Sequential | {training['plain']:,.0f} |")
    print(f"| gallery many_to_many | {training['gallery']:,.0f} |")
    print(f"| ratio gallery / plain | {training['ratio']:.3f} |")
    print("\nGeneration (greedy, batch 1):\n")
    print("| characters | carried state, chars/s | re-feeding the prefix, chars/s | speed-up | same text |")
    print("|---|---|---|---|---|")
    for row in compare_generation(lengths):
        print(
            f"| {row['length']} | {row['carried']:,.0f} | {row['refeed']:,.1f} | "
            f"{row['carried'] / row['refeed']:.1f}x | {'yes' if row['same_text'] else 'no'} |"
        )


if __name__ == "__main__":
    main()
