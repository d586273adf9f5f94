"""Compare recurrent architectures across the gallery's applications, and probe why RNNs are hard to train."""
