"""The `export` verb: a finished run as a TensorFlow SavedModel with named signatures, or as a TFLite file.

    python -m gallery.keywords export --run DIR --format tflite [--quantize]     # DIR/export/model.tflite
    python -m gallery.language_model export --run DIR --format savedmodel       # DIR/export/savedmodel/

Each app says what it exports (`Export`: the signatures, the models they call, the files a caller needs beside
them, such as the labels or the vocabulary); this module writes them. A SavedModel loads with
`tf.saved_model.load` (TensorFlow Serving serves it as is) and keeps the extra files in `assets.extra/`; a TFLite
file is converted from that SavedModel with the builtin operators only, so the plain `tf.lite.Interpreter` (or
LiteRT on a phone) runs it, and its extra files are written beside it. `--quantize` stores the weights in int8
(dynamic-range quantisation: activations stay float).
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import keras

from gallery import runs
from gallery.cli import Verb
from gallery.errors import UsageError

FORMATS = ("savedmodel", "tflite")


@dataclass
class Signature:
    """One named entry point: `function` takes tensors shaped as `inputs` (named TensorSpecs), returns a dict."""

    name: str
    function: Callable
    inputs: list


@dataclass
class Export:
    """What an app exports from a run: its signatures, the Keras objects they use, and text files to go beside."""

    signatures: list[Signature]
    tracked: list[keras.layers.Layer]
    files: dict[str, str] = field(default_factory=dict)


def _replace_folder(temporary: Path, path: Path) -> None:
    """Put a finished folder in place of `path`: a reader sees the old export or the new one, never half of one."""
    old = None
    if path.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{path.name}.old.", dir=path.parent))
        os.replace(path, old / path.name)
    os.replace(temporary, path)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _write_archive(export: Export, folder: Path) -> None:
    archive = keras.export.ExportArchive()
    for tracked in export.tracked:
        archive.track(tracked)
    for signature in export.signatures:
        archive.add_endpoint(signature.name, signature.function, input_signature=signature.inputs)
    archive.write_out(str(folder), verbose=False)


def write_savedmodel(export: Export, path: Path | str) -> Path:
    """A SavedModel folder at `path` (replaced whole if it exists), the extra files in its `assets.extra/`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        _write_archive(export, temporary / "model")
        extra = temporary / "model" / "assets.extra"
        extra.mkdir(exist_ok=True)
        for name, text in export.files.items():
            (extra / name).write_text(text, encoding="utf-8")
        _replace_folder(temporary / "model", path)
    finally:
        shutil.rmtree(temporary, ignore_errors=True)
    return path


def tflite_bytes(export: Export, quantize: bool = False) -> bytes:
    """The export's first signature as a TFLite flatbuffer of builtin operators (int8 weights if `quantize`)."""
    import tensorflow as tf

    with tempfile.TemporaryDirectory() as folder:
        _write_archive(Export(export.signatures[:1], export.tracked), Path(folder))
        converter = tf.lite.TFLiteConverter.from_saved_model(folder, signature_keys=[export.signatures[0].name])
        if quantize:
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
        return converter.convert()


def write_tflite(export: Export, path: Path | str, quantize: bool = False) -> Path:
    """A TFLite file at `path`, written atomically, and the export's extra files beside it."""
    path = Path(path)
    runs.write_bytes(path, tflite_bytes(export, quantize))
    for name, text in export.files.items():
        runs.write_text(path.parent / name, text)
    return path


def tflite_interpreter(path_or_bytes: Path | str | bytes):
    """`tf.lite.Interpreter` on a file or flatbuffer, its deprecation notice (LiteRT is its successor) kept quiet."""
    import tensorflow as tf

    content = path_or_bytes if isinstance(path_or_bytes, bytes) else Path(path_or_bytes).read_bytes()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return tf.lite.Interpreter(model_content=content)


def default_path(run_dir: Path, file_format: str, quantize: bool) -> Path:
    if file_format == "savedmodel":
        return run_dir / "export" / "savedmodel"
    return run_dir / "export" / ("model_int8.tflite" if quantize else "model.tflite")


def size_of(path: Path) -> int:
    """Bytes of a file, or of every file under a folder."""
    if path.is_file():
        return path.stat().st_size
    return sum(item.stat().st_size for item in path.rglob("*") if item.is_file())


def export_verb(exportable: Callable[[object, str], Export], formats: tuple[str, ...]) -> Verb:
    """The `export` verb of an app: `exportable(trained_run, format)` says what to write for that format."""

    def configure(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--run", required=True, help="a finished run folder")
        parser.add_argument("--format", required=True, choices=formats, help="what to write")
        parser.add_argument("--quantize", action="store_true", help="tflite: int8 weights (dynamic-range)")
        parser.add_argument("--out", default=None, help="where to write (default: <run>/export/...)")

    def handler(args: argparse.Namespace) -> int:
        if keras.backend.backend() != "tensorflow":
            raise UsageError(
                f"export writes TensorFlow formats; Keras runs on {keras.backend.backend()} here: unset KERAS_BACKEND"
            )
        if args.quantize and args.format != "tflite":
            raise UsageError("--quantize applies to --format tflite only")
        from gallery.trained import load_run

        trained = load_run(args.run)
        out = Path(args.out) if args.out else default_path(trained.run_dir, args.format, args.quantize)
        if out.exists() and not (out.is_dir() if args.format == "savedmodel" else out.is_file()):
            raise UsageError(f"--out {out} is in the way: {'a file' if out.is_file() else 'a folder'}; choose another")
        export = exportable(trained, args.format)
        written = (
            write_savedmodel(export, out) if args.format == "savedmodel" else write_tflite(export, out, args.quantize)
        )
        names = ", ".join(signature.name for signature in export.signatures)
        if args.format == "tflite":
            names = export.signatures[0].name
        print(f"wrote {written} ({size_of(written) / 1e6:.2f} MB; signatures: {names})")
        for name in export.files:
            print(
                f"  with {name}" + (f" in {written / 'assets.extra'}" if args.format == "savedmodel" else " beside it")
            )
        return 0

    return Verb("export", f"write the trained model as {' or '.join(formats)}", configure, handler)
