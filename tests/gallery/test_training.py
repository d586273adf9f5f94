"""Training machinery: resume after an interruption, repeatable seeds, the time budget, MirroredStrategy."""

import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf

from gallery import apps, training
from gallery.config import RunConfig
from models.stacks import RNNSpec
from models.templates import many_to_many


class Interrupt(keras.callbacks.Callback):
    """Stands in for a killed process: stops the program (not just training) after a given epoch."""

    def __init__(self, after_epoch):
        super().__init__()
        self.after_epoch = after_epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.after_epoch:  # the backup of epoch `after_epoch` is written, the next epoch not begun
            raise KeyboardInterrupt


def toy_data(seed=0):
    rng = np.random.default_rng(seed)
    tokens = rng.integers(0, 6, (32, 8))
    data = tf.data.Dataset.from_tensor_slices((tokens[:, :-1], tokens[:, 1:])).batch(8)
    return data, data.take(1)


def compiled_model(config):
    training.set_seed(config.seed)
    model = many_to_many(RNNSpec("gru", 8), 6, vocab_size=6, embedding_dim=4)
    model.compile(training.optimizer(config), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def test_an_interrupted_run_resumes_at_the_next_epoch(tmp_path):
    config = RunConfig(epochs=5, patience=10)
    train, validation = toy_data()
    with pytest.raises(KeyboardInterrupt):
        training.fit(compiled_model(config), train, validation, config, tmp_path, callbacks=[Interrupt(3)])
    assert len(training.read_history(tmp_path / "history.csv")["epoch"]) == 3
    result = training.fit(compiled_model(config), train, validation, config, tmp_path)
    assert result.resumed_from == 3
    assert result.history["epoch"] == [0, 1, 2, 3, 4]
    assert result.seconds > 0


def test_same_seed_same_weights(tmp_path):
    config = RunConfig(epochs=2, seed=11)
    train, validation = toy_data()
    weights = []
    for name in ("a", "b"):
        model = compiled_model(config)
        training.fit(model, train, validation, config, tmp_path / name)
        weights.append(model.get_weights())
    assert all(np.array_equal(a, b) for a, b in zip(*weights))


def test_time_budget_stops_training(tmp_path):
    config = RunConfig(epochs=50, budget_seconds=0.001)
    train, validation = toy_data()
    result = training.fit(compiled_model(config), train, validation, config, tmp_path)
    assert result.epochs == 1


class RecordRate(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.rates = []

    def on_epoch_begin(self, epoch, logs=None):
        self.rates.append(float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate)))


def test_cosine_schedule_decays_to_a_tenth_by_epochs_or_by_the_budget_spent(tmp_path):
    config = RunConfig(epochs=5, patience=10, learning_rate=0.01)
    schedule, record = training.CosineSchedule(config), RecordRate()
    train, validation = toy_data()
    training.fit(compiled_model(config), train, validation, config, tmp_path / "a", callbacks=[schedule, record])
    expected = [0.01 * (0.1 + 0.9 * 0.5 * (1 + np.cos(np.pi * epoch / 5))) for epoch in range(5)]
    np.testing.assert_allclose(record.rates, expected, rtol=1e-6)
    # Half the budget spent by epoch 1 of 100 puts the rate at the middle of the curve, not at 1% of the way.
    budgeted = training.CosineSchedule(RunConfig(epochs=100, learning_rate=0.01, budget_seconds=10))
    assert budgeted.rate(1, 5.0) == pytest.approx(0.01 * 0.55)
    assert budgeted.rate(1, 50.0) == pytest.approx(0.001)


@pytest.mark.parametrize("app", ["captioning", "keywords", "language_model"])
def test_each_app_with_a_schedule_option_decays_its_rate_only_when_asked(app):
    config_class = apps.load(app).config
    (schedule,) = training.schedule_callbacks(config_class.from_preset("smoke", schedule="cosine"))
    assert isinstance(schedule, training.CosineSchedule)
    assert training.schedule_callbacks(config_class.from_preset("smoke", schedule="constant")) == []


def test_mirrored_strategy_trains_on_two_logical_cpus(tmp_path):
    script = textwrap.dedent(
        f"""
        import tensorflow as tf
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        from gallery.hello import APP
        from gallery.hello.config import HelloConfig
        from gallery import training
        config = HelloConfig.from_preset("smoke", strategy="mirrored", out={str(tmp_path)!r})
        strategy = training.distribution_strategy(config)
        assert strategy.num_replicas_in_sync == 2, strategy.num_replicas_in_sync
        result = APP.run(config)
        assert result.metrics["primary"]["value"] == 1.0, result.metrics
        """
    )
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr[-2000:]


def test_weight_decay_is_decoupled_and_shrinks_weights_without_gradient():
    assert training.optimizer(RunConfig()).weight_decay is None
    optimizer = training.optimizer(RunConfig(weight_decay=0.5, learning_rate=0.1, clipnorm=0.0))
    weight = keras.Variable(np.ones(3, np.float32))
    optimizer.apply_gradients([(np.zeros(3, np.float32), weight)])
    # AdamW: w <- w - lr * wd * w, even where the gradient (and so Adam's own step) is zero.
    np.testing.assert_allclose(weight.numpy(), 1 - 0.1 * 0.5, rtol=1e-6)


def test_array_batches_cover_every_row_once_per_epoch_in_a_new_order():
    from datasets.batches import ArrayBatches

    inputs = {"a": np.arange(10), "b": np.arange(10) * 10}
    batches = ArrayBatches(inputs, np.arange(10) + 100, batch_size=4, shuffle=True, seed=1)
    assert len(batches) == 3

    def epoch():
        rows = [batches[i] for i in range(len(batches))]
        for x, y in rows:
            np.testing.assert_array_equal(x["b"], x["a"] * 10)
            np.testing.assert_array_equal(y, x["a"] + 100)
        return np.concatenate([x["a"] for x, _ in rows])

    first = epoch()
    batches.on_epoch_end()
    second = epoch()
    assert sorted(first) == sorted(second) == list(range(10))
    assert list(first) != list(second)
    fixed = ArrayBatches(np.arange(5), np.arange(5), np.ones(5), batch_size=2)
    assert [len(fixed[i][2]) for i in range(len(fixed))] == [2, 2, 1]
    assert list(fixed[0][0]) == [0, 1]


def _padded_rows(lengths, width):
    rows = np.zeros((len(lengths), width), np.int32)
    for row, length in enumerate(lengths):
        rows[row, :length] = np.arange(1, length + 1)
    return rows


def test_bucketed_batches_group_similar_lengths_and_cut_only_padding():
    from datasets.batches import ArrayBatches

    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 19, size=1003)
    ids = _padded_rows(lengths, 19)
    # The row number rides along in a 1-D array, which is never cut.
    batches = ArrayBatches(
        {"ids": ids, "row": np.arange(len(ids))}, ids, (ids != 0).astype(np.float32), batch_size=8, shuffle=True,
        seed=2, lengths=lengths, width_multiple=4,
    )  # fmt: skip

    def epoch():
        seen, spreads = [], []
        for index in range(len(batches)):
            inputs, targets, weights = batches[index]
            rows = inputs["row"]
            width = inputs["ids"].shape[1]
            assert width % 4 == 0 or width == 19
            assert width >= lengths[rows].max() > width - 4
            np.testing.assert_array_equal(inputs["ids"], ids[rows, :width])
            assert targets.shape == weights.shape == (len(rows), width)
            spreads.append(np.ptp(lengths[rows]))
            seen.append(rows)
        assert len(seen[-1]) == 1003 % 8  # the short batch stays last
        assert np.median(spreads) <= 1  # sorted within pools of 50 batches: near-equal lengths in a batch
        return np.concatenate(seen)

    first = epoch()
    batches.on_epoch_end()
    second = epoch()
    assert sorted(first) == sorted(second) == list(range(1003))
    assert list(first) != list(second)
    # Without shuffling, the rows come shortest first.
    fixed = ArrayBatches(ids, ids, batch_size=100, lengths=lengths)
    assert np.all(np.diff(lengths[fixed.order]) >= 0)
    with pytest.raises(ValueError, match="lengths has 3 entries for 1003 rows"):
        ArrayBatches(ids, ids, batch_size=8, lengths=[1, 2, 3])


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="the tf.data route is TensorFlow's")
def test_array_batches_reach_tensorflow_unchanged_and_reshuffled_by_the_callback():
    from datasets.batches import ArrayBatches, Reshuffle, as_tf_dataset

    inputs = (np.arange(10, dtype=np.float32)[:, None] * [1, 2], np.arange(10))
    batches = ArrayBatches(inputs, np.arange(10) + 100, batch_size=4, shuffle=True, seed=3)
    dataset = as_tf_dataset(batches)
    assert dataset.element_spec[0][0].shape.as_list() == [None, 2]

    def epoch():
        got = [((x0.numpy(), x1.numpy()), y.numpy()) for (x0, x1), y in dataset]
        for (want_x0, want_x1), want_y in (batches[i] for i in range(len(batches))):
            (x0, x1), y = got.pop(0)
            np.testing.assert_array_equal(x0, want_x0)
            np.testing.assert_array_equal(x1, want_x1)
            np.testing.assert_array_equal(y, want_y)
        return list(batches.order)

    first = epoch()
    Reshuffle(batches).on_epoch_end(0)
    assert epoch() != first


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="the tf.data route is TensorFlow's")
def test_bucketed_batches_reach_tensorflow_with_their_own_widths():
    from datasets.batches import ArrayBatches, as_tf_dataset

    lengths = np.array([1, 9, 2, 10, 3, 11])
    ids = _padded_rows(lengths, 12)
    batches = ArrayBatches(ids, ids, batch_size=2, lengths=lengths)
    dataset = as_tf_dataset(batches)
    assert dataset.element_spec[0].shape.as_list() == [None, None]
    widths = [x.shape[1] for x, _ in dataset]
    assert widths == [4, 12, 12]  # lengths 1-2, 3-9 and 10-11, rounded up to multiples of 4
    for (x, _), index in zip(dataset, range(len(batches))):
        np.testing.assert_array_equal(x.numpy(), batches[index][0])
