"""Sequence-to-sequence translation: an encoder reads the whole source, a decoder writes the target, with attention.

Layout: many-to-many, unaligned (encoder-decoder). The encoder (any cell, optionally bidirectional) reads the
source tokens; the decoder, started from the encoder's final states, writes the target one token at a time,
trained with teacher forcing; `--attention additive` (Bahdanau) or `dot` (Luong) lets every decoder step look at
every source position. Decoding is greedy or beam search (`--beam N`) on a step model that carries the states.

Data: by default, offline, integers up to a million written in words by num2words, English to Spanish
("three hundred and forty-two" -> "trescientos cuarenta y dos"), split by number so that no test number is seen in
training; `--pair en-fr` etc. for other languages. `--data PATH` reads tab-separated sentence pairs (Anki/Tatoeba),
`--reverse` swaps the direction; `--data tfds:ted_hrlr_translate/pt_to_en` reads a TensorFlow Datasets source.

    python -m gallery.translation                                   # numbers en -> es, attention, a few minutes
    python -m gallery.translation translate --run runs/translation/lstm-1x128-demo "forty two"
    python -m gallery.translation --data spa.txt --reverse --preset full   # Spanish -> English

Expected: the demo translates nearly every held-out number exactly; the run folder holds BLEU, chrF and exact
match (greedy and beam), attention heatmaps, sample translations and the scores by source length.
"""

from gallery.cli import App
from gallery.translation.config import TranslationConfig
from gallery.translation.train import train_and_evaluate
from gallery.translation.verbs import VERBS, TranslationRun

APP = App(
    name="translation",
    layout="many-to-many (unaligned, seq2seq)",
    description="Encoder-decoder translation with attention: number words (en -> es) or sentence pairs.",
    config=TranslationConfig,
    train_and_evaluate=train_and_evaluate,
    verbs=VERBS,
    trained=TranslationRun,
)
