"""The lecture's "hello" network: a character RNN with vocabulary [h, e, l, o], shown step by step."""
