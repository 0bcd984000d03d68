"""Drawing a :class:`edge.recognizer.Reading` on a frame (``digit-cam --display/--save/--serve``).

``annotated = draw_reading(frame, reading)`` returns a new BGR image; the input is not modified.
"""

from __future__ import annotations

import cv2
import numpy as np

from edge.preprocess import to_gray
from edge.recognizer import Reading

KNOWN = (40, 200, 40)  # BGR green: a digit read with confidence
UNKNOWN = (0, 140, 255)  # BGR orange: rejected as unknown
TEXT_BG = (0, 0, 0)


def as_bgr(frame: np.ndarray, pixel_format: str = "auto") -> np.ndarray:
    """A displayable (H, W, 3) uint8 BGR copy of any frame :func:`edge.preprocess.to_gray` reads."""
    frame = np.asarray(frame)
    channels = frame.shape[2] if frame.ndim == 3 and frame.dtype == np.uint8 and frame.size else 0
    if channels == 3 and pixel_format in ("auto", "bgr"):
        return frame.copy()
    if channels == 4 and pixel_format in ("auto", "bgra", "xrgb"):
        return cv2.cvtColor(frame, cv2.COLOR_BGRA2BGR)
    if channels in (3, 4) and pixel_format in ("rgb", "rgba"):
        return cv2.cvtColor(frame, cv2.COLOR_RGB2BGR if channels == 3 else cv2.COLOR_RGBA2BGR)
    return cv2.cvtColor(to_gray(frame, pixel_format), cv2.COLOR_GRAY2BGR)


def _label(image: np.ndarray, text: str, origin: tuple[int, int], colour, scale: float) -> None:
    thickness = max(1, round(scale * 2))
    (width, height), baseline = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
    x, y = origin
    y = max(y, height + baseline)
    cv2.rectangle(image, (x, y - height - baseline), (x + width, y + baseline // 2), TEXT_BG, cv2.FILLED)
    cv2.putText(image, text, (x, y - baseline // 2), cv2.FONT_HERSHEY_SIMPLEX, scale, colour, thickness,
                cv2.LINE_AA)


def draw_reading(frame: np.ndarray, reading: Reading, *, pixel_format: str = "auto",
                 fps: float | None = None, roi=None) -> np.ndarray:
    """Boxes with digit and confidence, the text read, and optionally FPS and the ROI."""
    image = as_bgr(frame, pixel_format)
    scale = max(0.4, image.shape[0] / 900)
    if roi is not None:
        x, y, w, h = roi
        cv2.rectangle(image, (x, y), (x + w, y + h), (255, 160, 0), 1)
    for digit in reading.digits:
        x, y, w, h = digit.box
        colour = KNOWN if digit.value is not None else UNKNOWN
        cv2.rectangle(image, (x, y), (x + w, y + h), colour, max(1, round(scale * 2)))
        _label(image, f"{digit.label} {digit.confidence:.0%}", (x, y - 4), colour, scale * 0.8)
    header = f"read: {reading.text or '-'}"
    if fps is not None:
        header += f"   {fps:.1f} fps"
    header += f"   {reading.timings.total_ms:.1f} ms"
    _label(image, header, (6, 6), (255, 255, 255), scale)
    return image
