"""The captioning app: a smoke run end to end, the `caption` verb on images the test writes (every colour mode, both
decoders, attention maps), the step model against the training-time forward pass, metrics, and bad input."""

import json
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
from PIL import Image

from datasets import scenes
from datasets.captions import Vocabulary
from gallery import runs
from gallery.captioning import APP
from gallery.captioning.captioner import Captioner
from gallery.captioning.config import ENCODER_WIDTH, CaptioningConfig
from gallery.captioning.data import VOCABULARY_FILE, grounded_word_groups
from gallery.captioning.metrics import bleu_scores, semantic_scores
from gallery.captioning.model import build_encoder, build_model, colour_view, shape_view
from gallery.cli import run_cli
from gallery.statistics import wilson_interval

REPOSITORY = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("captioning") / "run"
    config = CaptioningConfig.from_preset("smoke", out=str(out), epochs=1, image_size=32)
    return APP.run(config)


def test_smoke_run_writes_a_finished_run(smoke_run):
    run_dir = smoke_run.run_dir
    for name in ("model.keras", "config.json", "vocabulary.json", "metrics.json", "captions.png", "showcase.json"):
        assert (run_dir / name).is_file(), name
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["primary"]["name"] == "semantic accuracy (seen combinations)"
    assert metrics["primary"]["higher_is_better"] is True
    assert set(metrics["test"]) == {"seen", "unseen"}
    for group in metrics["test"].values():
        assert set(group) >= {"bleu1", "bleu2", "bleu3", "bleu4", "semantic_accuracy", "truthful", "parsed"}
        assert 0.0 <= group["semantic_accuracy"] <= 1.0
    samples = json.loads((run_dir / "test_captions.json").read_text())
    for name, group in metrics["test"].items():
        # Both groups, the held-out combinations too, carry the interval of their accuracy, counted from the captions.
        right = sum(sample["correct"] for sample in samples if sample["group"] == f"test_{name}")
        assert group["count"] == 16 and group["semantic_correct"] == right
        assert group["semantic_accuracy"] == pytest.approx(right / 16)
        assert group["semantic_accuracy_interval95"] == pytest.approx(list(wilson_interval(right, 16)))
    assert metrics["primary"]["interval95"] == pytest.approx(metrics["test"]["seen"]["semantic_accuracy_interval95"])
    assert {sample["group"] for sample in samples} == {"test_seen", "test_unseen"}
    showcase = json.loads((run_dir / "showcase.json").read_text())
    assert all((run_dir / image["path"]).is_file() for image in showcase["images"])
    assert not (run_dir / "checkpoints").exists()


def _images(folder: Path) -> list[Path]:
    rng = np.random.default_rng(0)
    scene = scenes.random_scene(rng)
    rgb = Image.fromarray(scenes.draw_scene(scene, rng, 80))
    paths = [
        (folder / "scene.png", rgb, {}),
        (folder / "gray.jpg", rgb.convert("L"), {}),
        (folder / "rgba.png", rgb.convert("RGBA"), {}),
        (folder / "palette.gif", rgb.convert("P"), {}),
        (folder / "cmyk.jpg", rgb.convert("CMYK"), {}),
        (folder / "deep.png", Image.fromarray(np.asarray(rgb.convert("L"), np.uint16) * 256), {}),
        (folder / "huge.jpg", rgb.resize((5000, 5000)), {"quality": 40}),
    ]
    for path, image, kwargs in paths:
        image.save(path, **kwargs)
    return [path for path, _, _ in paths]


def test_caption_verb_on_every_kind_of_image(smoke_run, tmp_path, capsys):
    paths = _images(tmp_path)
    vocabulary = set(json.loads((smoke_run.run_dir / "vocabulary.json").read_text()))
    for beam in ("1", "3"):
        status = run_cli(APP, ["caption", *map(str, paths), "--run", str(smoke_run.run_dir), "--beam", beam])
        assert status == 0
        output = capsys.readouterr().out.strip().splitlines()
        # An attention model adds an indented "attention map: ..." line under each caption.
        lines = [line for line in output if not line.startswith("  attention map:")]
        assert len(lines) == len(paths)
        for path, line in zip(paths, lines):
            assert line.startswith(f"{path}:")
            assert set(line.split(":", 1)[1].split()) <= vocabulary


def _small_config(**changes):
    # Grounding off unless a test asks: the other tests build models without a vocabulary's word groups.
    values = {"units": 8, "embedding_dim": 6, "image_size": 32, "grounding": "off", **changes}
    return CaptioningConfig.from_preset("smoke", **values)


@pytest.mark.parametrize(
    "inject, attention, cell",
    [("init", "none", "lstm"), ("pre", "none", "gru"), ("par", "additive", "lstm"), ("merge", "dot", "rnn")],
)
def test_step_model_equals_the_training_forward_pass(inject, attention, cell, rng):
    config = _small_config(inject=inject, attention=attention, cell=cell, layers=2)
    model = build_model(config, 12)
    images = rng.uniform(0, 255, (3, 32, 32, 3)).astype("float32")
    tokens = rng.integers(1, 12, (3, 7)).astype("int32")
    full = np.asarray(model([images, tokens], training=False))
    vocabulary = Vocabulary(["[pad]", "[start]", "[end]", "[UNK]"] + [f"w{i}" for i in range(8)])
    runner = Captioner(model, vocabulary, 10).runner
    assert runner.inference.has_attention == (attention != "none")
    context, states = runner.start(images)
    stepped = []
    for t in range(tokens.shape[1]):
        logits, states, weights = runner(tokens[:, t], context, states)
        stepped.append(logits)
        if weights is not None:
            assert weights.shape == (3, 16)  # a 32-pixel image gives a 4 x 4 grid of regions
            assert np.allclose(weights.sum(axis=-1), 1.0, atol=1e-5)
    assert np.abs(np.stack(stepped, axis=1) - full).max() < 1e-4


def _fabricated_run(folder: Path, **changes) -> Path:
    """A finished run folder with an untrained model: what the verb needs, without paying for training."""
    config = _small_config(out=str(folder), **changes)
    vocabulary = Vocabulary.build([], words=scenes.SceneData.vocabulary_words())
    groups = grounded_word_groups(vocabulary) if config.grounding != "off" else None
    model = build_model(config, len(vocabulary), groups)
    runs.write_config(folder, config)
    runs.write_json(folder / VOCABULARY_FILE, vocabulary.words)
    runs.save_model(model, folder / "model.keras")
    runs.write_metrics(
        folder, primary_name="x", primary_value=0.0, higher_is_better=True, parameters=1, train_seconds=0
    )
    return folder


def test_attention_runs_draw_a_map_per_word_and_round_trip(tmp_path, capsys):
    run_dir = _fabricated_run(tmp_path / "run", attention="additive", inject="merge", max_length=4)
    image = _images(tmp_path)[0]
    maps = tmp_path / "maps"
    assert run_cli(APP, ["caption", str(image), "--run", str(run_dir), "--maps", str(maps)]) == 0
    output = capsys.readouterr().out
    assert "attention map:" in output
    assert (maps / "scene_attention.png").is_file()
    # Loading in safe mode gives the same logits as the model that was saved.
    loaded = keras.saving.load_model(run_dir / "model.keras", safe_mode=True, compile=False)
    built = build_model(
        _small_config(attention="additive", inject="merge"), len(loaded.get_layer("output").get_weights()[1])
    )
    built.set_weights(loaded.get_weights())
    inputs = [np.full((1, 32, 32, 3), 100.0, np.float32), np.array([[1, 5, 6]], np.int32)]
    assert np.allclose(np.asarray(loaded(inputs)), np.asarray(built(inputs)), atol=1e-6)


def test_factorised_views_are_blind_to_what_their_words_must_not_pair_with(rng):
    colours_of, shapes_of = colour_view(32, ENCODER_WIDTH), shape_view(32, ENCODER_WIDTH)
    image = rng.uniform(0, 255, (1, 32, 32, 3)).astype("float32")
    # A red shape made blue or green (the channels permuted): the shape view cannot tell.
    recoloured = image[..., [2, 0, 1]]
    shapes = np.asarray(shapes_of(image, training=False))
    assert shapes.shape == (1, 16, 4 * ENCODER_WIDTH)  # the small CNN's 4 x 4 grid of a 32-pixel image
    assert np.allclose(np.asarray(shapes_of(recoloured, training=False)), shapes, atol=1e-5)
    # The pixels of each region shuffled (its outline gone, its colours kept): the colour view cannot tell.
    blocks = image.reshape(1, 4, 8, 4, 8, 3).transpose(0, 1, 3, 2, 4, 5).reshape(1, 4, 4, 64, 3)
    shuffled = blocks[:, :, :, rng.permutation(64)].reshape(1, 4, 4, 8, 8, 3).transpose(0, 1, 3, 2, 4, 5)
    colours = np.asarray(colours_of(image))
    assert np.allclose(np.asarray(colours_of(shuffled.reshape(1, 32, 32, 3))), colours, atol=1e-5)
    # Both still see what they are for.
    assert not np.allclose(np.asarray(colours_of(recoloured)), colours, atol=1e-3)
    assert not np.allclose(np.asarray(shapes_of(shuffled.reshape(1, 32, 32, 3), training=False)), shapes, atol=1e-3)


def test_factorised_grounded_model_steps_like_the_full_pass_and_round_trips(tmp_path, capsys, rng):
    run_dir = _fabricated_run(tmp_path / "run", grounding="views", max_length=4)
    assert run_cli(APP, ["caption", str(_images(tmp_path)[0]), "--run", str(run_dir), "--beam", "2"]) == 0
    model = keras.saving.load_model(run_dir / "model.keras", safe_mode=True, compile=False)
    assert model.get_layer("group_features_1").output.shape == (None, 16, 4 * ENCODER_WIDTH)
    vocabulary = Vocabulary.build([], words=scenes.SceneData.vocabulary_words())
    groups = grounded_word_groups(vocabulary)
    assert model.get_layer("grounded_words").groups == groups
    assert sorted(vocabulary.words[i] for i in groups[1]) == sorted(scenes.SHAPES)
    # The word loss comes with grounding, and the saved model keeps it.
    assert model.get_layer("word_loss").weight == 0.5
    images = rng.uniform(0, 255, (2, 32, 32, 3)).astype("float32")
    tokens = rng.integers(1, len(vocabulary), (2, 5)).astype("int32")
    full = np.asarray(model([images, tokens], training=False))
    runner = Captioner(model, vocabulary, 10).runner
    assert runner.inference.context_count == 4  # the projection, the attention memory and the two views
    context, states = runner.start(images)
    stepped = []
    for t in range(tokens.shape[1]):
        logits, states, _ = runner(tokens[:, t], context, states)
        stepped.append(logits)
    assert np.abs(np.stack(stepped, axis=1) - full).max() < 1e-4


def test_metrics_reward_right_captions_and_punish_wrong_ones():
    data = scenes.load_scenes(1, 1, 8, seed=1)
    references = data.test_seen.captions
    right = [group[0] for group in references]
    wrong = [group[0] for group in data.test_unseen.captions]
    assert bleu_scores(right, references)["bleu4"] == pytest.approx(100.0)
    scores = semantic_scores(right, data.test_seen.scenes)
    assert scores["semantic_accuracy"] == 1.0
    assert set(scores["semantic_accuracy_by_shapes"].values()) == {1.0}
    assert scores["semantic_correct"] == scores["count"] == 8
    assert scores["semantic_accuracy_interval95"] == pytest.approx([wilson_interval(8, 8)[0], 1.0])
    assert semantic_scores(wrong, data.test_seen.scenes)["semantic_accuracy"] < 0.5
    assert bleu_scores(wrong, references)["bleu4"] < 60


def test_presets_count_epochs_and_validate_on_half_the_test_scenes():
    for preset, epochs in (("smoke", 2), ("demo", 25), ("full", 40)):
        config = CaptioningConfig.from_preset(preset)
        assert (config.epochs, config.budget_seconds) == (epochs, 0.0)
        assert config.validation_images == config.test_images // 2


def test_the_reader_is_off_without_attention_and_the_config_says_so():
    def has_reader(config):
        return any(layer.name.startswith("reader") for layer in build_model(config, 9).layers)

    assert _small_config().reader is True and has_reader(_small_config())
    config = _small_config(attention="none")
    config.validate()
    assert config.reader is False and not has_reader(config)


def test_grounding_auto_is_views_where_they_apply_and_off_elsewhere(tmp_path):
    def resolved(**changes):
        return CaptioningConfig.from_preset("smoke", **changes).grounding

    assert resolved() == "views"
    assert resolved(attention="none") == "off"
    assert resolved(encoder="mobilenet_v3_small") == "off"
    assert resolved(data=str(tmp_path)) == "off"
    assert resolved(grounding="off") == "off"


def test_the_word_loss_comes_with_grounding_only():
    assert CaptioningConfig.from_preset("smoke").word_loss == 0.5
    assert CaptioningConfig.from_preset("smoke", grounding="off").word_loss == 0.0


def test_mobilenet_encoder_without_weights_gives_a_feature_grid():
    for coordinates, channels in ((False, 576), (True, 576 + 2)):
        config = _small_config(encoder="mobilenet_v3_small", image_size=64, coordinates=coordinates)
        features = build_encoder(config)(np.zeros((1, 64, 64, 3), np.float32))
        assert features.shape == (1, 4, channels)


def _status_and_message(capsys, argv):
    status = run_cli(APP, argv)
    error = capsys.readouterr().err.strip()
    return status, error


def test_bad_input_gives_one_line_and_status_2(smoke_run, tmp_path, capsys, monkeypatch):
    run = str(smoke_run.run_dir)
    text = tmp_path / "words.jpg"
    text.write_text("not a picture")
    good = _images(tmp_path)[0]
    truncated = tmp_path / "truncated.png"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 3])
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "empty_keras_home"))
    cases = [
        (["caption", str(tmp_path / "missing.png"), "--run", run], "does not exist"),
        (["caption", str(text), "--run", run], "not an image"),
        (["caption", str(truncated), "--run", run], "truncated"),
        (["caption", str(good), "--run", str(tmp_path / "no_run")], "does not exist"),
        (["caption", str(good), "--run", run, "--beam", "0"], "--beam"),
        (["--bidirectional", "--preset", "smoke"], "bidirectional"),
        (["--encoder", "mobilenet_v3_small_imagenet", "--preset", "smoke"], "--encoder mobilenet_v3_small"),
        (["--grounding", "views", "--attention", "none", "--preset", "smoke"], "--attention dot"),
        (["--grounding", "views", "--data", str(tmp_path), "--preset", "smoke"], "--grounding off"),
        (["--grounding", "views", "--encoder", "mobilenet_v3_small", "--preset", "smoke"], "--encoder small"),
        (["--data", str(tmp_path / "nowhere"), "--preset", "smoke"], "no such folder"),
        (["--data", str(tmp_path), "--preset", "smoke"], "captions.txt"),
    ]
    for argv, expected in cases:
        status, message = _status_and_message(capsys, argv)
        assert status == 2, argv
        assert len(message.splitlines()) == 1, message
        assert expected in message, message


def test_command_line_exit_status_2_in_a_fresh_process(tmp_path):
    completed = subprocess.run(
        [sys.executable, "-m", "gallery.captioning", "caption", str(tmp_path / "missing.png"), "--run", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=REPOSITORY,
        env={**__import__("os").environ, "CUDA_VISIBLE_DEVICES": "", "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    assert completed.returncode == 2
    errors = [line for line in completed.stderr.splitlines() if line.startswith("python -m gallery.captioning")]
    assert len(errors) == 1 and "not a run folder" in errors[0]


@pytest.mark.slow
def test_a_flickr8k_folder_trains_end_to_end_with_bleu_as_primary(tmp_path, capsys):
    images = tmp_path / "flickr" / "Images"
    images.mkdir(parents=True)
    rng = np.random.default_rng(2)
    rows = ["image,caption"]
    for index in range(24):
        colour = ("red", "blue")[index % 2]
        pixels = np.zeros((40, 60, 3), np.uint8)
        pixels[..., 0 if colour == "red" else 2] = 200 + rng.integers(0, 50)
        Image.fromarray(pixels).save(images / f"{index}.jpg")
        rows += [f"{index}.jpg,A {colour} picture.", f'{index}.jpg,"Something {colour}, plain."']
    (tmp_path / "flickr" / "captions.txt").write_text("\n".join(rows) + "\n")
    out = tmp_path / "run"
    argv = ["--preset", "smoke", "--data", str(tmp_path / "flickr"), "--out", str(out)]
    assert run_cli(APP, argv + ["--image-size", "32", "--epochs", "1"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["primary"]["name"] == "BLEU-4"
    assert set(metrics["test"]) == {"test"}
    assert "semantic_accuracy" not in metrics["test"]["test"]
    assert run_cli(APP, ["caption", str(images / "0.jpg"), "--run", str(out)]) == 0
    # The caption line, then (an attention model) the line naming its attention map.
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-2].startswith(f"{images / '0.jpg'}: ") and lines[-1].startswith("  attention map:")


# Slow (a fresh Python process, and exports): `.ci/run` runs every load_run test as a step of its own.
@pytest.mark.slow
def test_load_run_captions_as_the_verb_in_a_fresh_process(smoke_run, tmp_path, capsys, fresh_python):
    paths = [str(path) for path in _images(tmp_path)[:3]]
    assert run_cli(APP, ["caption", *paths, "--run", str(smoke_run.run_dir), "--beam", "2"]) == 0
    verb = [line for line in capsys.readouterr().out.splitlines() if not line.startswith("  attention map:")]
    output = fresh_python(
        f"""
import json
from gallery import load_run
print(json.dumps(load_run({str(smoke_run.run_dir)!r}).predict({paths!r}, beam=2)))
"""
    )
    captions = json.loads(output.strip().splitlines()[-1])
    assert verb == [f"{path}: {caption}" for path, caption in zip(paths, captions)]
