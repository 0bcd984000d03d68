"""The selectable architectures of ``python -m train --arch {edge,paper}``.

``build_model(arch)`` returns an uncompiled Keras model; ``RECIPES[arch]`` holds the training
recipe that goes with it (optimiser, batch size, epochs, augmentation), so the CLI only overrides
what the user asks for.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from edge.constants import INPUT_SHAPE, NUM_CLASSES


@dataclass(frozen=True)
class Recipe:
    """How an architecture is trained by default."""

    epochs: int
    batch_size: int
    optimizer: str  # "adadelta" or "adam"
    learning_rate: float  # peak rate for adam's schedule, the fixed rate for adadelta
    augment: bool
    warmup_epochs: float = 0.0  # linear warm-up before cosine decay (adam only)
    label_smoothing: float = 0.0
    finder_share: float = 0.0  # extra training crops cut by our finder, as a share of the MNIST images
    finder_negatives: bool = False  # ... and the finder's merged pairs and junk, trained towards "unsure"
    # Crops of real European hands (train/semeion.py), as a share of the MNIST images. Off in every
    # recipe: against a control trained the same day, about 0.1 (5,556 crops) read unseen Semeion
    # writers 95.30% -> 97.99% (int8) but real photos no better (266 of 279 both) and synthetic strings
    # 0.46 points worse on average (docs/training.md).
    semeion_share: float = 0.0
    description: str = ""


RECIPES: dict[str, Recipe] = {
    # Jain et al.: Adadelta, batch 200, 5 epochs, no augmentation. They ran Keras 2, whose
    # Adadelta default learning rate was 1.0 (Keras 3 changed it to 0.001, which barely
    # trains in 5 epochs), so 1.0 is the faithful value.
    "paper": Recipe(epochs=5, batch_size=200, optimizer="adadelta", learning_rate=1.0,
                    augment=False, description="Jain et al.'s CNN, 1.2M parameters"),
    # Small BatchNorm CNN for int8 on a Pi: Adam with warm-up + cosine decay, augmentation that
    # imitates real crops (train/augment.py). 18 epochs because the heavier augmentation keeps
    # improving past 15. No label smoothing: the finder trusts the classifier's confidence
    # (joins and splits below 0.8, small boxes above 0.9, '?' below 0.5), and smoothing capped
    # it; with 0.05 a clean MNIST 5 scored 0.48 and read as '?'.
    # Negatives on since round 8: against a control trained the same day, touching strings
    # 34.7% -> 49.0% and real photos no worse (docs/training.md measures both).
    "edge": Recipe(epochs=18, batch_size=128, optimizer="adam", learning_rate=3e-3,
                   augment=True, warmup_epochs=1.0, label_smoothing=0.0, finder_share=0.25,
                   finder_negatives=True,
                   description="BatchNorm CNN for int8 on a Raspberry Pi, <100k parameters"),
}


def build_paper_model():
    """Jain et al.'s network exactly: Conv32-Conv64-MaxPool-Dropout-Dense256-Dropout-Dense10."""
    import keras
    from keras import layers

    return keras.Sequential(
        [
            keras.Input(shape=INPUT_SHAPE),
            layers.Conv2D(32, 3, activation="relu"),
            layers.Conv2D(64, 3, activation="relu"),
            layers.MaxPooling2D(2),
            layers.Dropout(0.25),
            layers.Flatten(),
            layers.Dense(256, activation="relu"),
            layers.Dropout(0.5),
            layers.Dense(NUM_CLASSES, activation="softmax"),
        ],
        name="paper",
    )


def build_edge_model():
    """Small CNN built for full-int8 inference.

    Every block is Conv(no bias) -> BatchNorm -> ReLU: BatchNorm folds into the conv at
    conversion and ReLU into its output range, so int8 sees only CONV_2D, MAX_POOL_2D, MEAN and
    FULLY_CONNECTED. Pooling early keeps the 28x28 stage cheap (most multiply-adds of a CNN sit at
    full resolution); global average pooling replaces the paper's 2.4M-weight dense layer.
    """
    import keras
    from keras import layers

    def conv_block(x, filters):
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
        # momentum 0.9: moving statistics settle in ~50 steps instead of ~500, so short runs
        # (smoke tests, fine-tuning) evaluate correctly too.
        x = layers.BatchNormalization(momentum=0.9)(x)
        return layers.ReLU()(x)

    inputs = keras.Input(shape=INPUT_SHAPE)
    x = conv_block(inputs, 16)  # 28x28: one cheap conv, then straight down to 14x14
    x = layers.MaxPooling2D(2)(x)
    x = conv_block(x, 32)
    x = conv_block(x, 32)
    x = layers.MaxPooling2D(2)(x)  # 7x7
    x = conv_block(x, 64)
    x = conv_block(x, 64)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(0.2)(x)
    outputs = layers.Dense(NUM_CLASSES, activation="softmax")(x)
    return keras.Model(inputs, outputs, name="edge")


BUILDERS: dict[str, Callable] = {"edge": build_edge_model, "paper": build_paper_model}
ARCHITECTURES = tuple(BUILDERS)


def build_model(arch: str):
    """An uncompiled Keras model of architecture ``arch`` (one of :data:`ARCHITECTURES`)."""
    try:
        return BUILDERS[arch]()
    except KeyError:
        raise ValueError(f"unknown architecture {arch!r}; choose one of {', '.join(ARCHITECTURES)}") from None
