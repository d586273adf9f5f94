"""The lecture's "hello" character RNN, printed step by step before and after training.

Layout: many-to-many, aligned. Vocabulary [h, e, l, o]; the inputs are "hell" as one-hot vectors, the targets
"ello". For every time step it prints the input character, its one-hot vector, h_t = tanh(W_hh h_{t-1} +
W_xh x_t + b_h), the output scores y_t = W_hy h_t, their softmax, and the predicted next character against the
target, and it checks every number against a NumPy forward pass of the same weights.

    python -m gallery.hello                       # hidden size 3, tanh, trains in seconds until it says "ello"
    python -m gallery.hello --cell rnn --activation relu --units 8
    python -m gallery.hello --cell lstm --data "hello world"
    python -m gallery.hello predict --run runs/hello/rnn-1x3-demo --text hell

Expected: before training the predictions are noise; after training the model predicts "ello" and the NumPy
reference agrees to about 1e-7.
"""

from gallery.cli import App
from gallery.hello.config import HelloConfig
from gallery.hello.train import train_and_evaluate
from gallery.hello.verbs import VERBS, HelloRun

APP = App(
    name="hello",
    layout="many-to-many (aligned)",
    description='The lecture\'s character RNN on "hello": every number of every step, before and after training.',
    config=HelloConfig,
    train_and_evaluate=train_and_evaluate,
    verbs=VERBS,
    trained=HelloRun,
)
