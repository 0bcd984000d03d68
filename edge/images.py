"""Reading image files for recognition: ``image = read_image(path)`` -> (H, W) grey or (H, W, 3) BGR uint8.

Used by ``digit-cam --source FILE|DIR`` and ``python -m devtools.evaluate --images``. A drawing
saved with transparency keeps its strokes only in the alpha channel (the colour under transparent
pixels is arbitrary, often the same as the strokes'), so alpha is composited here, onto whichever
of white or black the strokes stand out from.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from edge.errors import InputError


class ImageFileError(InputError):
    """An image file that is missing, unreadable or not an image."""


def flatten_alpha(image: np.ndarray) -> np.ndarray:
    """(H, W, 4) BGRA uint8 -> (H, W, 3) BGR on the backdrop (white or black) that contrasts most
    with the opaque pixels. An image whose alpha is all opaque just drops the channel."""
    colour, alpha = image[:, :, :3], image[:, :, 3]
    if alpha.min(initial=255) == 255:
        return np.ascontiguousarray(colour)
    weight = alpha.astype(np.float32)[:, :, None] / 255.0
    opaque = alpha > 127
    opaque_grey = float(colour[opaque].mean()) if opaque.any() else 0.0
    backdrop = 255.0 if opaque_grey < 128 else 0.0  # dark strokes on white, light ones on black
    mixed = colour.astype(np.float32) * weight + backdrop * (1.0 - weight)
    return (mixed + 0.5).astype(np.uint8)


def read_image(path: str | Path) -> np.ndarray:
    """Decode an image file as grey or BGR uint8 (16-bit images keep their top 8 bits; alpha is
    flattened). Raises :class:`ImageFileError` naming the file when it cannot be read."""
    path = Path(path)
    if not path.is_file():
        raise ImageFileError(f"image {path} not found")
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None or image.size == 0:
        raise ImageFileError(f"{path} is not an image OpenCV can decode")
    if image.dtype == np.uint16:
        image = (image >> 8).astype(np.uint8)
    elif image.dtype != np.uint8:
        image = cv2.normalize(image, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
    if image.ndim == 3 and image.shape[2] == 4:
        image = flatten_alpha(image)
    elif image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    return image
