"""Digits in a frame -> a :class:`Reading`: the public API of the ``edge`` package.

    from edge import Recognizer
    recognizer = Recognizer.from_path()          # the bundled int8 model
    reading = recognizer.read(frame)             # BGR, RGB/XRGB, grey or YUV420 frames
    print(reading.text, reading.timings.total_ms)

The interpreter is created once, in ``from_path``; ``read`` only preprocesses and classifies.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from edge.constants import LABELS
from edge.interpreter import DigitClassifier, ModelError
from edge.preprocess import Box, FindConfig, find_digits, reading_text

MODEL_ENV = "DIGIT_EDGE_MODEL"
MODEL_FILE = "model_int8.tflite"
UNKNOWN = "?"  # stands for a digit whose confidence is below the reject threshold


def default_model_path() -> Path:
    """The model to use when none is given: ``$DIGIT_EDGE_MODEL``, else the release model
    installed with the package (``<prefix>/share/digit-edge/models``), else the repository's
    ``models/edge`` (an editable install or a checkout)."""
    from_env = os.environ.get(MODEL_ENV)
    if from_env:
        return Path(from_env)
    candidates = [Path(sys.prefix) / "share" / "digit-edge" / "models" / MODEL_FILE,
                  Path(__file__).resolve().parents[1] / "models" / "edge" / MODEL_FILE]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise ModelError(f"no model given and the bundled {MODEL_FILE} was not found (looked in "
                     f"{', '.join(map(str, candidates))}); pass --model PATH or set ${MODEL_ENV}")


@dataclass(frozen=True)
class DigitReading:
    """One digit found in a frame."""

    value: int | None  # None when rejected as unknown (confidence below the threshold)
    confidence: float  # probability of the most likely digit, 0-1
    box: Box  # x, y, w, h in frame pixels
    line: int  # 0 = top line
    top_k: tuple[tuple[int, float], ...]  # (digit, probability), most likely first

    @property
    def label(self) -> str:
        return UNKNOWN if self.value is None else LABELS[self.value]


@dataclass(frozen=True)
class Timings:
    """Milliseconds spent in each stage of :meth:`Recognizer.read`."""

    preprocess_ms: float
    inference_ms: float

    @property
    def total_ms(self) -> float:
        return self.preprocess_ms + self.inference_ms


@dataclass(frozen=True)
class Reading:
    """Everything recognised in one frame."""

    digits: tuple[DigitReading, ...]
    timings: Timings
    polarity: str  # "dark" (pen on paper) or "bright" (white on black), as detected or forced
    frame_size: tuple[int, int] = field(default=(0, 0))  # width, height

    @property
    def text(self) -> str:
        """Digits left to right, lines top to bottom separated by a space; unknown digits as '?'."""
        return reading_text((digit.line, digit.label) for digit in self.digits)

    def to_dict(self) -> dict:
        """JSON-ready form (see the README's schema)."""
        return {
            "text": self.text,
            "digits": [{"value": d.value, "label": d.label, "confidence": round(d.confidence, 4),
                        "box": list(d.box), "line": d.line,
                        "top_k": [[k, round(p, 4)] for k, p in d.top_k]} for d in self.digits],
            "polarity": self.polarity,
            "frame_size": list(self.frame_size),
            "timings_ms": {**{k: round(v, 3) for k, v in asdict(self.timings).items()},
                           "total_ms": round(self.timings.total_ms, 3)},
        }


class Recognizer:
    """Finds digits with :func:`edge.preprocess.find_digits` and classifies them in one batch."""

    def __init__(self, classifier: DigitClassifier, *, min_confidence: float = 0.5,
                 find_config: FindConfig = FindConfig(), top_k: int = 3):
        if not 0.0 <= min_confidence <= 1.0:
            raise ValueError(f"min_confidence must be in [0, 1], got {min_confidence}")
        self.classifier = classifier
        self.min_confidence = min_confidence
        self.find_config = find_config
        self.top_k = top_k

    @classmethod
    def from_path(cls, model: str | Path | None = None, *, backend: str | None = None,
                  xnnpack: bool = True, threads: int | None = None, **options) -> Recognizer:
        """Load ``model`` (default: :func:`default_model_path`) once and wrap it."""
        path = Path(model) if model is not None else default_model_path()
        classifier = DigitClassifier.from_path(path, backend=backend, xnnpack=xnnpack, threads=threads)
        return cls(classifier, **options)

    def classify(self, crops: np.ndarray) -> np.ndarray:
        """(N, 28, 28) uint8 MNIST-style crops -> (N, 10) probabilities."""
        return self.classifier.probabilities(crops)

    def read(self, frame: np.ndarray, *, pixel_format: str = "auto", roi: Box | None = None) -> Reading:
        """Find and classify every digit in ``frame`` (see :mod:`edge.preprocess` for formats)."""
        started = time.perf_counter()
        found = find_digits(frame, pixel_format=pixel_format, roi=roi, config=self.find_config)
        segmented = time.perf_counter()
        probabilities = self.classify(found.crops)
        done = time.perf_counter()

        digits = []
        for box, line, row in zip(found.boxes, found.lines, probabilities, strict=True):
            order = np.argsort(-row)[: self.top_k]
            best = int(order[0])
            confidence = float(row[best])
            digits.append(DigitReading(
                value=best if confidence >= self.min_confidence else None,
                confidence=confidence, box=tuple(int(v) for v in box), line=line,
                top_k=tuple((int(k), float(row[k])) for k in order)))
        height, width = np.asarray(frame).shape[:2]
        if pixel_format == "yuv420":
            height = height * 2 // 3
        return Reading(tuple(digits), Timings((segmented - started) * 1e3, (done - segmented) * 1e3),
                       found.polarity, (int(width), int(height)))
