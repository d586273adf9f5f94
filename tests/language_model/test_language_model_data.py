"""The text sources, tokenisation, vocabulary, split and windows of datasets/text.py, without any model."""

import os
from pathlib import Path

import numpy as np
import pytest

from datasets import text


def test_default_text_is_deterministic_and_large():
    first, second = text.load_corpus("default"), text.load_corpus("default")
    assert first.text == second.text
    assert len(first.text) > 400_000


@pytest.mark.parametrize("sample", ["def f(x):\n    return x  # ok\n", "Héllo, wörld!\t\t42 ", ""])
def test_word_tokens_join_back_to_the_text(sample):
    assert "".join(text.tokenize(sample, "word")) == sample
    assert text.tokenize("a, b", "word") == ["a", ",", " ", "b"]


def test_split_is_contiguous_ninety_ten():
    corpus = text.Corpus("abcdefghij" * 100, "test", "test")
    data = text.prepare(corpus, "char", seq_len=10)
    joined = data.vocabulary.decode(np.concatenate([data.train_ids, data.validation_ids]))
    assert joined == corpus.text
    assert len(data.train_ids) == 900 and len(data.validation_ids) == 100
    assert data.train_characters == 900 and data.validation_characters == 100


def test_word_vocabulary_keeps_the_most_frequent_and_counts_characters():
    corpus = text.Corpus(("the cat sat on the mat " * 30) + "zebra " * 2, "test", "test")
    data = text.prepare(corpus, "word", seq_len=5, max_vocab=4)
    assert len(data.vocabulary) == 4
    assert data.vocabulary.tokens[0] == text.UNKNOWN
    assert {" ", "the"} <= set(data.vocabulary.tokens)
    assert data.train_characters + data.validation_characters == len(corpus.text)


def test_windows_are_inputs_and_targets_shifted_by_one():
    ids = np.arange(1000, dtype=np.int32)
    stream = text.random_windows(ids, 12, 4, seed=3)
    for _ in range(3):
        inputs, targets = next(stream)
        assert inputs.shape == (4, 12)
        assert inputs.dtype == np.int32
        np.testing.assert_array_equal(targets, inputs + 1)
        np.testing.assert_array_equal(np.diff(inputs, axis=1), 1)
    inputs, targets = text.consecutive_windows(ids, 10)
    assert inputs.shape == targets.shape == (99, 10)
    np.testing.assert_array_equal(inputs.reshape(-1), np.arange(990))
    np.testing.assert_array_equal(targets, inputs + 1)


def test_random_windows_reach_both_ends_of_the_text():
    ids = np.arange(50, dtype=np.int32)
    stream = text.random_windows(ids, 10, 64, seed=0)
    starts = np.concatenate([next(stream)[0][:, 0] for _ in range(20)])
    assert starts.min() == 0
    assert starts.max() == 39  # the last start whose target window still fits: 39 + 10 = 49


def test_random_windows_repeat_by_seed_and_differ_across_seeds():
    ids = np.arange(5000, dtype=np.int32)

    def take(seed):
        stream = text.random_windows(ids, 5, 8, seed)
        return np.concatenate([next(stream)[0] for _ in range(2)])

    np.testing.assert_array_equal(take(1), take(1))
    assert not np.array_equal(take(1), take(2))


def test_folder_of_text_files_is_joined_in_path_order(tmp_path):
    (tmp_path / "b.txt").write_text("second", encoding="utf-8")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "c.txt").write_text("third", encoding="utf-8")
    (tmp_path / "a.txt").write_text("\ufefffirst", encoding="utf-8")
    (tmp_path / "ignored.md").write_text("not text for us", encoding="utf-8")
    assert text.load_corpus(str(tmp_path)).text == "first\nsecond\nthird"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is empty"),
        (b"  \n\n", "is empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
        ("caf\u00e9 cr\u00e8me".encode("latin-1"), "not UTF-8"),
    ],
)
def test_unusable_files_are_refused(tmp_path, content, message):
    path = tmp_path / "input.txt"
    path.write_bytes(content)
    with pytest.raises(text.TextDataError, match=message):
        text.load_corpus(str(path))


def test_unknown_names_short_texts_and_empty_folders_are_refused(tmp_path):
    with pytest.raises(text.TextDataError, match="unknown --data 'shakespeare'"):
        text.load_corpus("shakespeare")
    with pytest.raises(text.TextDataError, match="no .txt files"):
        text.load_corpus(str(tmp_path))
    with pytest.raises(text.TextDataError, match="shorter than one window"):
        text.prepare(text.Corpus("short text " * 20, "x", "x"), "char", seq_len=100)


def test_tfds_source_under_mock_data():
    tfds = pytest.importorskip("tensorflow_datasets")
    with tfds.testing.mock_data(num_examples=4):
        corpus = text.load_corpus("tfds:tiny_shakespeare")
    assert corpus.source == "tfds:tiny_shakespeare"
    assert len(corpus.text) > 20
    with pytest.raises(text.TextDataError, match="no dataset"):
        text.load_corpus("tfds:no_such_dataset_anywhere")


def test_tiny_shakespeare_from_the_shared_data():
    root = os.environ.get("GALLERY_DATA_DIR")
    path = Path(root or "") / "tinyshakespeare" / "input.txt"
    if not root or not path.is_file():
        pytest.skip("GALLERY_DATA_DIR is not set or has no tinyshakespeare/input.txt")
    data = text.prepare(text.load_corpus(str(path)), "char", seq_len=100)
    assert len(data.vocabulary) == 65
    assert len(data.train_ids) == 1_003_854 and len(data.validation_ids) == 111_540
    # nanoGPT's boundary, int(n * 0.9); windows of 100 score 111,500 of the 111,540 validation characters.
    assert len(data.train_ids) == int(0.9 * (1_003_854 + 111_540))
    assert data.validation_characters_covered(100) == 111_500


def test_the_validation_figure_scores_every_validation_character_after_the_first_in_whole_windows(tmp_path):
    """The protocol beside nanoGPT's: the last 10% of the characters validate; every one of them is a target except
    the first (context only) and a remainder shorter than a window; each is predicted from the characters before
    it in its own window (the state starts afresh each window); the figure is the mean nats over those targets."""
    import keras

    from gallery.language_model.config import LanguageModelConfig
    from gallery.language_model.data import load
    from gallery.language_model.model import build_model

    rng = np.random.default_rng(0)
    corpus = "".join(rng.choice(list("abcdefgh \n"), 2_345))
    (tmp_path / "corpus.txt").write_text(corpus, encoding="utf-8")
    config = LanguageModelConfig.from_preset("smoke", data=str(tmp_path / "corpus.txt"), seq_len=20, batch_size=4)
    config.validation_steps = 0
    batches = load(config)
    boundary = int(len(corpus) * 0.9)
    assert batches.vocabulary.decode(batches.data.validation_ids) == corpus[boundary:]
    inputs, targets = batches.validation
    windows = (len(corpus) - boundary - 1) // 20
    assert targets.shape == (windows, 20) == inputs.shape
    assert batches.vocabulary.decode(targets.reshape(-1)) == corpus[boundary + 1 : boundary + 1 + windows * 20]
    assert batches.vocabulary.decode(inputs.reshape(-1)) == corpus[boundary : boundary + windows * 20]
    assert batches.validation_tokens == batches.validation_characters == windows * 20

    # What fit reports as val_loss (a last batch of 2 windows of 4 included) is the mean over those characters.
    keras.utils.set_random_seed(0)
    model = build_model(config, len(batches.vocabulary))
    model.compile(loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    reported = model.evaluate(inputs, targets, batch_size=config.batch_size, verbose=0)
    logits = np.concatenate([np.asarray(model(inputs[i : i + 1]), np.float64) for i in range(windows)])
    log_probabilities = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    expected = -np.take_along_axis(log_probabilities, targets[..., None].astype(int), -1).mean()
    assert windows % config.batch_size != 0
    assert abs(reported - expected) < 1e-5 * expected
