"""Reading image files for recognition: ``image = read_image(path)`` -> (H, W) grey or (H, W, 3) BGR uint8.

Used by ``digit-cam --source FILE|DIR`` and ``python -m devtools.evaluate --images``. A drawing
saved with transparency keeps its strokes only in the alpha channel (the colour under transparent
pixels is arbitrary, often the same as the strokes'), so alpha is composited here, onto whichever
of white or black the strokes stand out from.
"""

from __future__ import annotations

import contextlib
import struct
from pathlib import Path

import cv2
import numpy as np

from edge.constants import MAX_IMAGE_PIXELS
from edge.errors import InputError

HEADER_BYTES = 64  # enough for the size fields of PNG, GIF, BMP and WebP; JPEG is walked segment by segment
JPEG_SOF_MARKERS = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


class ImageFileError(InputError):
    """An image file that is missing, unreadable or not an image."""


class ImageTooLargeError(ImageFileError):
    """An image whose header claims more pixels than :data:`MAX_IMAGE_PIXELS`."""


def _jpeg_size(handle) -> tuple[int, int] | None:
    """(width, height) from a JPEG's first start-of-frame segment, seeking past the others."""
    handle.seek(2)
    for _ in range(1000):  # a real JPEG reaches its SOF within a handful of segments
        marker = handle.read(2)
        if len(marker) < 2 or marker[0] != 0xFF:
            return None
        if marker[1] in (0xD8, 0x01) or 0xD0 <= marker[1] <= 0xD7 or marker[1] == 0xFF:
            handle.seek(-1 if marker[1] == 0xFF else 0, 1)
            continue
        length_bytes = handle.read(2)
        if len(length_bytes) < 2:
            return None
        length = struct.unpack(">H", length_bytes)[0]
        if marker[1] in JPEG_SOF_MARKERS:
            frame = handle.read(5)
            if len(frame) < 5:
                return None
            height, width = struct.unpack(">HH", frame[1:5])
            return width, height
        handle.seek(length - 2, 1)
    return None


def header_size(path: str | Path) -> tuple[int, int] | None:
    """(width, height) an image file's header claims, for PNG, JPEG, GIF, BMP and WebP; None for
    other formats or a header too damaged to say (the decoder then decides)."""
    with open(path, "rb") as handle:
        head = handle.read(HEADER_BYTES)
        if head.startswith(b"\x89PNG\r\n\x1a\n") and len(head) >= 24:
            return struct.unpack(">II", head[16:24])
        if head[:6] in (b"GIF87a", b"GIF89a") and len(head) >= 10:
            return struct.unpack("<HH", head[6:10])
        if head.startswith(b"BM") and len(head) >= 26:
            if struct.unpack("<I", head[14:18])[0] == 12:  # BITMAPCOREHEADER: 16-bit sizes
                return struct.unpack("<HH", head[18:22])
            width, height = struct.unpack("<ii", head[18:26])
            return abs(width), abs(height)  # a negative height means top-down rows
        if head[:4] == b"RIFF" and head[8:12] == b"WEBP" and len(head) >= 30:
            chunk = head[12:16]
            if chunk == b"VP8X":
                return (int.from_bytes(head[24:27], "little") + 1, int.from_bytes(head[27:30], "little") + 1)
            if chunk == b"VP8L":
                bits = int.from_bytes(head[21:25], "little")
                return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
            if chunk == b"VP8 ":
                width, height = struct.unpack("<HH", head[26:30])
                return width & 0x3FFF, height & 0x3FFF
            return None
        if head.startswith(b"\xff\xd8"):
            return _jpeg_size(handle)
    return None


@contextlib.contextmanager
def _opencv_quiet():
    """OpenCV logs "[ERROR] imread_(...): can't read header" itself; our ImageFileError says the
    same with the file's name, so the log line would only break the one-line promise."""
    logging = getattr(getattr(cv2, "utils", None), "logging", None)
    if logging is None:
        yield
        return
    previous = logging.getLogLevel()
    logging.setLogLevel(logging.LOG_LEVEL_SILENT)
    try:
        yield
    finally:
        logging.setLogLevel(previous)


def check_image_size(path: str | Path, limit: int = MAX_IMAGE_PIXELS) -> None:
    """Raise :class:`ImageTooLargeError` when the header claims more than ``limit`` pixels."""
    try:
        size = header_size(path)
    except OSError as error:
        raise ImageFileError(f"{path} cannot be read: {error.strerror or error}") from error
    if size is not None and size[0] * size[1] > limit:
        raise ImageTooLargeError(f"{path} is {size[0]}x{size[1]} pixels ({size[0] * size[1] / 1e6:.0f} MP), "
                                 f"over the {limit / 1e6:.0f} MP limit: scale it down first")


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
    flattened). Raises :class:`ImageFileError` naming the file when it cannot be read, and
    :class:`ImageTooLargeError` before decoding one over :data:`MAX_IMAGE_PIXELS`."""
    path = Path(path)
    if not path.is_file():
        raise ImageFileError(f"image {path} not found")
    check_image_size(path)
    try:
        with _opencv_quiet():
            image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    except cv2.error as error:  # OpenCV's own size limit (edge/__init__.py sets it) or a decoder failure
        if "MAX_IMAGE_PIXELS" in str(error):
            raise ImageTooLargeError(f"{path} is over the {MAX_IMAGE_PIXELS / 1e6:.0f} MP limit "
                                     "(by OpenCV's count): scale it down first") from error
        raise ImageFileError(f"{path} cannot be decoded: {str(error).strip().splitlines()[-1]}") from error
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
