"""The one source of truth for numbers shared by ``train``, ``convert`` and ``edge``.

``from edge.constants import INPUT_SHAPE, LABELS, to_model_input``. Anything that would otherwise
be repeated across stages (input size, labels, pixel scaling, quantisation expectations) lives
here, so the model trained on a workstation and the crops fed to it on a Pi cannot drift apart.
"""

from __future__ import annotations

import numpy as np

# MNIST geometry: 28x28 single-channel images, white ink (255) on black (0).
INPUT_HEIGHT = 28
INPUT_WIDTH = 28
INPUT_CHANNELS = 1
INPUT_SHAPE = (INPUT_HEIGHT, INPUT_WIDTH, INPUT_CHANNELS)

# Class index i is the digit i; kept as strings so a reading can be joined into text.
LABELS: tuple[str, ...] = tuple(str(digit) for digit in range(10))
NUM_CLASSES = len(LABELS)

# A digit whose top probability is below this is reported as "?" rather than guessed. On the
# MNIST test set the release int8 model rejects 0.35 % of digits this way, and only 71 % of
# those were right, against 99.76 % of the digits it keeps (digit-cam, Recognizer, evaluate).
MIN_CONFIDENCE = 0.5

# Pixel convention of every model we ship: float32 in [0, 1] = uint8 / 255, ink bright.
PIXEL_MAX = 255
PIXEL_SCALE = 1.0 / PIXEL_MAX

# With inputs in [0, 1] the int8 converter picks scale 1/255 and zero point -128, so a uint8
# pixel p maps to the int8 value p - 128 exactly (no rounding). convert/ checks the model it
# writes against these; edge/ still reads the real values from the model, never from here.
EXPECTED_INT8_INPUT_SCALE = PIXEL_SCALE
EXPECTED_INT8_INPUT_ZERO_POINT = -128

# The largest image file decoded (digit-cam --source FILE, evaluate --images): 50 megapixels is
# larger than any phone photo (8660x5773) and decodes to 150 MB of BGR. A 633 KB PNG can claim
# 20000x20000 (1.2 GB decoded, 8 GB peak in OpenCV): edge.images reads the size from the header
# and refuses it before decoding; edge/__init__.py gives OpenCV the same limit for the formats
# whose headers are not parsed (TIFF, PNM).
MAX_IMAGE_PIXELS = 50_000_000


def to_model_input(images: np.ndarray) -> np.ndarray:
    """Scale uint8 digit images (N, 28, 28) or (28, 28) to the float32 model input (…, 28, 28, 1)."""
    images = np.asarray(images)
    if images.shape[-2:] != (INPUT_HEIGHT, INPUT_WIDTH):
        raise ValueError(
            f"expected images of shape (..., {INPUT_HEIGHT}, {INPUT_WIDTH}), got {images.shape}"
        )
    return (images.astype(np.float32) * np.float32(PIXEL_SCALE))[..., np.newaxis]
