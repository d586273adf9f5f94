"""NLL per frame and frame accuracy: the Keras loss and metrics against NumPy, padding excluded."""

import keras
import numpy as np

from gallery.music.metrics import FrameAccuracy, FrameNLL, FrameNLLMetric, frame_counts_numpy, frame_nll_numpy


def naive_nll(targets, logits):
    """-sum_k [y log p + (1 - y) log(1 - p)] with p = 1 / (1 + exp(-x)), written the textbook way."""
    p = 1.0 / (1.0 + np.exp(-logits.astype(np.float64)))
    return -(targets * np.log(p) + (1 - targets) * np.log(1 - p)).sum(axis=-1)


def test_numpy_nll_matches_the_textbook_formula_and_stays_finite(rng):
    logits = rng.normal(0, 3, (4, 7, 88))
    targets = (rng.random((4, 7, 88)) < 0.05).astype(np.float32)
    assert np.allclose(frame_nll_numpy(targets, logits), naive_nll(targets, logits), rtol=1e-10)
    # Confident and wrong: the textbook formula overflows, the stable one gives |x|.
    extreme = frame_nll_numpy(np.array([[1.0, 0.0]]), np.array([[-800.0, 800.0]]))
    assert np.allclose(extreme, [1600.0])


def test_keras_loss_averages_over_real_frames_only(rng):
    logits = rng.normal(0, 2, (3, 5, 88)).astype(np.float32)
    targets = (rng.random((3, 5, 88)) < 0.05).astype(np.float32)
    weights = np.ones((3, 5), np.float32)
    weights[0, 3:] = 0
    weights[2, 1:] = 0
    per_frame = naive_nll(targets, logits)
    expected = per_frame[weights > 0].mean()
    loss = float(FrameNLL()(targets, logits, sample_weight=weights))
    assert abs(loss - expected) < 1e-4 * expected
    metric = FrameNLLMetric()
    metric.update_state(targets[:2], logits[:2], sample_weight=weights[:2])
    metric.update_state(targets[2:], logits[2:], sample_weight=weights[2:])
    assert abs(float(metric.result()) - expected) < 1e-4 * expected


def test_frame_accuracy_is_tp_over_tp_fp_fn(rng):
    logits = rng.normal(-1, 2, (2, 6, 88)).astype(np.float32)
    targets = (rng.random((2, 6, 88)) < 0.1).astype(np.float32)
    weights = np.ones((2, 6), np.float32)
    weights[1, 4:] = 0
    tp, fp, fn = frame_counts_numpy(targets[weights > 0], logits[weights > 0])
    accuracy = FrameAccuracy()
    accuracy.update_state(targets, logits, sample_weight=weights)
    assert abs(float(accuracy.result()) - tp / (tp + fp + fn)) < 1e-6
    # A perfect prediction scores 1.
    perfect = FrameAccuracy()
    perfect.update_state(targets, np.where(targets > 0, 5.0, -5.0))
    assert float(perfect.result()) == 1.0


def test_loss_and_metrics_round_trip_through_their_config():
    for item in (FrameNLL(), FrameNLLMetric(), FrameAccuracy()):
        restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(item))
        assert type(restored) is type(item) and restored.name == item.name


def test_the_reported_nll_is_every_test_frame_after_the_first_of_the_json_test_split(tmp_path, rng):
    """The protocol of the polyphonic-music anchors: the JSON's own test pieces, each frame predicted from the frames
    before it (so every frame but a piece's first), NLL summed over the 88 keys, averaged over those frames."""
    import json

    from datasets import music as music_data
    from gallery.music.metrics import evaluate

    def piece(steps):
        return [sorted({int(p) for p in rng.integers(36, 84, rng.integers(0, 4))}) for _ in range(steps)]

    path = tmp_path / "tiny.json"
    splits = {"train": [piece(6)], "valid": [piece(5)], "test": [piece(4), piece(9), piece(1), piece(7)]}
    path.write_text(json.dumps(splits))
    data = music_data.load(str(path))
    test_rolls = data.splits["test"]
    assert [len(roll) for roll in test_rolls] == [4, 9, 7]  # a one-step piece has nothing to predict

    # A model with no recurrence: logits of frame t are W x_{t-1} + b, computable in NumPy.
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((None, 88)), keras.layers.Dense(88, name="output")])
    weights, bias = (np.asarray(w, np.float64) for w in model.get_layer(index=0).get_weights())
    total, frames = 0.0, 0
    for raw in splits["test"]:
        roll = np.zeros((len(raw), 88))
        for step, pitches in enumerate(raw):
            roll[step, [p - 21 for p in pitches]] = 1
        if len(raw) < 2:
            continue
        logits = roll[:-1] @ weights + bias
        total += naive_nll(roll[1:], logits).sum()
        frames += len(raw) - 1
    reported = evaluate(model, test_rolls, batch_size=2)
    assert reported["frames"] == frames == 3 + 8 + 6 and reported["pieces"] == 3
    assert abs(reported["nll_per_frame"] - total / frames) < 1e-4 * (total / frames)
