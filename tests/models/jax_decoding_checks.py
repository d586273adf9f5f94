"""Run by tests/test_jax_backend.py on JAX with TensorFlow unimportable: the compiled decoding loops against the
stepwise reference, with the checks of tests/models/test_decoding.py."""

import importlib.util

import keras

assert keras.backend.backend() == "jax", keras.backend.backend()
spec = importlib.util.spec_from_file_location("decoding_checks", "tests/models/test_decoding.py")
checks = importlib.util.module_from_spec(spec)
spec.loader.exec_module(checks)
checks.check_language_model(checks.small_language_model())
print("language model: same tokens")
checks.check_translator(*checks.small_translator())
print("encoder-decoder with attention: same tokens")
