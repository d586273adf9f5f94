"""The keyword recogniser's configuration: features, convolutions, pooling and the size of the synthetic set."""

from __future__ import annotations

from dataclasses import dataclass

from gallery.config import RunConfig, option, override, schedule_option
from gallery.errors import UsageError
from models.templates import POOLINGS


@dataclass
class KeywordsConfig(RunConfig):
    """Keyword recognition on top of the shared flags; the defaults are the demo (README.md, "Tried")."""

    APP = "keywords"
    PRESETS = {
        "smoke": {
            "units": 16,
            "epochs": 1,
            "batch_size": 16,
            "train_per_class": 4,
            "validation_per_class": 2,
            "test_per_class": 2,
            "mel_bins": 16,
        },
        "demo": {},
        "full": {
            "units": 160,
            "layers": 2,
            "epochs": 40,
            "patience": 8,
            "schedule": "constant",
            # The settings of its FSDD measurement, taken before the mel axis was pooled.
            "frequency_pool": 1,
            "train_per_class": 1500,
            "validation_per_class": 100,
            "test_per_class": 200,
        },
    }

    units: int = override("units", 128)
    # Read both ways, the end of a word informs the guess about its start.
    bidirectional: bool = override("bidirectional", True)
    # Many clips for few epochs, the rate decayed along a cosine: ten epochs is as many as fitted the demo's former
    # 390 s budget on the 2-core CPU, where its best epoch was the eighth.
    epochs: int = override("epochs", 10)
    patience: int = override("patience", 6)
    data: str = override("data", "synthetic")
    test_speaker: str = option(
        "",
        "with --data fsdd:DIR, hold this speaker out: all their recordings test, the other speakers train and "
        "validate; empty: FSDD's official split, every speaker on both sides",
    )
    pool: str = option("attention", "how the frames become one vector: last state, mean, attention", choices=POOLINGS)
    mel_bins: int = option(40, "log-mel filters", minimum=4)
    mfccs: int = option(0, "MFCCs kept from the log-mel frames (0 = use log-mel energies)", minimum=0)
    frame_ms: float = option(32.0, "analysis window in milliseconds", minimum=4.0)
    hop_ms: float = option(16.0, "step between frames in milliseconds", minimum=2.0)
    augment: bool = option(True, "random time shift, gain and background noise on training clips")
    conv_filters: int = option(
        16, "two 3x3 convolutions over the log-mel frames before the RNN, this many filters (0 = none)", minimum=0
    )
    frequency_pool: int = option(
        2, "max-pool the mel axis after the convolutions by this factor (a narrower, cheaper RNN input)", minimum=1
    )
    schedule: str = schedule_option("cosine")
    train_per_class: int = option(1800, "synthetic training clips per class", minimum=1)
    validation_per_class: int = option(50, "synthetic validation clips per class", minimum=1)
    # 300 a class: a standard error of about 0.3 points at 97%, smaller than the differences worth measuring.
    test_per_class: int = option(300, "synthetic test clips per class (held-out voices)", minimum=1)

    def validate(self) -> None:
        super().validate()
        if self.mfccs > self.mel_bins:
            raise UsageError(f"--mfccs {self.mfccs} cannot exceed --mel-bins {self.mel_bins}")
        if self.hop_ms > self.frame_ms:
            raise UsageError(f"--hop-ms {self.hop_ms} must not exceed --frame-ms {self.frame_ms}")
        if self.test_speaker and not self.data.startswith("fsdd:"):
            raise UsageError(f"--test-speaker is for --data fsdd:DIR only, not --data {self.data}")
        if self.frame_ms > 256:
            raise UsageError(f"--frame-ms {self.frame_ms} is longer than a phoneme; use at most 256")

    def clips_per_class(self) -> dict[str, int]:
        """Synthetic clips per class of each split."""
        return {"train": self.train_per_class, "validation": self.validation_per_class, "test": self.test_per_class}
