"""Generation speed: the compiled decoding loop against one Python call per token, and beam search against greedy.

1. Batch-1 character generation with an LSTM-256 language model (vocabulary 96, embedding 64, random weights):
   characters per second of sampling (temperature 0.8) with one step-model call per token from Python (the
   stepwise loop) and with the whole generation as one compiled loop, at two lengths, so the cost per token can
   be seen to stay flat; the two loops must write the same characters for the same seed. Where PyTorch is
   installed, its eager step loop (`nn.LSTM` called once per character) is timed in the same run.
2. Beam 4 against greedy on the same sentences with the translation app's full-preset architecture (bidirectional
   LSTM-256 encoder, additive attention, an 11,794-word target vocabulary, random weights): seconds for each,
   compiled and stepwise, batches of 256 like the app's.

    python benchmarks/generation_speed.py              # a few minutes on a 2-core CPU
    python benchmarks/generation_speed.py --quick      # shorter, for a smoke check

Compilation happens once per shape and is reported apart from the timed runs (best of --repeats).
"""

from __future__ import annotations

import argparse
import platform
import time

import keras
import numpy as np

import models  # noqa: F401
from models.decoding import (
    StepRunner,
    beam_search,
    beam_search_stepwise,
    greedy,
    greedy_stepwise,
    sample,
    sample_stepwise,
)
from models.stacks import RNNSpec
from models.templates import many_to_many, many_to_many_inference, seq2seq, seq2seq_inference

VOCAB, EMBEDDING, UNITS = 96, 64, 256


def best_seconds(function, repeats: int) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeats):
        started = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - started)
    return best, result


def character_generation(lengths: list[int], repeats: int) -> None:
    keras.utils.set_random_seed(0)
    model = many_to_many(RNNSpec("lstm", UNITS, 1), VOCAB, vocab_size=VOCAB, embedding_dim=EMBEDDING)
    runner = StepRunner(many_to_many_inference(model))
    context, states = runner.start(batch_size=1)
    start = np.array([5])

    def stepwise(length):
        return sample_stepwise(runner, context, states, start, length, temperature=0.8, seed=1).tokens[0]

    def compiled(length):
        return sample(runner, context, states, start, length, temperature=0.8, seed=1).tokens[0]

    stepwise(5)
    print(f"\nCharacter generation, LSTM-{UNITS}, batch 1, temperature 0.8 (best of {repeats}):\n")
    print("| loop | characters | seconds | characters/s | microseconds a character |")
    print("|---|---|---|---|---|")
    same = True
    for length in lengths:
        started = time.perf_counter()
        compiled(length)
        compile_seconds = time.perf_counter() - started
        seconds, ours = best_seconds(lambda length=length: compiled(length), repeats)
        print(
            f"| compiled loop (first call, compiling: {compile_seconds:.2f} s) | {length} | {seconds:.3f} | "
            f"{length / seconds:,.0f} | {1e6 * seconds / length:.0f} |"
        )
        step_length = min(length, lengths[0])
        step_seconds, theirs = best_seconds(lambda length=step_length: stepwise(length), 1)
        print(
            f"| stepwise, one Python call a token | {step_length} | {step_seconds:.3f} | "
            f"{step_length / step_seconds:,.0f} | {1e6 * step_seconds / step_length:.0f} |"
        )
        same &= ours[:step_length] == theirs
    print(f"\nsame characters from both loops for the same seed: {same}")
    torch_generation(lengths[0], repeats)


def torch_step_loop(length: int, temperature: float | None = 0.8):
    """PyTorch's eager generation: `nn.LSTM` called once per character with its state carried, under no_grad.

    The language model has the shapes of the gallery's (embedding, LSTM, dense to the vocabulary) and random
    weights. Returns a function that writes `length` characters from the character 5 and returns them: sampled at
    `temperature`, or the most likely one at each step when it is None. Raises ImportError without PyTorch.
    """
    import torch

    torch.manual_seed(0)
    embedding, lstm = torch.nn.Embedding(VOCAB, EMBEDDING), torch.nn.LSTM(EMBEDDING, UNITS, batch_first=True)
    output = torch.nn.Linear(UNITS, VOCAB)

    def generate() -> list[int]:
        token, state, generator = torch.tensor([[5]]), None, torch.Generator().manual_seed(1)
        written = []
        with torch.no_grad():
            for _ in range(length):
                hidden, state = lstm(embedding(token), state)
                logits = output(hidden[:, -1])
                if temperature is None:
                    token = logits.argmax(dim=-1, keepdim=True)
                else:
                    token = torch.multinomial(torch.softmax(logits / temperature, dim=-1), 1, generator=generator)
                written.append(int(token))
        return written

    return generate


def torch_generation(length: int, repeats: int) -> None:
    try:
        import torch

        generate = torch_step_loop(length)
    except ImportError:
        print("PyTorch is not installed: its eager step loop is not timed")
        return
    generate()
    seconds, _ = best_seconds(generate, repeats)
    print(f"PyTorch {torch.__version__} eager step loop: {length} characters, {length / seconds:,.0f} characters/s")


def beam_against_greedy(sentences: int, max_length: int, repeats: int, stepwise_too: bool) -> None:
    keras.utils.set_random_seed(0)
    target_vocabulary = 11794
    spec = RNNSpec("lstm", 256, 1, bidirectional=True)
    model = seq2seq(spec, 20000, target_vocabulary, embedding_dim=256, attention="additive")
    runner = StepRunner(seq2seq_inference(model))
    rng = np.random.default_rng(0)
    lengths = rng.integers(3, 11, sentences)
    sources = np.zeros((sentences, 16), np.int32)
    for row, length in enumerate(lengths):
        sources[row, :length] = rng.integers(4, 20000, length)
    chunks = [sources[first : first + 256] for first in range(0, sentences, 256)]
    starts = [(runner.start(chunk), np.full(len(chunk), 1)) for chunk in chunks]
    end_id = 2

    def run(decoder, **options):
        return [decoder(runner, c, s, start, end_id, max_length, **options).tokens for (c, s), start in starts]

    run(greedy)  # compile
    run(beam_search, beam_width=4)
    print(
        f"\nBeam 4 against greedy, {sentences} sentences in batches of 256, {max_length} target steps, target "
        f"vocabulary {target_vocabulary:,} (best of {repeats}; random weights, so no sentence ends early):\n"
    )
    print("| decoder | seconds | against compiled greedy |\n|---|---|---|")
    greedy_seconds, _ = best_seconds(lambda: run(greedy), repeats)
    beam_seconds, _ = best_seconds(lambda: run(beam_search, beam_width=4), repeats)
    print(f"| greedy, compiled loop | {greedy_seconds:.2f} | 1.00 |")
    print(f"| beam 4, compiled loop | {beam_seconds:.2f} | {beam_seconds / greedy_seconds:.2f} |")
    # The floor under beam 4: the step model alone on four times the rows (every sentence four times, greedy).
    fourfold = [
        ([np.repeat(item, 4, axis=0) for item in c], [np.repeat(item, 4, axis=0) for item in s], np.repeat(start, 4))
        for (c, s), start in starts
    ]
    for c, s, start in fourfold:
        greedy(runner, c, s, start, end_id, max_length)
    seconds, _ = best_seconds(
        lambda: [greedy(runner, c, s, start, end_id, max_length) for c, s, start in fourfold], repeats
    )
    print(
        f"| greedy on 4x the rows (the step model's cost at beam 4's batch) | {seconds:.2f} | "
        f"{seconds / greedy_seconds:.2f} |"
    )
    if stepwise_too:
        seconds, _ = best_seconds(lambda: run(greedy_stepwise), 1)
        print(f"| greedy, stepwise | {seconds:.2f} | {seconds / greedy_seconds:.2f} |")
        seconds, _ = best_seconds(lambda: run(beam_search_stepwise, beam_width=4), 1)
        print(f"| beam 4, stepwise (NumPy ranking) | {seconds:.2f} | {seconds / greedy_seconds:.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter runs, for a smoke check")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sentences", type=int, default=512)
    parser.add_argument("--no-stepwise-beam", action="store_true", help="skip the slow stepwise beam/greedy rows")
    args = parser.parse_args()
    lengths, sentences, repeats = ([100, 1000], 256, 1) if args.quick else ([200, 2000], args.sentences, args.repeats)
    print(
        f"machine: {platform.machine()}, {platform.processor() or 'cpu'}, Keras {keras.__version__} "
        f"({keras.backend.backend()})"
    )
    character_generation(lengths, repeats)
    beam_against_greedy(sentences, 15, repeats, not args.no_stepwise_beam)


if __name__ == "__main__":
    main()
