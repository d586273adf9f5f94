"""Question answering on bAbI-style stories: read a short story, answer a question about it.

Layout: many-to-one with two input sequences (a story and a question) and one answer word. `--model attention`
(the default) is a recurrent memory reader: each sentence encoded by an RNN, several hops of attention over the
sentences conditioned on the question, then the answer (after MemN2N); `--model baseline` is a story RNN and a
question RNN merged into a softmax (Keras' babi_rnn).

Data: by default stories from a world simulation written here (`datasets/babi_world.py`, tasks 1, 2, 3, 6, 7, 8,
9, 11); with `--data DIR` the bAbI v1.2 task files in DIR (Weston et al. 2015, CC BY 3.0). `--task all` trains one
model per task and writes a per-task table.

    python -m gallery.qa                                   # generated task 1, attention model
    python -m gallery.qa --task all --data tasks_1-20_v1-2/en   # the bAbI v1.2 files
    python -m gallery.qa ask --run runs/qa/attention-task1-lstm-1x32-demo \
        --story "Mary moved to the bathroom. John went to the hallway." --question "Where is Mary?"

Expected: the attention model answers nearly every generated task-1 question, its attention on the sentence that
says where the person went last; the run folder keeps the test accuracy, a learning curve and pictures of the
attention over the sentences of test stories, supporting facts marked.
"""

from gallery.cli import App
from gallery.qa.config import QAConfig
from gallery.qa.train import train_and_evaluate
from gallery.qa.verbs import VERBS, QARun

APP = App(
    name="qa",
    layout="many-to-one (story + question)",
    description="Question answering on bAbI-style stories: a story RNN baseline or a recurrent memory reader with "
    "attention over sentences.",
    config=QAConfig,
    train_and_evaluate=train_and_evaluate,
    verbs=VERBS,
    trained=QARun,
)
