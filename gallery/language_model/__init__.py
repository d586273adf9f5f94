"""Character-level language model: learns to predict the next character, then writes text one character at a time.

Layout: many-to-many (aligned) for training, one-to-many for sampling. An embedding, the shared recurrent stack and
a dense layer give next-character logits at every step, trained by truncated backpropagation through time over
windows of `--seq-len` characters; sampling carries the recurrent state from character to character.

Data: by default the documentation text CPython ships in `pydoc_data.topics`, split contiguously 90/10; also a
UTF-8 file or folder of .txt files, `hello`, or `tfds:tiny_shakespeare`; `--level word` models words instead.

    python -m gallery.language_model                                  # demo: LSTM 1x256, 30 epochs
    python -m gallery.language_model sample --run runs/language_model/lstm-1x256-demo --prime "def " --length 500
    python -m gallery.language_model neurons --run runs/language_model/lstm-1x256-demo --text "if x:\\n    return 1"

Expected: each epoch prints validation nats/char, bits/char and perplexity and a fixed-seed sample, which turns
from noise into Python-documentation-like prose and code.
"""

from gallery.cli import App
from gallery.language_model.config import LanguageModelConfig
from gallery.language_model.train import train_and_evaluate
from gallery.language_model.verbs import VERBS, LanguageModelRun

APP = App(
    name="language_model",
    layout="many-to-many (aligned) training, one-to-many sampling",
    description="Character-level language model: trains on text, reports nats/char, samples new text.",
    config=LanguageModelConfig,
    train_and_evaluate=train_and_evaluate,
    verbs=VERBS,
    trained=LanguageModelRun,
)
