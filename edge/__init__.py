"""digit-edge's on-device package: everything a Raspberry Pi needs, and nothing more.

    from edge import Recognizer
    reading = Recognizer.from_path().read(frame)   # the bundled int8 model
    print(reading.text)

Used by ``digit-cam``, and by ``train``/``convert`` for :mod:`edge.constants`. Importing this
package must never pull in TensorFlow (a Pi installs only numpy, OpenCV and a TFLite runtime);
``tests/test_imports.py`` enforces that. The public names below are imported on first use, so
``import edge.constants`` stays free of OpenCV.
"""

from __future__ import annotations

import importlib
import os

# OpenCV reads its decode-size limit once, when it is loaded: set before anything imports cv2.
# The same number as edge.constants.MAX_IMAGE_PIXELS (tests/test_hardening.py checks).
os.environ.setdefault("OPENCV_IO_MAX_IMAGE_PIXELS", "50000000")

__version__ = "0.1.0"

_EXPORTS = {
    "Recognizer": "edge.recognizer",
    "Reading": "edge.recognizer",
    "DigitReading": "edge.recognizer",
    "Timings": "edge.recognizer",
    "DigitClassifier": "edge.interpreter",
    "ModelError": "edge.interpreter",
    "BackendError": "edge.interpreter",
    "InvalidFrameError": "edge.preprocess",
    "find_digits": "edge.preprocess",
    "normalize_digit": "edge.preprocess",
    "draw_reading": "edge.overlay",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'edge' has no attribute {name!r}")
