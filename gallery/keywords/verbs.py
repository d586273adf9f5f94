"""Verbs on a trained keyword run: `predict` short clips, `listen` to a long recording, `evaluate` on another source."""

from __future__ import annotations

import argparse

import keras
import numpy as np

from datasets import speech
from datasets.audio_files import CLIP_SAMPLES, SAMPLE_RATE, DataSourceError, centre, load_audio, loudest_window
from datasets.speech_augment import ClipBatches
from gallery import export, runs
from gallery.cli import Verb
from gallery.errors import UsageError
from gallery.keywords.data import load_bundle
from gallery.keywords.metrics import accuracy_with_interval, predict_batches
from gallery.trained import TrainedRun

# A clip longer than this goes to `listen`; up to it, `predict` keeps the loudest second.
PREDICT_MAX_SECONDS = 2.0


class KeywordsRun(TrainedRun):
    """A trained keyword spotter: `predict(clips)` gives label probabilities; `labels` names their columns."""

    def __init__(self, loaded: runs.LoadedRun):
        super().__init__(loaded)
        self.labels: list[str] = loaded.read_json("labels.json")

    def predict(self, clips) -> np.ndarray:
        """Probabilities (clips x labels) of one-second 16 kHz waveforms: an array (clips, 16000), or a list of
        waveforms or WAV paths, each made one second as the `predict` verb does (padded, or its loudest second)."""
        if not isinstance(clips, np.ndarray) or clips.ndim != 2:
            clips = np.stack(
                [
                    clip_for_prediction(read_clip(clip) if isinstance(clip, str) else np.asarray(clip, np.float32))[0]
                    for clip in clips
                ]
            )
        return np.asarray(keras.ops.softmax(self.model(np.asarray(clips, np.float32), training=False)))


def load_trained(run: str) -> tuple[keras.Model, list[str]]:
    """The model of a finished keywords run and its label names."""
    trained = KeywordsRun(runs.load_run(run, "keywords"))
    return trained.model, trained.labels


def exportable(run: KeywordsRun, file_format: str) -> export.Export:
    """One signature, `serving_default`: raw one-second 16 kHz waveforms (clips, 16000) in, `probabilities` out
    (the log-mel front end is inside the model), with labels.txt naming the columns."""
    import tensorflow as tf

    if file_format == "tflite":
        # A clip is always 16,000 samples, so the number of frames is fixed: unrolled, the recurrence becomes plain
        # matrix products, which TFLite's builtin operators run (a loop would need TensorFlow's own ops on device).
        for layer in run.model._flatten_layers(include_self=False, recursive=True):
            if isinstance(layer, keras.layers.RNN):
                layer.unroll = True

    def probabilities(waveform):
        return {"probabilities": keras.ops.softmax(run.model(waveform, training=False))}

    return export.Export(
        signatures=[
            export.Signature(
                "serving_default", probabilities, [tf.TensorSpec([None, CLIP_SAMPLES], tf.float32, "waveform")]
            )
        ],
        tracked=[run.model],
        files={"labels.txt": "".join(f"{label}\n" for label in run.labels)},
    )


def read_clip(path: str) -> np.ndarray:
    """A WAV file as 16 kHz mono samples; one that cannot be read is a user error."""
    try:
        return load_audio(path)
    except DataSourceError as error:
        raise UsageError(str(error)) from None


def clip_for_prediction(samples: np.ndarray, path: str = "clip") -> tuple[np.ndarray, str]:
    """One second to classify, and a note on what was done: padded, the loudest second kept, or as is."""
    seconds = samples.size / SAMPLE_RATE
    if seconds > PREDICT_MAX_SECONDS:
        raise UsageError(
            f"{path} is {seconds:.1f} s long; predict takes clips of up to {PREDICT_MAX_SECONDS:g} s, "
            f"use: python -m gallery.keywords listen {path} --run DIR"
        )
    if samples.size < CLIP_SAMPLES:
        return centre(samples), f"{seconds:.2f} s, padded to 1 s"
    window, start = loudest_window(samples)
    note = (
        "1 s" if samples.size == CLIP_SAMPLES else f"{seconds:.2f} s, loudest second from {start / SAMPLE_RATE:.2f} s"
    )
    return window, note


def top_labels(probabilities: np.ndarray, labels: list[str], k: int) -> list[tuple[str, float]]:
    """The `k` likeliest labels with their probabilities, likeliest first."""
    order = np.argsort(-probabilities)[:k]
    return [(labels[i], float(probabilities[i])) for i in order]


def _configure_predict(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("clips", nargs="+", metavar="CLIP.wav", help="WAV files of about one second")
    parser.add_argument("--run", required=True, help="a finished keywords run folder")
    parser.add_argument("--top", type=int, default=3, help="how many labels to show (default: 3)")


def predict_command(args: argparse.Namespace) -> int:
    if args.top < 1:
        raise UsageError(f"--top must be at least 1, got {args.top}")
    # Read and check every clip before loading the model: a bad file fails in a moment.
    prepared = [(path, *clip_for_prediction(read_clip(path), path)) for path in args.clips]
    trained = KeywordsRun(runs.load_run(args.run, "keywords"))
    probabilities = trained.predict(np.stack([clip for _, clip, _ in prepared]))
    for (path, _, note), row in zip(prepared, probabilities):
        ranked = "  ".join(f"{label} {p:.3f}" for label, p in top_labels(row, trained.labels, args.top))
        print(f"{path} ({note}): {ranked}")
    return 0


def sliding_windows(samples: np.ndarray, hop: int) -> tuple[np.ndarray, np.ndarray]:
    """One-second windows every `hop` samples (the last one ends at the end), and their start times in seconds."""
    if samples.size <= CLIP_SAMPLES:
        return centre(samples)[None], np.zeros(1)
    starts = list(range(0, samples.size - CLIP_SAMPLES + 1, hop))
    if starts[-1] != samples.size - CLIP_SAMPLES:
        starts.append(samples.size - CLIP_SAMPLES)
    windows = np.stack([samples[s : s + CLIP_SAMPLES] for s in starts])
    return windows, np.array(starts) / SAMPLE_RATE


def detections(
    probabilities: np.ndarray, starts: np.ndarray, labels: list[str], threshold: float
) -> list[tuple[float, float, str, float]]:
    """Runs of windows whose best label is a keyword above `threshold`, merged: (start s, end s, label, best p)."""
    events: list[list] = []
    previous_end = -1.0
    for row, start in zip(probabilities, starts):
        best = int(row.argmax())
        label = labels[best]
        if label in (speech.SILENCE, speech.UNKNOWN) or row[best] < threshold:
            continue
        if events and events[-1][2] == label and start <= previous_end:
            events[-1][1] = start + 1.0
            events[-1][3] = max(events[-1][3], float(row[best]))
        else:
            events.append([float(start), float(start) + 1.0, label, float(row[best])])
        previous_end = start + 1.0
    return [tuple(event) for event in events]


def _configure_listen(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("recording", metavar="LONG.wav", help="a WAV recording of any length")
    parser.add_argument("--run", required=True, help="a finished keywords run folder")
    parser.add_argument("--hop-ms", type=float, default=250.0, help="step between 1 s windows (default: 250)")
    parser.add_argument("--threshold", type=float, default=0.7, help="lowest probability reported (default: 0.7)")


def listen_command(args: argparse.Namespace) -> int:
    if not 10 <= args.hop_ms <= 1000:
        raise UsageError(f"--hop-ms must be between 10 and 1000, got {args.hop_ms}")
    if not 0 < args.threshold < 1:
        raise UsageError(f"--threshold must be between 0 and 1, got {args.threshold}")
    samples = read_clip(args.recording)
    windows, starts = sliding_windows(samples, int(args.hop_ms * SAMPLE_RATE / 1000))
    model, labels = load_trained(args.run)
    probabilities = np.concatenate(
        [np.asarray(keras.ops.softmax(model(windows[i : i + 64], training=False))) for i in range(0, len(windows), 64)]
    )
    found = detections(probabilities, starts, labels, args.threshold)
    print(f"{args.recording}: {samples.size / SAMPLE_RATE:.2f} s, {len(windows)} windows")
    for start, end, label, probability in found:
        print(f"  {start:7.2f} - {end:7.2f} s  {label:<8} {probability:.3f}")
    if not found:
        print(f"  no keyword above {args.threshold:g}")
    return 0


def _configure_evaluate(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--run", required=True, help="a finished keywords run folder")
    parser.add_argument("--data", required=True, help="a folder of WAVs per label, fsdd:DIR or tfds:NAME")
    parser.add_argument(
        "--split", choices=("test", "all"), default="all", help="which clips of the source (default: all)"
    )
    parser.add_argument("--batch-size", type=int, default=64)


def evaluate_run(run: str, data: str, split: str = "all", batch_size: int = 64) -> dict[str, object]:
    """Accuracy of a trained run on another source, with its 95% Wilson interval: data labels the model lacks count
    as `_unknown_` (when the model has it; else they are left out).

    Returns `all` (every mapped clip) and, when the source has keywords, `keywords` (their clips alone), each
    `accuracy_with_interval`'s dict, and `per_label` ({model label: (clips, accuracy)}).
    """
    if batch_size < 1:
        raise UsageError(f"--batch-size must be at least 1, got {batch_size}")
    bundle = load_bundle(data)
    model, labels = load_trained(run)
    mapping = {}
    for index, name in enumerate(bundle.labels):
        if name in labels:
            mapping[index] = labels.index(name)
        elif speech.UNKNOWN in labels:
            mapping[index] = labels.index(speech.UNKNOWN)
    if not mapping:
        raise UsageError(f"none of the labels of {data} ({', '.join(bundle.labels[:5])}, ...) are the model's")
    splits = [bundle.test] if split == "test" else [bundle.train, bundle.validation, bundle.test]
    probabilities, true = [], []
    for part in splits:
        p, t = predict_batches(model, ClipBatches(part.in_memory(), batch_size))
        probabilities.append(p)
        true.append(t)
    probabilities, data_labels = np.concatenate(probabilities), np.concatenate(true)
    keep = np.array([label in mapping for label in data_labels], bool)
    if not keep.any():
        raise UsageError(f"{data} has no clips of the model's labels in --split {split}")
    model_labels = np.array([mapping.get(int(label), -1) for label in data_labels])[keep]
    predicted = probabilities[keep].argmax(-1)
    result: dict[str, object] = {
        "clips": int(keep.sum()),
        "labels": len(mapping),
        "all": accuracy_with_interval(model_labels, predicted),
    }
    keyword_mask = np.isin(model_labels, [labels.index(k) for k in speech.KEYWORDS if k in labels])
    if keyword_mask.any():
        result["keywords"] = accuracy_with_interval(model_labels[keyword_mask], predicted[keyword_mask])
        result["keyword_names"] = [k for k in speech.KEYWORDS if k in labels]
    result["per_label"] = {
        labels[index]: (int((model_labels == index).sum()), float(np.mean(predicted[model_labels == index] == index)))
        for index in sorted(set(model_labels.tolist()))
    }
    return result


def _with_interval(scored: dict) -> str:
    low, high = scored["interval95"]
    counted = f"{scored['correct']}/{scored['count']}"
    return f"accuracy {scored['accuracy']:.4f} (95% interval {low:.4f} to {high:.4f}; {counted})"


def evaluate_command(args: argparse.Namespace) -> int:
    """Accuracy of a trained run on another source, each with its 95% interval (the sets are often small)."""
    result = evaluate_run(args.run, args.data, args.split, args.batch_size)
    print(f"{args.data}: {result['clips']} clips of {result['labels']} labels, run {args.run}")
    if "keywords" in result:
        scored = result["keywords"]
        print(f"  keywords ({scored['count']} clips of {', '.join(result['keyword_names'])}): {_with_interval(scored)}")
    print(f"  all mapped clips: {_with_interval(result['all'])}")
    for label, (clips, accuracy) in result["per_label"].items():
        print(f"    {label:<10} {clips:4d} clips  accuracy {accuracy:.3f}")
    return 0


VERBS = [
    Verb("predict", "the top labels of one or more ~1 s WAV clips", _configure_predict, predict_command),
    Verb("listen", "keywords spotted in a long WAV, with their times", _configure_listen, listen_command),
    Verb("evaluate", "accuracy of a trained run on another data source", _configure_evaluate, evaluate_command),
    export.export_verb(exportable, formats=("savedmodel", "tflite")),
]
