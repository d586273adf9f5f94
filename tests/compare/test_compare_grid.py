"""The comparison grid end to end on two apps x two cells, resuming, the parameter matcher and the fairness rules."""

import csv
import json
from dataclasses import dataclass

import keras
import numpy as np
import pytest
import tensorflow as tf

from gallery import training
from gallery.cli import App
from gallery.compare import grid, params, report
from gallery.config import RunConfig, override
from gallery.errors import UsageError
from gallery.hello import APP as HELLO
from gallery.hello.model import build_model as build_hello_model
from models.stacks import RecurrentStack


@dataclass
class SumConfig(RunConfig):
    """A second app with the uniform interface: regress the sum of a short sequence (many-to-one)."""

    APP = "toy_sum"
    PRESETS = {"smoke": {"epochs": 2}, "demo": {}, "full": {}}

    units: int = override("units", 4)
    epochs: int = override("epochs", 3)
    batch_size: int = override("batch_size", 16)

    def validate(self) -> None:
        super().validate()
        if self.cell == "none":
            raise UsageError("--cell none: toy_sum needs memory to add")


def build_sum_model(config: SumConfig) -> keras.Model:
    inputs = keras.Input(shape=(6, 1))
    _, states = RecurrentStack(config.rnn_spec(), "rnn")(inputs)
    return keras.Model(inputs, keras.layers.Dense(1, name="readout")(states[-1][0]))


def train_sum(config: SumConfig, run_dir) -> dict:
    values = np.random.default_rng(config.seed).uniform(size=(48, 6, 1)).astype("float32")
    data = tf.data.Dataset.from_tensor_slices((values, values.sum(axis=1))).batch(config.batch_size)
    with training.distribution_strategy(config).scope():
        model = build_sum_model(config)
        model.compile(optimizer=training.optimizer(config), loss="mse")
    result = training.fit(model, data.take(2), data.skip(2), config, run_dir)
    primary = training.Primary("validation MSE", result.history["val_loss"][-1], higher_is_better=False)
    return training.write_finished_run(run_dir, config, model, result, primary, curve_title="toy sum")


SUM = App("toy_sum", "many-to-one", "sum of a sequence", SumConfig, train_sum)


class Loader:
    """Hands out the two apps and counts how often each one trains."""

    def __init__(self):
        self.trained = []

    def __call__(self, name):
        app = {"hello": HELLO, "toy_sum": SUM}[name]

        def counted_train(config, run_dir):
            self.trained.append((name, config.cell))
            return app.train_and_evaluate(config, run_dir)

        return App(app.name, app.layout, app.description, app.config, counted_train)


def settings_for(out, **changes):
    values = {
        "apps": ("hello", "toy_sum"),
        "architectures": tuple(grid.architectures(["rnn", "lstm"])),
        "preset": "smoke",
        "epochs": 2,
        "out": out,
    }
    return grid.GridSettings(**{**values, **changes})


@pytest.fixture(scope="module")
def finished_grid(tmp_path_factory):
    out = tmp_path_factory.mktemp("grid")
    settings = settings_for(out)
    loader = Loader()
    records = grid.run_grid(settings, load_app=loader)
    report.write_results(settings, records)
    return settings, records, loader


def test_smoke_grid_trains_every_combination_and_tabulates_it(finished_grid):
    settings, records, loader = finished_grid
    assert sorted(loader.trained) == sorted([(a, c) for a in ("hello", "toy_sum") for c in ("rnn", "lstm")])
    assert [r["status"] for r in records] == ["finished"] * 4
    out = settings.out
    with (out / "results.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert {(row["app"], row["architecture"]) for row in rows} == {
        (a, c) for a in ("hello", "toy_sum") for c in ("rnn-1L", "lstm-1L")
    }
    for row in rows:
        folder = out / row["app"] / f"{row['architecture']}-{row['units']}u-seed0"
        metrics = json.loads((folder / "metrics.json").read_text())
        assert float(row["value"]) == pytest.approx(metrics["primary"]["value"])
        assert int(row["parameters"]) == metrics["parameters"]
        assert int(row["epochs"]) == 2
        assert float(row["steps_per_second"]) > 0
    # toy_sum trains 2 batches per epoch for 2 epochs; hello one batch per epoch.
    assert {row["app"]: int(row["steps"]) for row in rows} == {"hello": 2, "toy_sum": 4}
    table = (out / "results.md").read_text()
    assert "| app | measure | rnn-1L | lstm-1L |" in table
    assert "| toy_sum | validation MSE (lower is better) |" in table
    assert "equal epochs" in table
    lstm_hello = next(r for r in records if r["app"] == "hello" and r["cell"] == "lstm")
    assert f"| hello | parameters (units) | 36 (3) | {lstm_hello['parameters']:,} (3) |" in table
    summary = json.loads((out / "results.json").read_text())["summary"]
    assert len(summary) == 4 and all(entry["runs"] == 1 for entry in summary)
    for picture in ("metrics.png", "learning_curves.png"):
        assert (out / picture).stat().st_size > 1000


def test_running_again_skips_finished_runs_and_redoes_only_a_missing_one(finished_grid):
    settings, records, _ = finished_grid
    loader = Loader()
    again = grid.run_grid(settings, load_app=loader)
    assert loader.trained == []
    assert [r["value"] for r in again] == [r["value"] for r in records]
    (settings.out / "toy_sum" / "rnn-1L-4u-seed0" / "metrics.json").unlink()
    grid.run_grid(settings, load_app=loader)
    assert loader.trained == [("toy_sum", "rnn")]


def test_a_folder_keeps_one_fairness_rule(finished_grid):
    settings, _, _ = finished_grid
    with pytest.raises(UsageError, match="budget_seconds None -> 30"):
        grid.run_grid(settings_for(settings.out, budget_seconds=30.0), load_app=Loader())


def test_cells_an_app_refuses_are_reported_not_trained(tmp_path):
    settings = settings_for(tmp_path, apps=("toy_sum",), architectures=(grid.Architecture("none"),))
    loader = Loader()
    records = grid.run_grid(settings, load_app=loader)
    assert loader.trained == []
    assert records[0]["status"] == "not applicable" and "none" in records[0]["message"]
    table = report.markdown_table(settings, records, report.summarise(records))
    assert "toy_sum: no finished run" in table


def test_equal_time_rule_lifts_the_epoch_limit_and_early_stopping():
    settings = grid.GridSettings(apps=("toy_sum",), architectures=(), preset="smoke", budget_seconds=12.5)
    config = grid.base_config(SUM, grid.Architecture("gru"), settings)
    assert config.budget_seconds == 12.5 and config.epochs == grid.BUDGET_EPOCHS == config.patience
    assert "equal wall-clock time" in settings.fairness()
    plain = grid.base_config(SUM, grid.Architecture("gru"), grid.GridSettings(("toy_sum",), (), preset="smoke"))
    assert plain.epochs == 2 and plain.budget_seconds == 0


@dataclass
class BudgetedSumConfig(SumConfig):
    budget_seconds: float = override("budget_seconds", 60.0)


def test_equal_epochs_rule_lifts_a_presets_own_time_budget():
    budgeted = App("toy_sum", "many-to-one", "sum of a sequence", BudgetedSumConfig, train_sum)
    assert budgeted.config.from_preset("smoke").budget_seconds == 60.0
    config = grid.base_config(budgeted, grid.Architecture("gru"), grid.GridSettings(("toy_sum",), (), preset="smoke"))
    assert config.budget_seconds == 0 and config.epochs == 2


def test_counting_builds_the_real_model_without_training(tmp_path):
    config = HELLO.config.from_preset("smoke", cell="lstm", units=5, out=str(tmp_path / "never"))
    assert params.count_parameters(HELLO, config) == build_hello_model(config, 4).count_params()
    assert not (tmp_path / "never").exists()


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_matcher_finds_units_within_five_percent_of_the_target(cell):
    config = SUM.config.from_preset("smoke", cell=cell)
    built = []

    def count_at(units):
        built.append(units)
        return params.count_parameters(SUM, SumConfig.from_dict({**config.to_dict(), "units": units}))

    units, count = params.match_units(count_at, 3000)
    assert abs(count - 3000) <= 150
    assert count == build_sum_model(SumConfig.from_dict({**config.to_dict(), "units": units})).count_params()
    assert len(built) == 4  # three samples fix the quadratic; the answer is counted once more


def test_matcher_falls_back_to_bisection_and_says_when_no_width_fits():
    # Not quadratic: 1000 parameters per unit up to 40 units, then 10 per unit.
    def stepped(units):
        return 1000 * min(units, 40) + 10 * max(0, units - 40)

    units, count = params.match_units(stepped, 25_000)
    assert (units, count) == (25, 25_000)
    with pytest.raises(params.ParameterMatchError, match="even 1 unit"):
        params.match_units(lambda units: 500 + units, 100)
    with pytest.raises(params.ParameterMatchError, match="no width is within"):
        params.match_units(lambda units: 1000 * units, 2500)
