"""Polyphonic music: a recurrent network models piano rolls frame by frame, then composes from a primer.

Layout: many-to-many (aligned) for training: the input is a piece's frames 0..T-2, the target its frames 1..T-1,
and each of the 88 keys of the next frame is an independent sigmoid output (Boulanger-Lewandowski et al. 2012).
Generation is one-to-many: the step model reads a primer (the first bars of a test piece, or silence) and then
samples every key of every new frame from sigmoid(logit / temperature), carrying the recurrent state.

Data: by default J. S. Bach's chorales from the corpus bundled with music21 (parsed once, cached), at quarter-note
steps (`--resolution eighth|sixteenth` for finer ones), with optional transposition augmentation (`--transpose`);
`--data FILE.json` reads the polyphonic-music JSON of the literature's splits (JSB Chorales, Nottingham,
Piano-midi), `--data DIR` a folder of MIDI files.

    python -m gallery.music                                          # demo: Bach chorales, LSTM, a few minutes
    python -m gallery.music --data ../shared/data/jsb_chorales --cell gru --preset full
    python -m gallery.music generate --run runs/music/lstm-1x128-demo --steps 64 --primer test:0 --out song.mid

Metric: negative log-likelihood per frame in nats (binary cross-entropy summed over the 88 keys, averaged over
every frame of every test piece; Chung et al. 2014, Bai et al. 2018) and frame-level accuracy (Bay et al. 2009).
Expected: the demo trains for at most 7 minutes and reached a test NLL of 9.03 nats/frame on the bundled chorales
on a shared 2-core CPU (README.md has the measured figures, also on the standard JSB split). The run folder holds
composed MIDI, WAV and piano-roll PNG files.
"""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np

from datasets import music as music_data
from gallery import plots, runs, training
from gallery.cli import App, RunResult, Verb
from gallery.config import RunConfig, option, override
from gallery.errors import UsageError
from gallery.music import render
from gallery.music.metrics import FrameAccuracy, FrameNLL, FrameNLLMetric, frame_counts_numpy, frame_nll_numpy
from models.decoding import StepRunner, compiled_call
from models.templates import many_to_many, many_to_many_inference

PRIMER_FRAMES_KEPT = 64  # frames of each valid/test piece stored in the run folder for `generate --primer`
SILENCE = "silence"


@dataclass
class MusicConfig(RunConfig):
    """Piano-roll modelling of the Bach chorales with an LSTM, and a few pieces composed from test primers."""

    APP = "music"
    UNIDIRECTIONAL_REASON = (
        "would let the network hear the frame it must predict; the music model reads forwards only, leave it off"
    )
    PRESETS = {
        "smoke": {
            "units": 16,
            "epochs": 2,
            "batch_size": 8,
            "pieces": 12,
            "samples": 1,
            "sample_steps": 8,
            "primer_steps": 4,
            "dropout": 0.0,
            "budget_seconds": 0.0,
        },
        "demo": {},
        "full": {
            "units": 256,
            "epochs": 300,
            "dropout": 0.5,
            "patience": 25,
            "transpose": 3,
            "batch_size": 16,
            "budget_seconds": 0.0,
        },
    }

    cell: str = override("cell", "lstm")
    units: int = override("units", 128)
    epochs: int = override("epochs", 60)
    batch_size: int = override("batch_size", 16)
    learning_rate: float = override("learning_rate", 2e-3)
    dropout: float = override("dropout", 0.3)
    patience: int = override("patience", 8)
    # The demo stops training after 7 minutes so that, with evaluation and composition, it ends within 10 minutes
    # even on a slow or shared 2-core CPU; the full preset has no limit.
    budget_seconds: float = override("budget_seconds", 420.0)
    data: str = option("default", "default: Bach chorales from music21; a polyphonic-music JSON file; a MIDI folder")
    resolution: str = option(
        "quarter", "time step of MIDI data and the chorales", choices=tuple(music_data.RESOLUTIONS)
    )
    transpose: int = option(
        0, "augment training pieces by a random transposition of up to this many semitones (0 = off)", minimum=0
    )
    pieces: int = option(0, "use only the first N pieces (of each split for JSON data; 0 = all)", minimum=0)
    samples: int = option(3, "pieces composed after training, each as MIDI, WAV and piano-roll PNG", minimum=0)
    sample_steps: int = option(64, "steps composed after each primer", minimum=1)
    primer_steps: int = option(16, "steps of a test piece that prime each composition", minimum=0)
    temperature: float = option(1.0, "sampling temperature: below 1 is more conservative", minimum=0.0)
    bpm: float = option(100.0, "tempo of the MIDI and WAV output, quarter notes per minute", minimum=1.0)
    schedule: str = option(
        "constant",
        "learning rate: constant, or plateau (halved after a third of --patience epochs without a lower validation "
        "NLL, down to 1/32 of --learning-rate)",
        choices=("constant", "plateau"),
    )

    def validate(self) -> None:
        super().validate()
        if self.temperature <= 0:
            raise UsageError(f"--temperature must be above 0, got {self.temperature}")
        if self.primer_steps > PRIMER_FRAMES_KEPT:
            raise UsageError(f"--primer-steps must be at most {PRIMER_FRAMES_KEPT}, got {self.primer_steps}")
        if self.transpose > 12:
            raise UsageError(f"--transpose must be at most 12 semitones (an octave), got {self.transpose}")


# --- data pipelines ----------------------------------------------------------------------------------------------


def random_transposition(roll: np.ndarray, most: int, rng: np.random.Generator) -> np.ndarray:
    """Shift all keys by a random number of semitones in [-most, most] that keeps every note on the keyboard."""
    active = np.flatnonzero(roll.max(axis=0) > 0.5)
    if not len(active):
        return roll
    down = min(most, int(active[0]))
    up = min(most, music_data.KEYS - 1 - int(active[-1]))
    return np.roll(roll, int(rng.integers(-down, up + 1)), axis=1)


def padded_length(frames: int, bucketed: bool) -> int:
    """The time axis of a batch whose longest piece has `frames` steps.

    JAX and PyTorch compile the training step once per input shape, so off TensorFlow the length is rounded up to
    one of four sizes per octave (at most a quarter more frames, whose weight is 0); TensorFlow takes any length.
    """
    if not bucketed:
        return frames
    granule = max(8, 2 ** (frames.bit_length() - 3))
    return -(-frames // granule) * granule


class PianoRollBatches(keras.utils.PyDataset):
    """Batches of (frames 0..T-2, frames 1..T-1, weight 1 per real frame), zero-padded to the longest piece.

    Padding frames come after a piece's end, so they cannot reach its outputs, and their weight 0 drops their loss.
    With `shuffle` the pieces are drawn in a new order every epoch; with `transpose`, each piece is shifted by a new
    random transposition every time it is drawn.
    """

    def __init__(
        self,
        rolls: list[np.ndarray],
        batch_size: int,
        *,
        shuffle: bool = False,
        transpose: int = 0,
        seed: int = 0,
        bucketed: bool | None = None,
    ):
        super().__init__()
        self.rolls = [np.asarray(roll, np.float32) for roll in rolls]
        self.batch_size, self.shuffle, self.transpose = batch_size, shuffle, transpose
        self.bucketed = not training.on_tensorflow() if bucketed is None else bucketed
        self.rng = np.random.default_rng(seed)
        self.order = np.arange(len(self.rolls))
        if shuffle:
            self.rng.shuffle(self.order)

    def __len__(self) -> int:
        return -(-len(self.rolls) // self.batch_size)

    def __getitem__(self, index: int):
        chosen = [self.rolls[i] for i in self.order[index * self.batch_size : (index + 1) * self.batch_size]]
        if self.transpose:
            chosen = [random_transposition(roll, self.transpose, self.rng) for roll in chosen]
        steps = padded_length(max(len(roll) for roll in chosen) - 1, self.bucketed)
        inputs = np.zeros((len(chosen), steps, music_data.KEYS), np.float32)
        targets = np.zeros_like(inputs)
        weights = np.zeros((len(chosen), steps), np.float32)
        for row, roll in enumerate(chosen):
            inputs[row, : len(roll) - 1] = roll[:-1]
            targets[row, : len(roll) - 1] = roll[1:]
            weights[row, : len(roll) - 1] = 1.0
        return inputs, targets, weights

    def on_epoch_end(self) -> None:
        if self.shuffle:
            self.rng.shuffle(self.order)


# --- model and evaluation ----------------------------------------------------------------------------------------


def build_model(config: MusicConfig) -> keras.Model:
    """Frames in, next-frame logits out: the shared many-to-many template with 88 feature inputs and outputs."""
    spec = config.rnn_spec()
    return many_to_many(spec, music_data.KEYS, feature_dim=music_data.KEYS, name="piano_roll_rnn")


def initialise_output_bias(model: keras.Model, rolls: list[np.ndarray]) -> np.ndarray:
    """Start each key's output bias at the log-odds of how often that key sounds in the training frames.

    An untrained network then predicts every key at its base rate (the NLL of the best frame-independent model)
    instead of one half, so the first epochs learn music rather than the fact that most keys are silent.
    """
    frames = np.concatenate(rolls)
    # Add-one smoothing keeps keys that never sound at a finite, very negative bias.
    rate = (frames.sum(axis=0) + 1.0) / (len(frames) + 2.0)
    bias = np.log(rate / (1.0 - rate)).astype(np.float32)
    output = model.get_layer("output")
    kernel, _ = output.get_weights()
    output.set_weights([kernel, bias])
    return bias


def learning_rate_schedule(config: MusicConfig) -> list[keras.callbacks.Callback]:
    """`plateau`: halve the rate when validation NLL stalls, so the last epochs take smaller steps."""
    if config.schedule != "plateau":
        return []
    return [
        keras.callbacks.ReduceLROnPlateau(
            monitor="val_nll",
            mode="min",
            factor=0.5,
            patience=max(2, config.patience // 3),
            min_lr=config.learning_rate / 32,
        )
    ]


def compile_model(model: keras.Model, config: MusicConfig) -> None:
    model.compile(
        optimizer=training.optimizer(config),
        loss=FrameNLL(),
        weighted_metrics=[FrameNLLMetric(), FrameAccuracy()],
    )


def evaluate(model: keras.Model, rolls: list[np.ndarray], batch_size: int = 32) -> dict[str, float]:
    """Exact figures over every frame of every piece: NLL per frame (nats) and Bay et al.'s frame accuracy."""
    forward = compiled_call(model)
    bucketed = not training.on_tensorflow()
    order = sorted(range(len(rolls)), key=lambda i: len(rolls[i]))
    total_nll, frames = 0.0, 0
    true_positives = false_positives = false_negatives = 0.0
    for start in range(0, len(order), batch_size):
        batch = [rolls[i] for i in order[start : start + batch_size]]
        steps = padded_length(max(len(roll) for roll in batch) - 1, bucketed)
        inputs = np.zeros((len(batch), steps, music_data.KEYS), np.float32)
        for row, roll in enumerate(batch):
            inputs[row, : len(roll) - 1] = roll[:-1]
        logits = np.asarray(forward(inputs))
        for row, roll in enumerate(batch):
            steps = len(roll) - 1
            total_nll += float(frame_nll_numpy(roll[1:], logits[row, :steps]).sum())
            frames += steps
            tp, fp, fn = frame_counts_numpy(roll[1:], logits[row, :steps])
            true_positives, false_positives, false_negatives = (
                true_positives + tp,
                false_positives + fp,
                false_negatives + fn,
            )
    denominator = true_positives + false_positives + false_negatives
    return {
        "nll_per_frame": total_nll / frames,
        "frame_accuracy": true_positives / denominator if denominator else 0.0,
        "frames": frames,
        "pieces": len(rolls),
    }


# --- generation --------------------------------------------------------------------------------------------------


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(x, np.float64)))


def compose(
    runner: StepRunner, primer: np.ndarray, steps: int, *, temperature: float = 1.0, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """(roll, probabilities): the primer, then `steps` frames each sampled key by key with the state carried.

    Every key of a new frame is drawn from Bernoulli(sigmoid(logit / temperature)). Without a primer the network
    reads one silent frame first, which is left out of the result. `probabilities[t]` is what the model predicted
    for frame t (zeros for the first frame, which nothing predicts).
    """
    if temperature <= 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    rng = np.random.default_rng(seed)
    primer = np.asarray(primer, np.float32).reshape(-1, music_data.KEYS)
    inputs = primer if len(primer) else np.zeros((1, music_data.KEYS), np.float32)
    context, states = runner.start(batch_size=1)
    probabilities = [np.zeros(music_data.KEYS)] if len(primer) else []
    logits = None
    for t, frame in enumerate(inputs):
        logits, states, _ = runner(frame[None], context, states)
        if t + 1 < len(inputs):
            probabilities.append(sigmoid(logits[0]))
    generated = []
    for _ in range(steps):
        probability = sigmoid(logits[0] / temperature)
        probabilities.append(probability)
        frame = (rng.random(music_data.KEYS) < probability).astype(np.float32)
        generated.append(frame)
        logits, states, _ = runner(frame[None], context, states)
    roll = np.concatenate([primer, np.stack(generated)]) if len(primer) else np.stack(generated)
    return roll, np.stack(probabilities)


def write_piece(
    roll: np.ndarray,
    midi_path: Path,
    *,
    step_quarters: float,
    bpm: float,
    primer_frames: int,
    title: str,
    probabilities: np.ndarray | None = None,
) -> tuple[Path, Path, Path]:
    """The roll as MIDI (music21), WAV (the NumPy synthesiser) and a piano-roll PNG beside it."""
    runs.write_bytes(midi_path, music_data.roll_to_midi_bytes(roll, step_quarters, bpm))
    wav_path = midi_path.with_suffix(".wav")
    render.write_wav(wav_path, roll, step_seconds=step_quarters * 60.0 / bpm)
    png_path = midi_path.with_suffix(".png")
    render.piano_roll_png(roll, png_path, title=title, primer_frames=primer_frames, probabilities=probabilities)
    return midi_path, wav_path, png_path


def primer_record(data: music_data.MusicData) -> dict:
    """The first frames of every valid and test piece, so `generate --primer test:3` needs no data in a new process."""
    return {
        "step_quarters": data.step_quarters or 1.0,
        "source": data.source,
        **{
            split: [
                {"name": name, "frames": music_data.roll_to_pitches(roll[:PRIMER_FRAMES_KEPT])}
                for name, roll in zip(data.names[split], data.splits[split])
            ]
            for split in ("valid", "test")
        },
    }


def choose_primer(primers: dict, primer: str, primer_steps: int) -> tuple[np.ndarray, str]:
    """(primer roll, description) from `silence` or `SPLIT:INDEX`; UsageError for anything else."""
    if primer == SILENCE or primer_steps == 0:
        return np.zeros((0, music_data.KEYS), np.float32), "silence"
    split, _, index_text = primer.partition(":")
    if split not in ("valid", "test") or not index_text.lstrip("-").isdigit():
        raise UsageError(f"--primer {primer!r} is not valid; give test:N, valid:N or {SILENCE}")
    pieces = primers[split]
    index = int(index_text)
    if not 0 <= index < len(pieces):
        raise UsageError(f"--primer {primer}: the {split} split has pieces 0 to {len(pieces) - 1}; choose one of them")
    roll, _ = music_data.pitches_to_roll(pieces[index]["frames"][:primer_steps])
    return roll, f"{split}:{index} ({pieces[index]['name']}), first {len(roll)} steps"


# --- training run ------------------------------------------------------------------------------------------------


def load_data(config: MusicConfig) -> music_data.MusicData:
    try:
        data = music_data.load(config.data, config.resolution, config.pieces)
    except music_data.MusicDataError as error:
        raise UsageError(str(error)) from None
    print(data.describe())
    for warning in data.warnings:
        print(f"warning: {warning}")
    return data


def run(config: MusicConfig) -> RunResult:
    training.set_seed(config.seed)
    data = load_data(config)
    run_dir = runs.run_directory(config)
    train = PianoRollBatches(
        data.splits["train"], config.batch_size, shuffle=True, transpose=config.transpose, seed=config.seed
    )
    valid = PianoRollBatches(data.splits["valid"], config.batch_size)
    with training.distribution_strategy(config).scope():
        model = build_model(config)
        initialise_output_bias(model, data.splits["train"])
        compile_model(model, config)
    print(f"{config.architecture()}: {model.count_params():,} parameters")

    def summary(epoch: int, logs: dict) -> str:
        nll, accuracy = logs.get("val_nll", math.nan), logs.get("val_frame_accuracy", math.nan)
        rate = float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))
        return f"val NLL/frame {nll:.3f}  val frame acc {accuracy:.3f}  lr {rate:.2g}"

    result = training.fit(
        model,
        train,
        valid,
        config,
        run_dir,
        monitor="val_nll",
        epoch_summary=summary,
        callbacks=learning_rate_schedule(config),
    )
    figures = {split: evaluate(model, data.splits[split]) for split in ("valid", "test")}
    for split, values in figures.items():
        print(
            f"{split}: NLL {values['nll_per_frame']:.4f} nats/frame, frame accuracy {values['frame_accuracy']:.4f} "
            f"({values['frames']} frames, {values['pieces']} pieces)"
        )

    runs.write_config(run_dir, config)
    primers = primer_record(data)
    runs.write_json(run_dir / "primers.json", primers)
    runs.save_model(model, run_dir / "model.keras")
    shown = ("nll", "frame_accuracy")
    curves = {key: value for key, value in result.history.items() if key.removeprefix("val_") in shown}
    curves["epoch"] = result.history.get("epoch", [])
    plots.learning_curve(curves, run_dir / "learning_curve.png", title=f"music: {config.architecture()}")

    runner = StepRunner(many_to_many_inference(model))
    step_quarters = primers["step_quarters"]
    images, audio, links = [("learning_curve.png", "NLL per frame and frame accuracy per epoch")], [], []
    for number in range(min(config.samples, len(primers["test"]))):
        primer, described = choose_primer(primers, f"test:{number}", config.primer_steps)
        roll, probabilities = compose(
            runner, primer, config.sample_steps, temperature=config.temperature, seed=config.seed + number
        )
        stem = Path("samples") / f"sample_{number}"
        write_piece(
            roll,
            run_dir / stem.with_suffix(".mid"),
            step_quarters=step_quarters,
            bpm=config.bpm,
            primer_frames=len(primer),
            title=f"primer {described}, then {config.sample_steps} sampled steps (T={config.temperature})",
            probabilities=probabilities,
        )
        caption = f"primed with {described}; {config.sample_steps} steps composed at temperature {config.temperature}"
        images.append((str(stem.with_suffix(".png")), caption))
        audio.append((str(stem.with_suffix(".wav")), caption))
        links.append((str(stem.with_suffix(".mid")), f"MIDI: {caption}"))

    table = {
        "title": "NLL per frame (nats) and frame accuracy",
        "columns": ["split", "pieces", "frames", "NLL/frame", "frame accuracy"],
        "rows": [
            [split, v["pieces"], v["frames"], round(v["nll_per_frame"], 4), round(v["frame_accuracy"], 4)]
            for split, v in figures.items()
        ],
    }
    runs.write_showcase(
        run_dir,
        texts=[("data", "\n".join([data.describe(), *data.warnings]))],
        images=images,
        audio=audio,
        links=links,
        tables=[table],
    )
    metrics = runs.write_metrics(
        run_dir,
        primary_name="test NLL per frame (nats)",
        primary_value=figures["test"]["nll_per_frame"],
        higher_is_better=False,
        parameters=model.count_params(),
        train_seconds=result.seconds,
        valid_nll_per_frame=figures["valid"]["nll_per_frame"],
        valid_frame_accuracy=figures["valid"]["frame_accuracy"],
        test_nll_per_frame=figures["test"]["nll_per_frame"],
        test_frame_accuracy=figures["test"]["frame_accuracy"],
        test_frames=figures["test"]["frames"],
        pieces={split: len(data.splits[split]) for split in music_data.SPLITS},
        data=data.source,
        data_warnings=data.warnings,
        epochs=result.epochs,
    )
    training.finish(run_dir)
    return RunResult(metrics, run_dir)


# --- the generate verb -------------------------------------------------------------------------------------------


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
    if out.suffix.lower() not in music_data.MIDI_SUFFIXES:
        raise UsageError(f"--out {args.out} must end in .mid or .midi (the .wav and .png are written beside it)")
    loaded = runs.load_run(args.run, "music")
    primers_path = loaded.path("primers.json")
    if not primers_path.is_file():
        raise UsageError(f"{loaded.run_dir} has no primers.json; train the run again")
    primers = json.loads(primers_path.read_text(encoding="utf-8"))
    primer, described = choose_primer(primers, args.primer, args.primer_steps)
    runner = StepRunner(many_to_many_inference(loaded.model))
    roll, probabilities = compose(runner, primer, args.steps, temperature=args.temperature, seed=args.seed)
    paths = write_piece(
        roll,
        out,
        step_quarters=primers["step_quarters"],
        bpm=args.bpm,
        primer_frames=len(primer),
        title=f"primer {described}, then {args.steps} sampled steps (T={args.temperature})",
        probabilities=probabilities,
    )
    notes = len(music_data.roll_notes(roll[len(primer) :]))
    print(f"primer: {described}; composed {args.steps} steps with {notes} notes")
    for path in paths:
        print(f"wrote {path}")
    return 0


APP = App(
    name="music",
    layout="many-to-many (aligned) training; one-to-many generation",
    description="Polyphonic piano-roll modelling (88 sigmoid keys per frame) and composition from a primer.",
    config=MusicConfig,
    legacy_run=run,
    verbs=[
        Verb(
            "generate",
            "compose from a primer (test:N, valid:N or silence): writes MIDI, WAV and a piano-roll PNG",
            configure_generate,
            generate,
        )
    ],
)
