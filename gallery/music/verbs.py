"""The music app's verb on a trained run: `generate` composes from a primer and writes MIDI, WAV and a PNG."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from datasets import piano_roll
from gallery import runs
from gallery.cli import Verb
from gallery.errors import UsageError
from gallery.music.config import PRIMER_FRAMES_KEPT
from gallery.music.data import SILENCE, choose_primer
from gallery.music.generation import compose, write_piece
from gallery.music.train import PRIMERS_FILE
from gallery.trained import TrainedRun
from models.decoding import StepRunner
from models.templates import many_to_many_inference


class MusicRun(TrainedRun):
    """A trained music model: `predict(primer, steps)` composes as the `generate` verb does and returns the piano
    roll (frames x 88 keys, the primer's frames first); `runner` steps the model frame by frame."""

    def __init__(self, loaded: runs.LoadedRun):
        super().__init__(loaded)
        self.primers = loaded.read_json(PRIMERS_FILE)
        self.runner = StepRunner(many_to_many_inference(self.model))

    def predict(
        self, primer: str = "test:0", steps: int = 64, primer_steps: int = 16, temperature: float = 1.0, seed: int = 0
    ) -> np.ndarray:
        start, _ = choose_primer(self.primers, primer, primer_steps)
        roll, _ = compose(self.runner, start, steps, temperature=temperature, seed=seed)
        return roll


def configure_generate(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--run", required=True, help="a finished music run folder")
    parser.add_argument("--steps", type=int, default=64, help="steps to compose after the primer (default: 64)")
    parser.add_argument("--primer", default="test:0", help=f"test:N, valid:N or {SILENCE} (default: test:0)")
    parser.add_argument("--primer-steps", type=int, default=16, help="steps of the primer piece to use (default: 16)")
    parser.add_argument("--temperature", type=float, default=1.0, help="sampling temperature (default: 1.0)")
    parser.add_argument("--seed", type=int, default=0, help="random seed of the sampling (default: 0)")
    parser.add_argument("--bpm", type=float, default=100.0, help="tempo, quarter notes per minute (default: 100)")
    parser.add_argument("--out", default="song.mid", help="MIDI file to write; .wav and .png go beside it")


def generate(args: argparse.Namespace) -> int:
    if args.steps < 1:
        raise UsageError(f"--steps must be at least 1, got {args.steps}")
    if args.temperature <= 0:
        raise UsageError(f"--temperature must be above 0, got {args.temperature}")
    if not 0 <= args.primer_steps <= PRIMER_FRAMES_KEPT:
        raise UsageError(f"--primer-steps must be between 0 and {PRIMER_FRAMES_KEPT}, got {args.primer_steps}")
    if args.bpm <= 0:
        raise UsageError(f"--bpm must be above 0, got {args.bpm}")
    out = Path(args.out)
    if out.suffix.lower() not in piano_roll.MIDI_SUFFIXES:
        raise UsageError(f"--out {args.out} must end in .mid or .midi (the .wav and .png are written beside it)")
    trained = MusicRun(runs.load_run(args.run, "music"))
    primers = trained.primers
    primer, described = choose_primer(primers, args.primer, args.primer_steps)
    roll, probabilities = compose(trained.runner, primer, args.steps, temperature=args.temperature, seed=args.seed)
    paths = write_piece(
        roll,
        out,
        step_quarters=primers["step_quarters"],
        bpm=args.bpm,
        primer_frames=len(primer),
        title=f"primer {described}, then {args.steps} sampled steps (T={args.temperature})",
        probabilities=probabilities,
    )
    notes = len(piano_roll.roll_notes(roll[len(primer) :]))
    print(f"primer: {described}; composed {args.steps} steps with {notes} notes")
    for path in paths:
        print(f"wrote {path}")
    return 0


VERBS = [
    Verb(
        "generate",
        "compose from a primer (test:N, valid:N or silence): writes MIDI, WAV and a piano-roll PNG",
        configure_generate,
        generate,
    )
]
