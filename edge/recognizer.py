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

from edge.constants import LABELS, MIN_CONFIDENCE
from edge.interpreter import DigitClassifier, ModelError
from edge.preprocess import Box, FindConfig, find_digits, reading_text

MODEL_ENV = "DIGIT_EDGE_MODEL"
MODEL_FILE = "model_int8.tflite"
UNKNOWN = "?"  # stands for a digit whose confidence is below the reject threshold
# A candidate much smaller than its line's digits (a small zero, or a speck) is kept only when the
# classifier is at least this sure: junk then disappears instead of reading as '?'.
SMALL_CONFIDENCE = 0.9
# Joins and splits only replace what the classifier doubts: a box below this confidence (a '1'
# beside a '4' read confidently as two digits stays two, however sure the union would be).
DOUBT = 0.8
JOIN_CONFIDENCE = 0.9  # two pieces read as one digit only when the classifier is this sure, and surer than of either
SPLIT_CONFIDENCE = 0.9  # ... and a wide box as two only when this sure of both, and surer than of the whole


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
    crop: np.ndarray | None = field(default=None, compare=False, repr=False)  # (28, 28) uint8 the model saw

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

    def __init__(self, classifier: DigitClassifier, *, min_confidence: float = MIN_CONFIDENCE,
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
        """Find and classify every digit in ``frame`` (see :mod:`edge.preprocess` for formats).

        All candidates -- the boxes found, broken pieces joined, wide boxes split -- are classified
        in one batch; a join or split replaces the boxes it covers when the classifier is surer of
        it than of the weaker of what it replaces.
        """
        started = time.perf_counter()
        found = find_digits(frame, pixel_format=pixel_format, roi=roi, config=self.find_config)
        segmented = time.perf_counter()
        alternatives = [*found.joins, *found.splits]
        crops = np.concatenate([found.crops, *(a.crops for a in alternatives)]) if alternatives else found.crops
        probabilities = self.classify(crops)
        done = time.perf_counter()

        count = len(found.boxes)
        optional = found.optional or [False] * count
        # Each position holds what will be read there: [(box, line, probabilities, crop, optional)].
        chosen = {i: [(found.boxes[i], found.lines[i], probabilities[i], found.crops[i], optional[i])]
                  for i in range(count)}
        decided: set[int] = set()
        offsets, row = {}, count
        for alternative in alternatives:
            offsets[id(alternative)] = row
            row += len(alternative.boxes)
        best_split: dict[int, float] = {}  # index -> confidence of the weaker half of its best cut
        for split in found.splits:
            start = offsets[id(split)]
            parts = probabilities[start:start + len(split.boxes)]
            i, weaker = split.index, float(parts.max(axis=1).min())
            whole = probabilities[i].max()
            if whole < DOUBT and weaker >= max(SPLIT_CONFIDENCE, best_split.get(i, 0.0)) and weaker > whole:
                best_split[i] = weaker
                chosen[i] = [(box, found.lines[i], part, crop, False)
                             for box, part, crop in zip(split.boxes, parts, split.crops, strict=True)]
                decided.add(i)
        for join in found.joins:
            i = join.index
            if i in decided or i + 1 in decided:
                continue
            whole = probabilities[offsets[id(join)]]
            pieces = probabilities[i].max(), probabilities[i + 1].max()
            if min(pieces) < DOUBT and whole.max() >= JOIN_CONFIDENCE and whole.max() > max(pieces):
                chosen[i] = [(join.boxes[0], found.lines[i], whole, join.crops[0], False)]
                chosen[i + 1] = []
                decided.update((i, i + 1))

        digits = []
        for i in range(count):
            for box, line, row_probabilities, crop, small in chosen[i]:
                order = np.argsort(-row_probabilities)[: self.top_k]
                best = int(order[0])
                confidence = float(row_probabilities[best])
                if small and confidence < max(self.min_confidence, SMALL_CONFIDENCE):
                    continue  # a speck or dash beside real digits, not a small digit
                digits.append(DigitReading(
                    value=best if confidence >= self.min_confidence else None,
                    confidence=confidence, box=tuple(int(v) for v in box), line=line,
                    top_k=tuple((int(k), float(row_probabilities[k])) for k in order), crop=crop))
        height, width = np.asarray(frame).shape[:2]
        if pixel_format == "yuv420":
            height = height * 2 // 3
        return Reading(tuple(digits), Timings((segmented - started) * 1e3, (done - segmented) * 1e3),
                       found.polarity, (int(width), int(height)))
