"""The captioner: an image encoder, the shared one-to-many decoder, and the captioning head on top of it.

The head (`CaptionHead`, saved with the model) adds the reader, a recurrent layer over each word's attended
region, and the grounding: colour and shape words chosen by heads that read the attended place through a
colour-blind and a shape-blind view of the image, with the decoder's own next-word loss beside them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import keras

from gallery.captioning.config import ENCODER_WIDTH, CaptioningConfig
from gallery.captioning.layers import (
    ChannelsAsImages,
    GridCoordinates,
    GroundedWords,
    NextWordLoss,
    StrongestChannel,
    WeightedRegions,
)
from gallery.errors import UsageError
from models.stacks import RecurrentStack, RNNSpec
from models.templates import DecoderHead, DecoderStep, NamedLayers, one_to_many

MOBILENET_WEIGHTS_FILE = "weights_mobilenet_v3_small_224_1.0_float_no_top_v2.h5"


def keras_weights_path() -> Path:
    return Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")).expanduser() / "models" / MOBILENET_WEIGHTS_FILE


def build_encoder(config: CaptioningConfig) -> keras.Model:
    """The image encoder, named `encoder`: float pixels in [0, 255] -> (regions, channels)."""
    shape = (config.image_size, config.image_size, 3)
    if config.encoder != "small":
        weights = None
        if config.encoder == "mobilenet_v3_small_imagenet":
            path = keras_weights_path()
            if not path.is_file():
                raise UsageError(
                    f"ImageNet weights for MobileNetV3-Small are not in {path.parent} and cannot be downloaded here; "
                    f"use --encoder mobilenet_v3_small or place {MOBILENET_WEIGHTS_FILE} in {path.parent}"
                )
            weights = str(path)
        backbone = keras.applications.MobileNetV3Small(
            input_shape=shape, include_top=False, weights=weights, include_preprocessing=True
        )
        backbone.trainable = weights is None
        return keras.Sequential(
            [keras.Input(shape), backbone, *_regions(backbone.output_shape[-1], config)], name="encoder"
        )
    layers = [keras.Input(shape), keras.layers.Rescaling(1.0 / 255.0, name="scale")]
    if config.coordinates:
        # Where each pixel is, from the first layer on (CoordConv puts it at the input), so the features, and
        # their mean that the decoder sees at every word, can say which shape is where.
        layers.append(GridCoordinates(name="pixel_coordinates"))
    widths = [ENCODER_WIDTH, ENCODER_WIDTH * 2, ENCODER_WIDTH * 4, ENCODER_WIDTH * 4]
    for index, width in enumerate(widths):
        # A strided first layer and two poolings: a 64-pixel image becomes an 8 x 8 grid, each region about one
        # shape wide, at a quarter of the cost of a full-resolution first layer.
        strides = 2 if index == 0 else 1
        layers += [
            keras.layers.Conv2D(width, 3, strides=strides, padding="same", use_bias=False, name=f"conv_{index}"),
            # A demo epoch is only a few hundred steps: the default momentum (0.99) leaves the moving statistics
            # that validation uses far behind the weights, so validation loss rises while training loss falls.
            keras.layers.BatchNormalization(momentum=0.9, name=f"norm_{index}"),
            keras.layers.ReLU(name=f"relu_{index}"),
        ]
        if index in (1, 2):
            layers.append(keras.layers.MaxPooling2D(name=f"pool_{index}"))
    return keras.Sequential(layers + _regions(widths[-1], config), name="encoder")


def _regions(channels: int, config: CaptioningConfig) -> list[keras.layers.Layer]:
    """The layers that turn a (rows, columns, channels) feature map into regions, with coordinates if asked."""
    if not config.coordinates:
        return [keras.layers.Reshape((-1, channels), name="regions")]
    return [GridCoordinates(name="coordinates"), keras.layers.Reshape((-1, channels + 2), name="regions")]


def colour_view(size: int, width: int) -> keras.Model:
    """A view blind to shape: a per-pixel network (1 x 1 convolutions) max-pooled to the encoder's grid, so it
    sees which colours a region holds, not the outline they draw."""
    layers = [keras.Input((size, size, 3)), keras.layers.Rescaling(1.0 / 255.0, name="colour_scale")]
    for index in range(2):
        layers.append(keras.layers.Conv2D(width, 1, activation="relu", name=f"colour_pixel_{index}"))
    # The same grid as the small CNN: a 'same' strided first step, then two halvings.
    layers += [
        keras.layers.MaxPooling2D(padding="same", name="colour_pool_0"),
        keras.layers.MaxPooling2D(name="colour_pool_1"),
        keras.layers.MaxPooling2D(name="colour_pool_2"),
        keras.layers.Reshape((-1, width), name="colour_regions"),
    ]
    return keras.Sequential(layers, name="colour_view")


def shape_view(size: int, width: int) -> keras.Model:
    """A view blind to colour: the same convolutions on each colour channel as a grey image, keeping per feature
    the strongest channel, so a red shape made blue (the channels permuted) gives the same features."""
    layers = [
        keras.Input((size, size, 3)),
        keras.layers.Rescaling(1.0 / 255.0, name="shape_scale"),
        ChannelsAsImages(name="channel_images"),
    ]
    for index, channels in enumerate([width, width * 2, width * 4]):
        strides = 2 if index == 0 else 1
        layers += [
            keras.layers.Conv2D(
                channels, 3, strides=strides, padding="same", use_bias=False, name=f"shape_conv_{index}"
            ),
            keras.layers.BatchNormalization(momentum=0.9, name=f"shape_norm_{index}"),
            keras.layers.ReLU(name=f"shape_relu_{index}"),
        ]
        if index in (1, 2):
            layers.append(keras.layers.MaxPooling2D(name=f"shape_pool_{index}"))
    layers.append(StrongestChannel(3, name="strongest_channel"))
    return keras.Sequential(layers, name="shape_view")


@keras.saving.register_keras_serializable(package="rnn_gallery")
class CaptionHead(DecoderHead):
    """The captioning layers on top of the one-to-many decoder, saved with the model.

    `reader`: a one-layer recurrent reader over each step's decoder output and attended region, below the output
    layer, so what was attended at earlier words informs the next (GNMT's bottom-layer attention, a cheap form of
    input feeding). `word_groups` (the colour word ids, then the shape word ids): grounding, each group chosen by
    a head that reads the attended place through its own view of the image (`GroundedWords`), neither view ever
    shown a held-out pair. `word_loss`: the weight of the decoder's own next-word loss (`NextWordLoss`), which
    teaches its attention to tell apart what the heads name.
    """

    def __init__(self, units: int, reader: bool = True, word_groups=None, word_loss: float = 0.0):
        self.units, self.reader, self.word_loss = int(units), bool(reader), float(word_loss)
        self.word_groups = [[int(i) for i in group] for group in word_groups] if word_groups else None
        if self.word_groups is not None and len(self.word_groups) != 2:
            raise ValueError("grounding names two word groups: the colour words, then the shape words")
        if self.word_loss and not self.word_groups:
            raise ValueError(
                "the word loss trains a decoder whose grouped words are chosen elsewhere; it needs word groups"
            )

    @property
    def adds_nothing(self) -> bool:
        return not self.reader and not self.word_groups

    def image_context(self, layers: NamedLayers, image, features) -> dict[str, Any]:
        if not self.word_groups:
            return {}
        size = image.shape[1]
        views = [
            layers("colour_view", lambda: colour_view(size, ENCODER_WIDTH)),
            layers("shape_view", lambda: shape_view(size, ENCODER_WIDTH)),
        ]
        context = {}
        for index, view in enumerate(views):
            name = f"group_features_{index}"
            regions = layers(name, lambda name=name: keras.layers.Identity(name=name))(view(image))
            if len(regions.shape) != 3 or regions.shape[1] != features.shape[1]:
                raise ValueError(
                    f"a view gives {regions.shape[1:]}, not regions on the encoder's grid of {features.shape[1]}"
                )
            context[f"group_{index}"] = regions
        return context

    def recurrent(self, layers: NamedLayers, spec: RNNSpec | None) -> RecurrentStack | None:
        if not self.reader:
            return None
        reader = None if spec is None else RNNSpec(spec.cell, spec.units, 1, spec.activation, explicit=spec.explicit)
        return layers.stack(reader, "reader")

    def read(self, layers: NamedLayers, stack: RecurrentStack, step: DecoderStep, features: list, states):
        if step.attended is None:
            raise ValueError("the reader reads the attended context at each step; it needs attention additive or dot")
        # The reader's state accumulates every step's attended region, so the next word can depend on what was
        # already looked at (which shapes are described, where they were); the decoder alone cannot see that.
        joined = layers("reader_concat", lambda: keras.layers.Concatenate(name="reader_concat"))(features)
        read, final_states = stack(joined, initial_states=states)
        return [read], final_states

    def logits(self, layers: NamedLayers, step: DecoderStep, logits):
        if self.word_loss:
            logits = layers("word_loss", lambda: NextWordLoss(self.word_loss, name="word_loss"))([logits, step.tokens])
        if not self.word_groups:
            return logits
        if step.attention_weights is None:
            raise ValueError("grounded words are chosen from the attended region; they need attention additive or dot")
        group_logits = []
        for i, group in enumerate(self.word_groups):
            region = layers(f"ground_read_{i}", lambda i=i: WeightedRegions(name=f"ground_read_{i}"))(
                [step.attention_weights, step.context[f"group_{i}"]]
            )
            hidden = layers(
                f"ground_hidden_{i}",
                lambda i=i: keras.layers.Dense(self.units, activation="relu", name=f"ground_hidden_{i}"),
            )(region)
            head = layers(f"ground_{i}", lambda i=i, group=group: keras.layers.Dense(len(group), name=f"ground_{i}"))
            group_logits.append(head(hidden))
        grounded = layers("grounded_words", lambda: GroundedWords(self.word_groups, name="grounded_words"))
        return grounded([logits, *group_logits])

    def get_config(self) -> dict[str, Any]:
        return {
            "units": self.units,
            "reader": self.reader,
            "word_groups": self.word_groups,
            "word_loss": self.word_loss,
        }


def build_model(config: CaptioningConfig, vocab_size: int, word_groups: list[list[int]] | None = None) -> keras.Model:
    """The captioner; `word_groups` (`data.grounded_word_groups`) are needed with `--grounding views`."""
    grounded = config.grounding == "views"
    if grounded and not word_groups:
        raise ValueError("a grounded captioner needs the word groups of its vocabulary")
    try:
        head = CaptionHead(config.units, config.reader, word_groups if grounded else None, config.word_loss)
        return one_to_many(
            config.rnn_spec(),
            vocab_size,
            encoder=build_encoder(config),
            input_shape=(config.image_size, config.image_size, 3),
            embedding_dim=config.embedding_dim,
            inject=config.inject,
            attention=config.attention,
            head=None if head.adds_nothing else head,
            name="captioner",
        )
    except ValueError as error:
        if isinstance(error, UsageError):
            raise
        raise UsageError(str(error)) from None
