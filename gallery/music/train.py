"""Training the music model: NLL per frame every epoch, exact figures on valid and test, then a few compositions.

Both outputs train on the same loss, the binary cross-entropy of the model's logits summed over the keys: for
independent keys those are the keys' own logits, for a NADE each key's logit given the keys below it (teacher
forcing), so in both cases the loss is the exact NLL of the frame.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import keras

from datasets import music as music_data
from gallery import runs, training
from gallery.music import data as music_batches
from gallery.music.config import MusicConfig
from gallery.music.generation import compose, write_piece
from gallery.music.metrics import FrameAccuracy, FrameNLL, FrameNLLMetric, evaluate
from gallery.music.model import build_model, initialise_output_bias
from models.decoding import StepRunner
from models.templates import many_to_many_inference

PRIMERS_FILE = "primers.json"


def compile_model(model: keras.Model, config: MusicConfig) -> None:
    model.compile(
        optimizer=training.optimizer(config),
        loss=FrameNLL(),
        weighted_metrics=[FrameNLLMetric(), FrameAccuracy()],
    )


def compose_samples(model: keras.Model, primers: dict, config: MusicConfig, run_dir: Path) -> runs.Showcase:
    """samples/sample_<i>.{mid,wav,png}, each primed by the start of test piece i, and their showcase entries."""
    runner = StepRunner(many_to_many_inference(model))
    showcase = runs.Showcase()
    for number in range(min(config.samples, len(primers["test"]))):
        primer, described = music_batches.choose_primer(primers, f"test:{number}", config.primer_steps)
        roll, probabilities = compose(
            runner, primer, config.sample_steps, temperature=config.temperature, seed=config.seed + number
        )
        stem = Path("samples") / f"sample_{number}"
        write_piece(
            roll,
            run_dir / stem.with_suffix(".mid"),
            step_quarters=primers["step_quarters"],
            bpm=config.bpm,
            primer_frames=len(primer),
            title=f"primer {described}, then {config.sample_steps} sampled steps (T={config.temperature})",
            probabilities=probabilities,
        )
        caption = f"primed with {described}; {config.sample_steps} steps composed at temperature {config.temperature}"
        showcase.images.append((str(stem.with_suffix(".png")), caption))
        showcase.audio.append((str(stem.with_suffix(".wav")), caption))
        showcase.links.append((str(stem.with_suffix(".mid")), f"MIDI: {caption}"))
    return showcase


def train_and_evaluate(config: MusicConfig, run_dir: Path) -> dict[str, Any]:
    data = music_batches.load(config)
    teacher_forced = config.output == "nade"
    train = music_batches.PianoRollBatches(
        data.splits["train"],
        config.batch_size,
        shuffle=True,
        transpose=config.transpose,
        seed=config.seed,
        teacher_forced=teacher_forced,
    )
    valid = music_batches.PianoRollBatches(data.splits["valid"], config.batch_size, teacher_forced=teacher_forced)
    with training.distribution_strategy(config).scope():
        model = build_model(config)
        initialise_output_bias(model, data.splits["train"])
        compile_model(model, config)
    print(f"{config.architecture()}: {model.count_params():,} parameters")

    def summary(epoch: int, logs: dict) -> str:
        nll, accuracy = logs.get("val_nll", math.nan), logs.get("val_frame_accuracy", math.nan)
        rate = float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))
        return f"val NLL/frame {nll:.3f}  val frame acc {accuracy:.3f}  lr {rate:.2g}"

    result = training.fit(model, train, valid, config, run_dir, monitor="val_nll", epoch_summary=summary)
    figures = {split: evaluate(model, data.splits[split]) for split in ("valid", "test")}
    for split, values in figures.items():
        print(
            f"{split}: NLL {values['nll_per_frame']:.4f} nats/frame, frame accuracy {values['frame_accuracy']:.4f} "
            f"({values['frames']} frames, {values['pieces']} pieces)"
        )

    primers = music_batches.primer_record(data)
    runs.write_json(run_dir / PRIMERS_FILE, primers)
    showcase = compose_samples(model, primers, config, run_dir)
    showcase.texts.append(("data", "\n".join([data.describe(), *data.warnings])))
    showcase.tables.append(
        {
            "title": "NLL per frame (nats) and frame accuracy",
            "columns": ["split", "pieces", "frames", "NLL/frame", "frame accuracy"],
            "rows": [
                [split, v["pieces"], v["frames"], round(v["nll_per_frame"], 4), round(v["frame_accuracy"], 4)]
                for split, v in figures.items()
            ],
        }
    )
    return training.write_finished_run(
        run_dir,
        config,
        model,
        result,
        training.Primary("test NLL per frame (nats)", figures["test"]["nll_per_frame"], higher_is_better=False),
        curve_title=f"music: {config.architecture()}",
        curve_keys=("nll", "val_nll", "frame_accuracy", "val_frame_accuracy"),
        showcase=showcase,
        valid_nll_per_frame=figures["valid"]["nll_per_frame"],
        valid_frame_accuracy=figures["valid"]["frame_accuracy"],
        test_nll_per_frame=figures["test"]["nll_per_frame"],
        test_frame_accuracy=figures["test"]["frame_accuracy"],
        test_frames=figures["test"]["frames"],
        pieces={split: len(data.splits[split]) for split in music_data.SPLITS},
        data=data.source,
        data_warnings=data.warnings,
    )
