"""The language model's figures: a loss per token as nats and bits per character, and perplexity per token."""

from __future__ import annotations

import math


def nats_to_report(nats_per_token: float, tokens: int, characters: int) -> dict[str, float]:
    """Loss per token turned into per-character nats and bits, and per-token perplexity."""
    nats_per_char = nats_per_token * tokens / max(characters, 1)
    return {
        "nats_per_char": nats_per_char,
        "bits_per_char": nats_per_char / math.log(2),
        "perplexity": math.exp(min(nats_per_token, 700.0)),
        "nats_per_token": nats_per_token,
    }


def describe_loss(report: dict[str, float], level: str) -> str:
    text = f"{report['nats_per_char']:.4f} nats/char  {report['bits_per_char']:.3f} bits/char"
    if level == "word":
        return text + f"  perplexity {report['perplexity']:.1f}/token"
    return text + f"  perplexity {report['perplexity']:.3f}"
