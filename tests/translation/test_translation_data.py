"""Translation data: number words split by number, TSV parsing, tokenisation, and the tfds source under mock data."""

import pytest

from datasets import pairs
from datasets.pair_splits import sentence_groups, shared_sentences
from datasets.pairs import END, PAD, START, UNK, Tokenizer
from gallery.translation.config import TranslationConfig
from gallery.translation.data import load_pairs


def test_number_split_has_no_overlap():
    numbers = pairs.sample_numbers(3000, seed=7)
    assert len(set(numbers)) == 3000
    assert all(0 <= n <= 1_000_000 for n in numbers)
    # Every digit length is represented, not only the six-digit numbers that dominate a uniform draw.
    assert {len(str(n)) for n in numbers} >= {1, 2, 3, 4, 5, 6}
    train, validation, test = pairs.split_numbers(numbers, 0.05, 0.1)
    assert not set(train) & set(test) and not set(train) & set(validation) and not set(validation) & set(test)
    assert len(train) + len(validation) + len(test) == 3000

    data = pairs.number_pairs("en", "es", count=600)
    train_sources = {source for source, _ in data.train}
    assert not train_sources & {source for source, _ in data.test}
    assert not train_sources & {source for source, _ in data.validation}
    # The same seed gives the same split, so runs with different model seeds share a test set.
    assert pairs.number_pairs("en", "es", count=600).test == data.test


def test_number_words_are_the_right_languages():
    from num2words import num2words

    data = pairs.number_pairs("en", "fr", count=200)
    train_numbers, _, test_numbers = pairs.split_numbers(pairs.sample_numbers(200), 0.05, 0.1)
    assert data.train[:5] == [(num2words(n, lang="en"), num2words(n, lang="fr")) for n in train_numbers[:5]]
    assert data.test[-1] == (num2words(test_numbers[-1], lang="en"), num2words(test_numbers[-1], lang="fr"))


def test_language_pairs_are_checked():
    assert pairs.parse_pair("en-es") == ("en", "es")
    with pytest.raises(ValueError, match="does not know language 'xx'"):
        pairs.parse_pair("en-xx")
    with pytest.raises(ValueError, match="looks like en-es"):
        pairs.parse_pair("english")
    with pytest.raises(ValueError, match="the same"):
        pairs.parse_pair("es-es")


def test_tsv_parsing(tmp_path):
    path = tmp_path / "pairs.txt"
    path.write_text(
        "Go.\tVe.\tCC-BY 2.0 (France) Attribution: tatoeba.org #2877272 (CM)\n"
        "Hi.\tHola.\n"
        "\n"
        "no tab on this line\n"
        "\tmissing source\n"
        "Where is it?\t¿Dónde está?\n"
        "Bye.\t  \n",
        encoding="utf-8",
    )
    found, skipped = pairs.read_tsv(path)
    assert found == [("Go.", "Ve."), ("Hi.", "Hola."), ("Where is it?", "¿Dónde está?")]
    assert skipped == 3
    reversed_pairs, _ = pairs.read_tsv(path, reverse=True)
    assert reversed_pairs[2] == ("¿Dónde está?", "Where is it?")

    bad = tmp_path / "bad.txt"
    bad.write_text("one column\nanother\n", encoding="utf-8")
    with pytest.raises(ValueError, match="no valid line \\(2 skipped\\)"):
        pairs.read_tsv(bad)


def test_tsv_split_is_seeded_and_filters_long_pairs(tmp_path):
    lines = [f"sentence number {i}\tfrase número {i}" for i in range(200)]
    lines.append("this one is far too long to be kept by the filter\testa no")
    path = tmp_path / "pairs.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    data = pairs.tsv_pairs(path, max_words=5)
    assert data.dropped_long == 1
    assert (len(data.train), len(data.validation), len(data.test)) == (171, 9, 20)
    assert not set(data.train) & set(data.test)
    assert pairs.tsv_pairs(path, max_words=5).test == data.test
    # --max-pairs caps the training pairs only, whatever the source.
    config = TranslationConfig.from_preset("demo", data=str(path), max_words=5, max_pairs=50)
    capped = load_pairs(config)
    assert capped.train == data.train[:50] and capped.test == data.test


def test_pairs_sharing_a_sentence_stay_on_one_side():
    # "Go." has two translations, and "Vete." translates two sentences: the four pairs form one group.
    chained = [("Go.", "Ve."), ("Go.", "Vete."), ("Leave!", "vete ."), ("Hi.", "Hola.")]
    assert sentence_groups(chained, pairs.standardize) == [[0, 1, 2], [3]]
    # Many translations of a few sentences, many unique pairs: no split shares a sentence with another.
    pairs_list = [(f"sentence {i % 30}", f"frase {i}") for i in range(120)]
    pairs_list += [(f"line {i}", f"línea {i}") for i in range(300)]
    train, validation, test = pairs.split_pairs(pairs_list)
    assert sorted(train + validation + test) == sorted(pairs_list)
    assert abs(len(test) - 42) <= 4
    for first, second in [(train, test), (train, validation), (validation, test)]:
        assert not shared_sentences(first, second, pairs.standardize)
    # The same seed deals the same groups.
    assert pairs.split_pairs(pairs_list)[2] == test
    # A case or punctuation-spacing variant of a sentence counts as the same sentence.
    assert shared_sentences([("Go.", "a")], [("go .", "b")], pairs.standardize) == {"go ."}


def test_too_few_groups_to_split_is_a_clear_error():
    with pytest.raises(ValueError, match="too few to split"):
        pairs.split_pairs([("Go.", f"Ve {i}.") for i in range(50)])


def test_tokenizer_keeps_accents_and_spanish_punctuation():
    tokenizer = Tokenizer.fit(["¿Dónde está el niño?", "¡Hola, señor!"])
    assert tokenizer.vocabulary[:4] == ["", "[UNK]", "[start]", "[end]"]
    assert (PAD, UNK, START, END) == (0, 1, 2, 3)
    assert tokenizer.pieces(["¿DÓNDE está?"]) == [["¿", "dónde", "está", "?"]]
    ids = tokenizer.encode(["¿Dónde está el gato?"])[0]
    assert tokenizer.tokens(ids) == ["¿", "dónde", "está", "el", "[UNK]", "?"]
    assert tokenizer.unknown("¿Dónde está el gato?") == ["gato"]
    assert pairs.detokenize(tokenizer.join(ids)) == "¿dónde está el [UNK]?"
    # The vocabulary alone rebuilds the same tokenizer (it is saved as JSON in the run folder).
    again = Tokenizer(tokenizer.vocabulary, "word")
    assert again.encode(["¡hola, señor!"]) == tokenizer.encode(["¡hola, señor!"])


def test_character_level_tokens():
    tokenizer = Tokenizer.fit(["año", "mil"], level="char")
    ids = tokenizer.encode(["Año mil"])[0]
    assert tokenizer.tokens(ids) == ["a", "ñ", "o", "[UNK]", "m", "i", "l"]
    assert tokenizer.join(tokenizer.encode(["año"])[0]) == "año"
    with pytest.raises(ValueError, match="word, char"):
        Tokenizer.fit(["x"], level="byte")


@pytest.mark.parametrize("level", ["word", "char"])
def test_tokenizer_gives_the_ids_and_vocabulary_of_text_vectorization(level):
    tf = pytest.importorskip("tensorflow")
    import keras

    texts = [
        "¿Dónde está el niño?",
        "¡Hola, señor! ¿Qué tal?",
        'I don\'t know (yet)... "Fine" - ok;  tabs\tand\nlines',
        "ÉCOLE élève Straße",
        "a\u00a0no-break space",
        "",
        "el el el la la los",
    ]
    tokenizer = Tokenizer.fit(texts, level, max_tokens=24)
    layer = tokenizer.text_vectorization()
    adapter = keras.layers.TextVectorization(max_tokens=22, standardize=layer._standardize, split=layer._split)
    adapter.adapt(tf.data.Dataset.from_tensor_slices(texts).batch(4))
    assert tokenizer.vocabulary[4:] == [str(token) for token in adapter.get_vocabulary()[2:]]
    assert len(tokenizer) == 24
    assert tokenizer.encode(texts) == [list(map(int, row)) for row in layer(tf.constant(texts)).to_list()]


def test_tfds_source_under_mock_data():
    tfds = pytest.importorskip("tensorflow_datasets")
    with tfds.testing.mock_data(num_examples=12):
        data = pairs.tfds_pairs("ted_hrlr_translate/pt_to_en")
        reversed_data = pairs.tfds_pairs("ted_hrlr_translate/pt_to_en", reverse=True)
    assert len(data.train) == 12 and data.validation and data.test
    assert all(isinstance(a, str) and isinstance(b, str) for a, b in data.train)
    assert reversed_data.train[0] == data.train[0][::-1]


def spa_eng_file():
    """../shared/data/spa_eng/spa.txt through $GALLERY_DATA_DIR; the test is skipped without it."""
    import os
    from pathlib import Path

    root = os.environ.get("GALLERY_DATA_DIR")
    if not root:
        pytest.skip("GALLERY_DATA_DIR is not set; real-data tests are skipped")
    path = Path(root) / "spa_eng" / "spa.txt"
    if not path.is_file():
        pytest.skip(f"{path} is missing")
    return path


def test_spanish_english_pairs_from_the_shared_data():
    data = pairs.tsv_pairs(spa_eng_file(), reverse=True, max_words=10)
    assert data.read == 118964 and data.skipped == 0
    kept = len(data.train) + len(data.validation) + len(data.test)
    assert kept + data.dropped_long == 118964
    assert abs(len(data.test) / kept - 0.1) < 0.001
    # Several translations of one sentence share a group: no sentence, either language, crosses the splits.
    for first, second in [(data.train, data.test), (data.train, data.validation), (data.validation, data.test)]:
        assert not shared_sentences(first, second, pairs.standardize)
    assert all(max(len(a.split()), len(b.split())) <= 10 for a, b in data.test)
    # Spanish is the source after --reverse, accents and inverted marks intact.
    assert any(source.startswith("¿") and "ó" in source for source, _ in data.test)
    tokenizer = Tokenizer.fit([source for source, _ in data.train[:2000]])
    assert "¿" in tokenizer.vocabulary and "está" in tokenizer.vocabulary
