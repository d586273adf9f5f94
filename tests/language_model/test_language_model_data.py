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
