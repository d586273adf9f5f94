"""A run's console holds what the user needs: no TensorFlow start-up, oneDNN or retracing chatter on stderr."""

import subprocess
import sys
import textwrap


def test_tensorflow_prints_nothing_on_stderr_once_the_gallery_is_imported():
    script = textwrap.dedent(
        """
        import gallery
        import tensorflow as tf

        # A bool transpose is the op whose oneDNN fallback logs an error-level line on CPUs without AVX-512.
        tf.transpose(tf.constant([[True, False]]))
        tf.transpose(tf.constant([[1, 2]], tf.int32))
        step = tf.function(lambda x: x * 2)
        for length in range(1, 9):  # new shapes every call: TensorFlow's retracing advice after the fifth
            step(tf.ones((length, length)))
        print("done")
        """
    )
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert completed.stdout.strip() == "done"
    assert completed.stderr == ""


def test_tensorflow_log_level_zero_still_shows_the_chatter():
    script = "import os; os.environ['TF_CPP_MIN_LOG_LEVEL'] = '0'; import gallery"
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert completed.stderr != ""
