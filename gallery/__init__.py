"""rnn-gallery's run machinery and applications: config to command line, training, run folders, plots.

Each application is a subpackage (`python -m gallery.<app>`) that joins a data family from `datasets` with
the shared blocks in `models`; `python -m gallery` lists them.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# Before Keras loads: a backend the applications cannot run on is one line and exit status 2, not a traceback.
from gallery.backends import exit_unless_supported  # noqa: E402

exit_unless_supported()

# Every application imports TensorFlow; `models` imports it first with its C++ start-up chatter kept off stderr,
# so a command's stderr holds only what the command says (one line for a user error).
import models  # noqa: E402,F401


def __getattr__(name: str):
    # `from gallery import load_run` without importing the run machinery for every `import gallery`.
    if name == "load_run":
        from gallery.trained import load_run

        return load_run
    raise AttributeError(f"module 'gallery' has no attribute {name!r}")
