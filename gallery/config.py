"""Run configuration: one dataclass per application, the single source of defaults, presets and flag help.

`RunConfig` holds the flags every application shares; an app subclasses it, adds its own fields with `option`,
and overrides `PRESETS`. The dataclass defaults are the `demo` preset; `smoke` and `full` override some of them.
`gallery.cli` turns the fields into command-line flags.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from typing import Any, ClassVar

from gallery.errors import UsageError
from models.cells import ACTIVATIONS, CELL_CHOICES
from models.stacks import RNNSpec

PRESET_NAMES = ("smoke", "demo", "full")
STRATEGIES = ("default", "mirrored", "multi_worker")


def option(default: Any, help: str, *, choices: tuple | None = None, minimum: float | None = None) -> Any:
    """A config field with its help text and the values it accepts."""
    return field(default=default, metadata={"help": help, "choices": choices, "minimum": minimum})


def schedule_option(default: str) -> Any:
    """The `schedule` field of the apps whose learning rate may decay (`gallery.training.schedule_callbacks`)."""
    return option(
        default,
        "learning rate: constant, or cosine decay to 10% over --epochs (or the time budget)",
        choices=("constant", "cosine"),
    )


def override(name: str, default: Any) -> Any:
    """A shared field with an app's own default (help and accepted values stay those of RunConfig)."""
    base = RunConfig.__dataclass_fields__[name]
    return field(default=default, metadata=base.metadata)


@dataclass
class RunConfig:
    """The flags shared by every application."""

    APP: ClassVar[str] = ""
    # Apps whose network predicts each step from the steps before it say here why reading backwards is refused.
    UNIDIRECTIONAL_REASON: ClassVar[str] = ""
    PRESETS: ClassVar[dict[str, dict[str, Any]]] = {"smoke": {}, "demo": {}, "full": {}}
    # Fields that say where and how a run is carried out, not what it learns: configs that differ only in these are
    # the same run, so the same command finds it, resumes it or reports it finished. An app adds its own such fields.
    NOT_COMPARED: ClassVar[tuple[str, ...]] = ("out", "overwrite", "strategy", "tensorboard")

    preset: str = option(
        "demo", "smoke: seconds, for tests; demo: a few minutes on a CPU; full: best result", choices=PRESET_NAMES
    )
    cell: str = option("lstm", "recurrent cell; none = no recurrence (the one-to-one baseline)", choices=CELL_CHOICES)
    activation: str = option("tanh", "activation of the vanilla cell (--cell rnn)", choices=ACTIVATIONS)
    units: int = option(128, "hidden units per recurrent layer", minimum=1)
    layers: int = option(1, "stacked recurrent layers", minimum=1)
    bidirectional: bool = option(False, "read sequences both ways (encoders and classifiers only)")
    dropout: float = option(0.0, "dropout between recurrent layers", minimum=0.0)
    recurrent_dropout: float = option(
        0.0, "dropout of the recurrent state at every step, one mask per sequence (LSTM, GRU, SimpleRNN)", minimum=0.0
    )
    epochs: int = option(10, "maximum training epochs", minimum=1)
    batch_size: int = option(64, "examples per training batch", minimum=1)
    learning_rate: float = option(1e-3, "Adam learning rate", minimum=0.0)
    clipnorm: float = option(1.0, "clip each gradient to this global norm (0 = off)", minimum=0.0)
    weight_decay: float = option(
        0.0, "decoupled weight decay (AdamW): each step shrinks every weight by learning rate x this", minimum=0.0
    )
    patience: int = option(5, "early stopping: epochs without validation improvement", minimum=1)
    budget_seconds: float = option(0.0, "stop training after this many seconds (0 = no limit)", minimum=0.0)
    seed: int = option(0, "random seed: the same data, initial weights and batch order every time", minimum=0)
    data: str = option("default", "data source")
    out: str = option(
        "",
        "run folder: new, empty, or this configuration's run (default: runs/<app>/<architecture>-<preset>, "
        "with -2, -3, ... when that folder holds a run of another configuration)",
    )
    overwrite: bool = option(
        False, "train again even if the run folder holds a finished run, or a run of another configuration"
    )
    strategy: str = option(
        "default",
        "default: one device; mirrored: all visible GPUs (MirroredStrategy); multi_worker: the machines TF_CONFIG "
        "names, the same command on each (MultiWorkerMirroredStrategy)",
        choices=STRATEGIES,
    )
    tensorboard: bool = option(False, "also write TensorBoard logs to <run folder>/tensorboard")

    @classmethod
    def from_preset(cls, preset: str = "demo", **overrides: Any) -> RunConfig:
        """The config of a preset with some fields overridden, validated."""
        if preset not in PRESET_NAMES:
            raise UsageError(f"unknown preset {preset!r}; choose one of: {', '.join(PRESET_NAMES)}")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise UsageError(f"{cls.APP or cls.__name__} has no option {unknown[0]!r}")
        values = {**cls.PRESETS.get(preset, {}), **overrides, "preset": preset}
        config = cls(**values)
        config.validate()
        return config

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> RunConfig:
        """A config saved by `to_dict`; keys this version does not know are ignored."""
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{key: value for key, value in values.items() if key in known})

    def to_dict(self) -> dict[str, Any]:
        """What config.json holds: the app and every field but `overwrite`, an instruction to this one command."""
        values = dataclasses.asdict(self)
        values.pop("overwrite")
        return {"app": self.APP, **values}

    def compared_fields(self) -> list[str]:
        """The fields that make two runs the same run: all but NOT_COMPARED."""
        return [spec.name for spec in dataclasses.fields(self) if spec.name not in self.NOT_COMPARED]

    def validate(self) -> None:
        """Raise UsageError naming the first bad value and what is accepted instead."""
        hints = typing.get_type_hints(type(self))
        for spec in dataclasses.fields(self):
            value = getattr(self, spec.name)
            flag = "--" + spec.name.replace("_", "-")
            expected = hints[spec.name]
            if expected is bool and not isinstance(value, bool):
                raise UsageError(f"{flag} must be true or false, got {value!r}")
            if expected in (int, float) and (isinstance(value, bool) or not isinstance(value, (int, float))):
                raise UsageError(f"{flag} must be a number, got {value!r}")
            choices = spec.metadata.get("choices")
            if choices and value not in choices:
                raise UsageError(f"{flag} {value!r} is not valid; choose one of: {', '.join(map(str, choices))}")
            minimum = spec.metadata.get("minimum")
            if minimum is not None and value < minimum:
                raise UsageError(f"{flag} must be at least {minimum}, got {value}")
        if self.bidirectional and self.UNIDIRECTIONAL_REASON:
            raise UsageError(f"--bidirectional {self.UNIDIRECTIONAL_REASON}")
        if self.dropout >= 1:
            raise UsageError(f"--dropout must be below 1, got {self.dropout}")
        if self.recurrent_dropout >= 1:
            raise UsageError(f"--recurrent-dropout must be below 1, got {self.recurrent_dropout}")
        if self.recurrent_dropout and (self.cell == "none" or self.activation == "maxout"):
            raise UsageError("--recurrent-dropout needs a recurrent cell (lstm, gru, or rnn other than maxout)")
        if self.cell != "rnn" and self.activation != "tanh":
            raise UsageError(
                f"--activation {self.activation} applies to --cell rnn only; LSTM and GRU keep their gates' tanh"
            )

    def rnn_spec(self, **changes: Any) -> RNNSpec:
        values = {
            "cell": self.cell,
            "units": self.units,
            "layers": self.layers,
            "activation": self.activation,
            "bidirectional": self.bidirectional,
            "dropout": self.dropout,
            "recurrent_dropout": self.recurrent_dropout,
        }
        values.update(changes)
        return RNNSpec(**values)

    def architecture(self) -> str:
        """A short name of the recurrent architecture, e.g. `lstm-2x128` or `rnn-relu-1x64-bi`."""
        cell = self.cell if self.cell != "rnn" or self.activation == "tanh" else f"rnn-{self.activation}"
        return f"{cell}-{self.layers}x{self.units}" + ("-bi" if self.bidirectional else "")
