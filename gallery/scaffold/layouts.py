"""The four layouts the scaffold writes: the words and the few lines in which their generated packages differ."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass


@dataclass(frozen=True)
class Layout:
    """What fills a layout's placeholders in the shared templates (templates/common/)."""

    layout_text: str  # the layout's name as the gallery page shows it
    task: str
    summary: str
    description: str  # the one line of `--help` and the gallery page
    data_format: str  # a line of the TSV file
    toy: str  # what the toy dataset asks
    example: str  # flags of a run on the user's own data
    predict_example: str
    expected: str
    template: str  # the models.templates function that builds the model
    monitor: str  # what early stopping and the best-weights checkpoint watch
    monitor_mode: str
    accuracy_name: str  # the per-epoch line's validation accuracy
    demo_epochs: int
    full_epochs: int
    saved_files: str  # the layout's own files in a run folder, as Python string literals
    config_import: str = ""  # the import the layout's own config field needs
    config_field: str = ""  # the layout's own config field, beside the shared ones
    unidirectional: str = ""  # the config's UNIDIRECTIONAL_REASON line: why --bidirectional is refused

    def values(self) -> dict[str, str]:
        return {field.name: str(value) for field, value in zip(dataclasses.fields(self), dataclasses.astuple(self))}


LAYOUTS = {
    "many_to_one": Layout(
        layout_text="many-to-one",
        task="sequence classification",
        summary="A recurrent network reads a sequence of tokens and gives one label.",
        description="Sequence classification: a recurrent network reads tokens and gives one label.",
        data_format="tokens<TAB>label",
        toy="does a or b occur more often in a random string of a, b, c and d?",
        example="--data my.tsv --cell gru --units 64 --bidirectional",
        predict_example='"a b b a c b"',
        expected="the validation accuracy beside the majority-class baseline (about 0.5 on the toy data).",
        template="templates.many_to_one",
        monitor="val_accuracy",
        monitor_mode="max",
        accuracy_name="accuracy",
        demo_epochs=20,
        full_epochs=60,
        saved_files='"vocabulary.json", "labels.json", "confusion_matrix.png"',
        config_import="from models import templates",
        config_field='pooling: str = option("last", "sequence to vector: last state, mean, attention", '
        "choices=templates.POOLINGS)",
    ),
    "many_to_many": Layout(
        layout_text="many-to-many (aligned)",
        task="sequence tagging",
        summary="A recurrent network reads a sequence of tokens and gives a tag for every token.",
        description="Sequence tagging: a recurrent network gives a tag for every token.",
        data_format="tokens<TAB>one tag per token",
        toy="the parity of the running sum of random digits, after each digit",
        example="--data my.tsv --cell gru --bidirectional",
        predict_example='"3 4 1 1"',
        expected="the per-token validation accuracy beside the most-frequent-tag baseline (about 0.5 on the toy data).",
        template="templates.many_to_many",
        monitor="val_accuracy",
        monitor_mode="max",
        accuracy_name="tag accuracy",
        demo_epochs=20,
        full_epochs=60,
        saved_files='"vocabulary.json", "tags.json"',
    ),
    "one_to_many": Layout(
        layout_text="one-to-many",
        task="sequence generation from one input",
        summary="A vector of numbers sets a recurrent decoder's initial state, and the decoder writes tokens.",
        description="Sequence generation: one input vector, a token sequence written by a recurrent decoder.",
        data_format="numbers<TAB>tokens",
        toy="three counts in, that many a, b and c out",
        example="--data my.tsv --cell gru --units 128",
        predict_example='"2 0 1"',
        expected="the share of validation sequences generated exactly right (greedy decoding).",
        template="templates.one_to_many",
        monitor="val_loss",
        monitor_mode="min",
        accuracy_name="token accuracy",
        demo_epochs=30,
        full_epochs=80,
        saved_files='"vocabulary.json", "input.json"',
        unidirectional='UNIDIRECTIONAL_REASON = "does not apply: the decoder writes one token after another"',
    ),
    "seq2seq": Layout(
        layout_text="many-to-many (unaligned, seq2seq)",
        task="sequence to sequence",
        summary="An encoder reads the source tokens, a decoder with attention writes the target tokens.",
        description="Sequence to sequence: an encoder reads the source, a decoder with attention writes the target.",
        data_format="source tokens<TAB>target tokens",
        toy="reverse a string of the letters a to h",
        example="--data pairs.tsv --attention additive --bidirectional",
        predict_example='"c a f e"',
        expected="the share of validation targets decoded exactly right (greedy decoding), and attention maps.",
        template="templates.seq2seq",
        monitor="val_loss",
        monitor_mode="min",
        accuracy_name="token accuracy",
        demo_epochs=30,
        full_epochs=80,
        saved_files='"source_vocabulary.json", "target_vocabulary.json"',
        config_import="from models.attention import ATTENTION_MODES",
        config_field='attention: str = option("dot", "attention of the decoder over the source", '
        "choices=ATTENTION_MODES)",
    ),
}
