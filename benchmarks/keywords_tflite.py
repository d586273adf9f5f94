"""The keyword model on device: its TFLite files (float32 and int8 weights) scored on the run's own test set.

    python benchmarks/keywords_tflite.py runs/measured/keywords-demo [--name keywords-tflite]

Exports the run with `python -m gallery.keywords export --format tflite` (and `--quantize`), then runs the Keras
model and both TFLite files on the test clips `train_and_evaluate` scored (synthetic data: the held-out voices,
with the same noise draw), and writes one record (benchmarks/results/<name>.json): each one's accuracy with its 95%
interval, file size, and how often its top label is the Keras model's.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import records  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", help="a finished keywords run folder")
    parser.add_argument("--name", default="keywords-tflite", help="record name (default: keywords-tflite)")
    args = parser.parse_args(argv)
    started = time.perf_counter()

    from gallery.cli import run_cli
    from gallery.export import tflite_interpreter
    from gallery.keywords import APP
    from gallery.keywords.config import KeywordsConfig
    from gallery.keywords.data import keyword_batches
    from gallery.keywords.metrics import accuracy_with_interval
    from gallery.trained import load_run

    run = load_run(args.run)
    files = {"tflite_float32": Path(args.run) / "export" / "model.tflite"}
    files["tflite_int8"] = files["tflite_float32"].with_name("model_int8.tflite")
    for extra in ([], ["--quantize"]):
        if run_cli(APP, ["export", "--run", args.run, "--format", "tflite", *extra]) != 0:
            return 1
    config = KeywordsConfig.from_dict(run.config)
    test = keyword_batches(config).test

    keras_probabilities, labels = [], []
    device = {name: [] for name in files}
    runners = {name: tflite_interpreter(path).get_signature_runner("serving_default") for name, path in files.items()}
    for index in range(len(test)):
        waveforms, batch_labels = test[index]
        waveforms = np.asarray(waveforms, np.float32)
        keras_probabilities.append(run.predict(waveforms))
        labels.append(np.asarray(batch_labels))
        for name, runner in runners.items():
            device[name].append(runner(waveform=waveforms)["probabilities"])
    truth = np.concatenate(labels)
    keras_top = np.concatenate(keras_probabilities).argmax(-1)
    metrics = {
        "primary": {"name": "test accuracy (TFLite, int8 weights)", "higher_is_better": True},
        "keras": {
            **accuracy_with_interval(truth, keras_top),
            "model_keras_bytes": (Path(args.run) / "model.keras").stat().st_size,
        },
    }
    for name, parts in device.items():
        top = np.concatenate(parts).argmax(-1)
        metrics[name] = {
            **accuracy_with_interval(truth, top),
            "bytes": files[name].stat().st_size,
            "same_top_label_as_keras": float(np.mean(top == keras_top)),
        }
    int8 = metrics["tflite_int8"]
    metrics["primary"].update(value=int8["accuracy"], count=int8["count"], interval95=int8["interval95"])
    for name in ("keras", *device):
        low, high = metrics[name]["interval95"]
        print(f"{name}: accuracy {metrics[name]['accuracy']:.4f} ({low:.4f} to {high:.4f})")
    path = records.write_record(
        args.name,
        command="python " + " ".join(shlex.quote(part) for part in ["benchmarks/keywords_tflite.py", *sys.argv[1:]]),
        metrics=metrics,
        wall_seconds=time.perf_counter() - started,
        run=str(args.run),
        protocol=(
            "the run's own test split as train_and_evaluate scores it (synthetic data: voices never heard in training, "
            "the same noise draw); TFLite files converted with builtin operators only (recurrences unrolled over the "
            "fixed one-second clip), run by tf.lite.Interpreter; int8 = dynamic-range quantised weights"
        ),
    )
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
