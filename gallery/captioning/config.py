"""The captioning app's configuration: a small CNN and an LSTM decoder with dot attention, and its presets."""

from __future__ import annotations

from dataclasses import dataclass

from gallery.config import RunConfig, option, override, schedule_option
from gallery.errors import UsageError
from models.attention import ATTENTION_MODES
from models.templates import INJECTIONS

ENCODERS = ("small", "mobilenet_v3_small", "mobilenet_v3_small_imagenet")
GROUNDINGS = ("auto", "views", "off")
# Fixed settings that measured best or that only a code change should move (README.md, "Tried").
ENCODER_WIDTH = 16  # channels of the small CNN's first layer, doubling, capped at 4x
WORD_LOSS = 0.5  # weight of the decoder's own next-word loss when the grounding heads name colours and shapes
MIN_COUNT = 3  # real data: words seen fewer times in training become [UNK]
SHOWN_IMAGES = 16  # test images drawn in captions.png


@dataclass
class CaptioningConfig(RunConfig):
    """CNN encoder + recurrent decoder; the defaults are the demo preset."""

    APP = "captioning"
    UNIDIRECTIONAL_REASON = "does not apply to captioning: the decoder writes one word after another"
    PRESETS = {
        "smoke": {"train_images": 48, "test_images": 16, "epochs": 2, "units": 16, "embedding_dim": 8},
        "demo": {},
        "full": {"train_images": 12000, "test_images": 2000, "epochs": 40, "patience": 15},
    }

    units: int = override("units", 128)
    # Small batches: four times the updates for about a quarter more time per epoch; the relations between
    # shapes are learnt late, after many updates.
    batch_size: int = override("batch_size", 16)
    # 25 epochs of about 19 s on a 2-core CPU: the demo's cosine schedule ends inside 10 minutes.
    epochs: int = override("epochs", 25)
    learning_rate: float = override("learning_rate", 2e-3)
    # Validation accuracy swings by 3 to 5 points from epoch to epoch; a patience of 6 stopped on that noise.
    patience: int = override("patience", 10)
    schedule: str = schedule_option("cosine")
    data: str = option(
        "scenes", "scenes (synthetic, offline), a Flickr8k-style folder, or tfds:coco_captions (downloads once)"
    )
    inject: str = option("par", "where the image enters the decoder", choices=INJECTIONS)
    attention: str = option("dot", "attend over the image's feature grid at each word", choices=ATTENTION_MODES)
    reader: bool = option(True, "a second recurrent layer reads each word's attended region (needs attention)")
    coordinates: bool = option(True, "append each pixel's and region's row and column to its features (CoordConv)")
    grounding: str = option(
        "auto",
        "synthetic scenes: colour and shape words chosen by heads reading the attended place through a "
        "shape-blind and a colour-blind view of the image (views); auto = views where they apply, else off",
        choices=GROUNDINGS,
    )
    encoder: str = option(
        "small",
        "image encoder: a small CNN trained from scratch, MobileNetV3-Small trained from scratch, or "
        "MobileNetV3-Small frozen with ImageNet weights (from ~/.keras/models; never downloaded)",
        choices=ENCODERS,
    )
    embedding_dim: int = option(64, "word embedding width", minimum=1)
    image_size: int = option(64, "images are resized to this many pixels square", minimum=32)
    train_images: int = option(
        4000, "synthetic training scenes (real data: at most this many images, 0 = all)", minimum=0
    )
    # A figure near 90% on 1,000 scenes has a standard error of about 0.9 points; on 300 it moved by its draw.
    test_images: int = option(
        1000, "synthetic test scenes per group (seen and held-out combinations); validation: half as many", minimum=2
    )
    max_length: int = option(30, "longest caption in words (longer training captions are cut)", minimum=2)

    @property
    def validation_images(self) -> int:
        return max(1, self.test_images // 2)

    @property
    def synthetic(self) -> bool:
        return self.data in ("scenes", "default")

    @property
    def word_loss(self) -> float:
        return WORD_LOSS if self.grounding == "views" else 0.0

    def validate(self) -> None:
        super().validate()
        if self.attention == "none":
            # The reader reads attended regions; without attention there are none, and the config says so.
            self.reader = False
        if self.grounding == "auto":
            applies = self.synthetic and self.attention != "none" and self.encoder == "small"
            self.grounding = "views" if applies else "off"
        if self.grounding == "views":
            if self.attention == "none":
                raise UsageError(
                    "--grounding views picks colour and shape words where the decoder attends; "
                    "use --attention dot or --grounding off"
                )
            if not self.synthetic:
                raise UsageError(
                    "--grounding views knows the colour and shape words of synthetic scenes only; use --grounding off"
                )
            if self.encoder != "small":
                raise UsageError("--grounding views draws its views on the small CNN's grid; use --encoder small")
        if self.image_size > 512:
            raise UsageError(f"--image-size {self.image_size} is too large for this gallery; use at most 512")
