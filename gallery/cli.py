"""Command lines generated from an application's config dataclass, with the same flags across applications.

`python -m gallery.<app> [flags]` trains; `python -m gallery.<app> <verb> ...` runs a task verb on a trained run
(`sample`, `predict`, `translate`, ...). A user error prints one line and exits with status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gallery.config import PRESET_NAMES, RunConfig
from gallery.errors import UsageError


@dataclass
class RunResult:
    """What `run(config)` returns: the metrics written to metrics.json and the run folder."""

    metrics: dict[str, Any]
    run_dir: Path
    trained: bool = True  # False: the folder already held this configuration's finished run, which was kept


@dataclass
class Verb:
    """A task verb on a trained run: `configure` adds its arguments, `handler` does the work."""

    name: str
    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    handler: Callable[[argparse.Namespace], int | None]


@dataclass
class App:
    """An application as the command line and the gallery see it.

    `train_and_evaluate(config, run_dir)` trains into the run folder and returns the metrics it wrote (through
    `gallery.training.write_finished_run`); `run(config)` picks and checks the run folder, seeds and calls it.
    """

    name: str
    layout: str
    description: str
    config: type[RunConfig]
    train_and_evaluate: Callable[[RunConfig, Path], dict[str, Any]]
    verbs: list[Verb] = field(default_factory=list)
    command: str | None = None  # how users run it; apps made by `python -m gallery new` live outside gallery
    trained: Callable[[Any], Any] | None = None  # what `gallery.load_run` returns: a `gallery.trained.TrainedRun`

    @property
    def prog(self) -> str:
        return self.command or f"python -m gallery.{self.name}"

    def run(self, config: RunConfig) -> RunResult:
        """Train and evaluate one configuration into its run folder (`--out`, or the default under runs/).

        A finished run of the same configuration is kept and its metrics returned, an unfinished one resumes, and a
        folder holding anything else is refused with a UsageError before anything is written (`gallery.runs`).
        """
        from gallery import run_folders, training

        if config.strategy == "multi_worker" and training.on_tensorflow():
            return self._run_on_a_cluster(config)
        folder = run_folders.open_run_directory(config)
        if folder.finished:
            print(
                f"{folder.path} holds a finished run of this configuration; kept it (--overwrite trains it again)",
                flush=True,
            )
            return RunResult(run_folders.read_finished_metrics(folder.path), folder.path, trained=False)
        training.set_seed(config.seed)
        try:
            metrics = self.train_and_evaluate(config, folder.path)
        except BaseException:
            folder.release_if_untouched()  # a run that stopped before training wrote anything leaves nothing behind
            raise
        return RunResult(metrics, folder.path)

    def _run_on_a_cluster(self, config: RunConfig) -> RunResult:
        """One worker's part of a multi-worker run: every machine runs the same command (TF_CONFIG tells them apart).

        The chief checks and claims the run folder as a lone run does and tells the other workers what it found (a
        finished run, a refusal, or a run to train or resume); they train in step with it in a private temporary
        folder, deleted at the end, so only the chief's folder holds the run.
        """
        import shutil
        import tempfile

        from gallery import cluster, run_folders, training

        worker = cluster.cluster_worker()
        if config.batch_size < worker.count:
            raise UsageError(
                f"--batch-size {config.batch_size} is less than the {worker.count} workers, each of which trains on "
                f"its share of every batch: use --batch-size {worker.count} or more"
            )
        cluster.multi_worker_strategy()  # before any other TensorFlow operation, as TensorFlow requires
        if worker.is_chief:
            try:
                folder = run_folders.open_run_directory(config)
                finished = run_folders.read_finished_metrics(folder.path) if folder.finished else None
            except UsageError as error:
                cluster.share_from_chief(worker, {"error": str(error)})  # the other workers stop, not wait for it
                raise
            cluster.share_from_chief(worker, {"path": str(folder.path), "finished": finished})
        else:
            claim = cluster.share_from_chief(worker)
            if "error" in claim:
                raise UsageError(f"the chief refused the run: {claim['error']}")
            finished = claim["finished"]
        path = folder.path if worker.is_chief else Path(claim["path"])
        if finished is not None:
            print(f"{path} holds a finished run of this configuration; kept it (--overwrite trains it again)")
            return RunResult(finished, path, trained=False)
        training.set_seed(config.seed)
        if worker.is_chief:
            try:
                metrics = self.train_and_evaluate(config, folder.path)
            except BaseException:
                folder.release_if_untouched()
                raise
            return RunResult(metrics, path)
        private = Path(tempfile.mkdtemp(prefix=f"gallery-{self.name}-{worker.task_type}-{worker.index}-"))
        try:
            metrics = self.train_and_evaluate(config, private)
        finally:
            shutil.rmtree(private, ignore_errors=True)
        return RunResult(metrics, path)


class OneLineParser(argparse.ArgumentParser):
    """argparse that reports a bad argument in one line (and exit status 2) instead of the whole usage."""

    def error(self, message: str) -> typing.NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def add_config_arguments(parser: argparse.ArgumentParser, config_class: type[RunConfig]) -> None:
    """One flag per config field; the help shows the demo default and what the other presets change."""
    hints = typing.get_type_hints(config_class)
    for spec in dataclasses.fields(config_class):
        kind = hints[spec.name]
        default = spec.default
        preset_notes = [
            f"{preset}: {config_class.PRESETS[preset][spec.name]}"
            for preset in PRESET_NAMES
            if spec.name in config_class.PRESETS.get(preset, {})
        ]
        shown = repr(default) if default == "" else default
        help_text = f"{spec.metadata.get('help', '')} (default: {shown}" + "".join(f"; {n}" for n in preset_notes) + ")"
        kwargs: dict[str, Any] = {"default": argparse.SUPPRESS, "help": help_text.replace("%", "%%")}
        if kind is bool:
            kwargs["action"] = argparse.BooleanOptionalAction
        else:
            kwargs["type"] = kind
            kwargs["metavar"] = spec.name.upper()
            if spec.metadata.get("choices"):
                kwargs["choices"] = spec.metadata["choices"]
                kwargs["metavar"] = "{" + ",".join(map(str, spec.metadata["choices"])) + "}"
        parser.add_argument(_flag(spec.name), **kwargs)


def config_from_args(config_class: type[RunConfig], namespace: argparse.Namespace) -> RunConfig:
    values = vars(namespace).copy()
    preset = values.pop("preset", "demo")
    return config_class.from_preset(preset, **values)


def training_parser(app: App) -> OneLineParser:
    verbs = "".join(f"\n  {verb.name:<10} {verb.help}" for verb in app.verbs)
    epilog = f"verbs on a trained run ({app.prog} VERB --help):{verbs}" if verbs else None
    parser = OneLineParser(
        prog=app.prog,
        description=f"{app.description} Layout: {app.layout}. With no verb, trains and evaluates.",
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_config_arguments(parser, app.config)
    return parser


def run_cli(app: App, argv: Sequence[str] | None = None) -> int:
    """Parse argv, train or run a verb, and turn user errors into one line and status 2."""
    argv = list(sys.argv[1:] if argv is None else argv)
    config = None
    try:
        verbs = {verb.name: verb for verb in app.verbs}
        if argv and argv[0] in verbs:
            verb = verbs[argv[0]]
            parser = OneLineParser(prog=f"{app.prog} {verb.name}", description=verb.help)
            verb.configure(parser)
            status = verb.handler(parser.parse_args(argv[1:]))
            return int(status or 0)
        config = config_from_args(app.config, training_parser(app).parse_args(argv))
        result = app.run(config)
        primary = result.metrics.get("primary", {})
        if primary:
            print(f"{app.name}: {primary['name']} = {primary['value']:.4g}")
        print(f"run folder: {result.run_dir}")
        return 0
    except UsageError as error:
        print(f"{app.prog}: error: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        # A full disk, a folder without write permission or a file in the way: the user's to fix, in one line.
        from gallery.run_folders import write_failure

        message = write_failure(config.out if config is not None and config.out else "its output", error)
        if message is None:
            raise
        if config is not None:
            message += "; once fixed, run the same command again to finish the run"
        print(f"{app.prog}: error: {message}", file=sys.stderr)
        return 2
    except SystemExit as exit_request:  # argparse: --help (0) or a bad argument (2), already printed
        return exit_request.code if isinstance(exit_request.code, int) else 2
    except KeyboardInterrupt:
        print("\ninterrupted; run the same command again to resume from the last finished epoch", file=sys.stderr)
        return 130


def main(app: App) -> typing.NoReturn:
    sys.exit(run_cli(app))
