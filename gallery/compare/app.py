"""Compare architectures across tasks: one command trains a grid of apps x cells x depths and tabulates it.

Layout: all of the gallery's layouts; each app trains through its own `App.run(config)` and reports the primary
metric of its metrics.json. Data: each app's own default data. Commands:

    python -m gallery.compare --apps all --cells rnn,lstm,gru                  # demo preset, equal epochs
    python -m gallery.compare --apps language_model,keywords --cells rnn,lstm --match-params 50000 --repeats 3
    python -m gallery.compare --apps all --cells rnn,lstm,gru --budget-seconds 120     # equal wall-clock time
    python -m gallery.compare --apps keywords --cells none,rnn,lstm            # what recurrence buys
    python -m gallery.compare probes                                           # adding, copy, gradient flow

Expected result: <out>/results.md (rows: app and measure; columns: architectures), results.csv, results.json,
metrics.png and learning_curves.png; for probes, <out>/probes.md, adding_error.png, copy_error.png and
gradient_flow.png. Finished combinations are kept: running the same command again skips them and continues.
"""

from __future__ import annotations

import argparse
import sys
import typing
from collections.abc import Sequence
from pathlib import Path

from gallery.cli import OneLineParser
from gallery.config import PRESET_NAMES
from gallery.errors import UsageError
from models import cells as cell_registry

BIDIRECTIONAL_MODES = {"off": (False,), "on": (True,), "both": (False, True)}
DEFAULT_CELLS = "rnn,lstm,gru"
RUNS = Path("runs/compare")


def valid_cells() -> tuple[str, ...]:
    """The registry's cells, plus `none` (no recurrence) even before every app accepts it."""
    choices = getattr(cell_registry, "CELL_CHOICES", cell_registry.CELLS)
    return tuple(dict.fromkeys([*choices, "none"]))


def _names(text: str, valid: Sequence[str], flag: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise UsageError(f"{flag} needs at least one name; choose from: {', '.join(valid)}")
    for name in names:
        if name not in valid:
            raise UsageError(f"{flag}: unknown {name!r}; choose from: {', '.join(valid)}")
    return list(dict.fromkeys(names))


def _integers(text: str, flag: str, minimum: int = 1) -> list[int]:
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise UsageError(f"{flag} takes comma-separated whole numbers, e.g. 1,2; got {text!r}") from None
    if not values or min(values) < minimum:
        raise UsageError(f"{flag} takes whole numbers of at least {minimum}; got {text!r}")
    return list(dict.fromkeys(values))


def _architectures(args: argparse.Namespace):
    from gallery.compare.grid import architectures

    cells = _names(args.cells, valid_cells(), "--cells")
    if args.activations is None:
        args.activations = "tanh,relu" if "rnn" in cells else "tanh"
    activations = _names(args.activations, cell_registry.ACTIVATIONS, "--activations")
    if activations != ["tanh"] and "rnn" not in cells:
        raise UsageError("--activations applies to the vanilla cell only; add rnn to --cells")
    layers = _integers(args.layers, "--layers") if hasattr(args, "layers") else [1]
    bidirectional = BIDIRECTIONAL_MODES[getattr(args, "bidirectional", "off")]
    return architectures(cells, activations, layers, bidirectional)


def grid_parser() -> OneLineParser:
    parser = OneLineParser(
        prog="python -m gallery.compare",
        description="Train a grid of apps x architectures through each app's App.run and tabulate the results.",
        epilog="verbs:\n  probes     adding and copy-memory problems at growing T, and gradient flow (probes --help)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--apps", default="all", help="comma-separated apps, or all (every app but hello)")
    parser.add_argument("--cells", default=DEFAULT_CELLS, help=f"comma-separated cells of {', '.join(valid_cells())}")
    parser.add_argument("--activations", default="tanh", help="activations of the vanilla cell (rnn), e.g. tanh,relu")
    parser.add_argument("--layers", default="1", help="comma-separated depths, e.g. 1,2")
    parser.add_argument("--bidirectional", default="off", choices=list(BIDIRECTIONAL_MODES), help="off, on or both")
    parser.add_argument("--match-params", type=int, metavar="N", help="pick units so every model has N +- 5%% weights")
    parser.add_argument("--budget-seconds", type=float, metavar="S", help="train every run for S seconds, not epochs")
    parser.add_argument("--epochs", type=int, help="override every app's epoch count")
    parser.add_argument("--preset", default="demo", choices=PRESET_NAMES, help="the apps' preset (default: demo)")
    parser.add_argument("--repeats", type=int, default=1, help="runs per combination, with seeds seed..seed+K-1")
    parser.add_argument("--seed", type=int, default=0, help="first seed (default: 0)")
    parser.add_argument("--out", default="", help="results folder (default: runs/compare/<preset>[-<rule>])")
    return parser


def probes_parser() -> OneLineParser:
    from gallery.compare.probes import PROBE_PRESETS, TASKS

    parser = OneLineParser(
        prog="python -m gallery.compare probes",
        description="Adding and copy-memory problems at growing T per cell, with their memoryless baselines, and "
        "the norm of d loss / d h_t against T - t before and after training.",
    )
    parser.add_argument("--tasks", default=",".join(TASKS), help="adding, copy or both (default: both)")
    parser.add_argument("--cells", default=DEFAULT_CELLS, help="comma-separated cells of rnn, lstm, gru")
    parser.add_argument("--activations", help="vanilla cell activations (default: tanh,relu)")
    parser.add_argument("--lengths", help="comma-separated T, e.g. 10,30,100 (default: the preset's)")
    parser.add_argument("--steps", type=int, help="training steps per model (default: the preset's)")
    parser.add_argument("--units", type=int, help="hidden units (default: the preset's)")
    parser.add_argument("--batch-size", type=int, help="examples per step (default: the preset's)")
    parser.add_argument("--learning-rate", type=float, help="Adam learning rate (default: 0.001)")
    parser.add_argument("--preset", default="demo", choices=list(PROBE_PRESETS), help="smoke, demo or full")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.add_argument("--out", default="", help="folder (default: runs/compare/probes-<preset>)")
    return parser


def select_apps(text: str) -> list[str]:
    from gallery.apps import available

    installed = [entry.name for entry in available()]
    if text == "all":
        chosen = [name for name in installed if name != "hello"]
        if not chosen:
            raise UsageError("no application besides hello is installed yet; name apps with --apps, e.g. --apps hello")
        return chosen
    return _names(text, installed, "--apps")


def grid_settings(args: argparse.Namespace):
    from gallery.compare.grid import GridSettings

    for flag, value in (("--match-params", args.match_params), ("--epochs", args.epochs), ("--repeats", args.repeats)):
        if value is not None and value < 1:
            raise UsageError(f"{flag} must be at least 1, got {value}")
    if args.budget_seconds is not None and args.budget_seconds <= 0:
        raise UsageError(f"--budget-seconds must be positive, got {args.budget_seconds}")
    if args.seed < 0:
        raise UsageError(f"--seed must be at least 0, got {args.seed}")
    architectures = _architectures(args)
    apps = select_apps(args.apps)
    out = args.out
    if not out:
        rule = f"-params{args.match_params}" if args.match_params else ""
        rule += f"-budget{args.budget_seconds:g}s" if args.budget_seconds else ""
        rule += f"-epochs{args.epochs}" if args.epochs else ""
        out = str(RUNS / f"{args.preset}{rule}")
    return GridSettings(
        apps=tuple(apps),
        architectures=tuple(architectures),
        preset=args.preset,
        repeats=args.repeats,
        seed=args.seed,
        match_params=args.match_params,
        budget_seconds=args.budget_seconds,
        epochs=args.epochs,
        out=Path(out),
    )


def probe_settings(args: argparse.Namespace):
    from gallery.compare.probes import TASKS, settings_from_preset

    if "none" in args.cells.split(","):
        raise UsageError("the probes measure memory through recurrence; --cells none has none, leave it out")
    for flag, value in (
        ("--steps", args.steps),
        ("--units", args.units),
        ("--batch-size", args.batch_size),
    ):
        if value is not None and value < 1:
            raise UsageError(f"{flag} must be at least 1, got {value}")
    if args.learning_rate is not None and args.learning_rate <= 0:
        raise UsageError(f"--learning-rate must be positive, got {args.learning_rate}")
    architectures = _architectures(args)
    lengths = tuple(_integers(args.lengths, "--lengths", minimum=2)) if args.lengths else None
    return settings_from_preset(
        args.preset,
        architectures,
        tasks=tuple(_names(args.tasks, TASKS, "--tasks")),
        lengths=lengths,
        steps=args.steps,
        units=args.units,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        seed=args.seed,
        out=Path(args.out or RUNS / f"probes-{args.preset}"),
    )


def run_cli(argv: Sequence[str] | None = None) -> int:
    """Parse argv and run the grid or the probes; a user error is one line on stderr and status 2."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        return _run(argv)
    except SystemExit as exit:  # argparse: --help, or a bad flag already reported in one line
        return int(exit.code or 0)


def _run(argv: list[str]) -> int:
    try:
        if argv and argv[0] == "probes":
            from gallery.compare.probes import run_probes

            settings = probe_settings(probes_parser().parse_args(argv[1:]))
            run_probes(settings)
            print(f"probes: {settings.out / 'probes.md'}")
            return 0
        settings = grid_settings(grid_parser().parse_args(argv))
        from gallery.compare.grid import run_grid
        from gallery.compare.report import write_results

        print(f"comparing {', '.join(settings.apps)} x {', '.join(a.label for a in settings.architectures)}")
        print(f"fairness: {settings.fairness()}; sizes: {settings.sizing()}", flush=True)
        records = run_grid(settings, on_record=lambda records: write_results(settings, records, plots=False))
        write_results(settings, records)
        print((settings.out / "results.md").read_text(encoding="utf-8"))
        failed = [r for r in records if r["status"] == "failed"]
        print(f"results: {settings.out / 'results.md'}")
        return 1 if failed else 0
    except UsageError as error:
        print(f"python -m gallery.compare: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted; run the same command again to keep what finished and continue", file=sys.stderr)
        return 130


def main() -> typing.NoReturn:
    sys.exit(run_cli())
