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
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from edge.constants import LABELS, MIN_CONFIDENCE, NUM_CLASSES
from edge.interpreter import DigitClassifier, ModelError
from edge.preprocess import (
    Box,
    FindConfig,
    Lattice,
    cut_by_frame,
    find_digits,
    reading_text,
    searched_area,
)

MODEL_ENV = "DIGIT_EDGE_MODEL"
MODEL_FILE = "model_int8.tflite"
UNKNOWN = "?"  # stands for a digit whose confidence is below the reject threshold
# A candidate much smaller than its line's digits (a small zero, or a speck) is kept only when the
# classifier is at least this sure: junk then disappears instead of reading as '?'.
SMALL_CONFIDENCE = 0.9
# Joins only replace what the classifier doubts: a box below this confidence (a '1' beside a '4'
# read confidently as two digits stays two, however sure the union would be) -- except two
# fragments, pieces each small for their line that together are not (a broken 1, each half a sure 1).
# Nor is a box read this surely and no wider than its class's limit cut through ink: the classifier
# is trained to doubt merged pairs (docs/training.md, negatives), so that is one digit (a wide 4 at
# 0.82 would read as '21'). A cut through no ink still may, but in a box small for its line every
# cut counts as through ink (see read).
DOUBT = 0.8
# Two pieces read as one digit only when the classifier is this sure of the union (and, unless
# they are fragments, surer than of either piece).
JOIN_CONFIDENCE = 0.9
# A wide box is read as the pieces (or the whole) with the best mean score: log-probability of
# the best class plus a width prior. Mean, not sum, so more pieces are neither favoured nor
# penalised; the prior is what says a box as wide as two digits is two, however sure the
# classifier is of one (MNIST-trained models read an '88' blob as an '8' at 0.99).
# The prior is per class: the widest each digit usually is (width / height of its ink box, the
# 99th percentile over MNIST's 60,000 training digits, pixels > 127; tests/test_segment_scoring.py
# measures them again). A '1' wider than 0.9 of its height or an '8' wider than 1.25 is more
# likely two digits than one. On the real dev set 1 read digit in 684 is wider than its class's
# limit; one flat limit (1.5) let merged pairs like '48' (1.3 wide) pass as an '8'.
DIGIT_ASPECT_LIMITS = (1.43, 0.9, 1.67, 1.25, 1.25, 1.67, 1.18, 1.33, 1.25, 1.11)
WIDTH_PENALTY = 2.0  # log-probability lost per unit of width (in heights) beyond the class's limit
CUT_PENALTY = 0.1  # log-probability lost per cut, against the whole box: a cut must earn its place
# Once a box is cut, the number of pieces is chosen with a far smaller cost per piece: 0.1 made
# three pieces, one a merged pair read surely, beat the four digits a blob holds (the cost guards
# a plausible whole, not one way of cutting against another). Above zero, so a piece that reads
# as well whole is not cut again (a 0 into two 1s).
PIECE_PENALTY = 0.01
# A box the classifier reads as a digit is cut only when the pieces read at least this well (their
# geometric mean confidence): a wide 2 with a long tail is not a '2' and a '3' at 0.6 each.
SPLIT_SURE = 0.8


def piece_score(probabilities: np.ndarray, width: float, height: float,
                limits: Sequence[float] = DIGIT_ASPECT_LIMITS) -> float:
    """How good a reading one piece of ink is: log-probability of its best class, less the width
    prior (a piece wider than ``limits[class]`` x ``height`` is probably more than one digit)."""
    best = int(np.argmax(probabilities))
    confidence = max(float(probabilities[best]), 1e-6)
    excess = width / max(height, 1.0) - limits[best]
    return float(np.log(confidence)) - WIDTH_PENALTY * max(0.0, excess)


def _through_ink(cut: int, free: Sequence[bool]) -> bool:
    """Whether inner cut ``cut`` (1-based) is not ``free`` (``free[cut - 1]``; missing = not free)."""
    return not (cut <= len(free) and free[cut - 1])


def cuts_through_ink(way: Sequence[int], spans: Sequence[tuple[int, int]], free: Sequence[bool] = ()) -> bool:
    """Whether a way through a lattice (span indices, left to right, as :func:`best_cut` gives
    them) crosses a cut that is not ``free`` (``free[c - 1]`` for cut c)."""
    return any(_through_ink(spans[k][1], free) for k in way[:-1])


def best_cut(whole: float, cuts: int, spans: Sequence[tuple[int, int]], scores: Sequence[float],
             free: Sequence[bool] = ()) -> list[int] | None:
    """The spans (indices into ``spans``) of the best way through a :class:`~edge.preprocess.Lattice`
    from its left side (cut 0) to its right side (cut ``cuts + 1``), or None when the whole box
    (score ``whole``) reads best. Among ways, one scores the mean of its pieces' scores less
    ``PIECE_PENALTY`` per cut; the best must beat the whole by ``CUT_PENALTY`` per cut -- except
    per ``free`` cut (``free[c - 1]`` for cut c), one through no ink: there the box is two shapes
    that only the gap-bridging closing joined, and reading them apart costs nothing.
    Exhaustive over piece counts and paid cuts by dynamic programming: a lattice has a handful of cuts."""
    end = cuts + 1
    # best[node][(count, paid)] = (summed score, previous node, previous key, span index) of the
    # best way to node in count pieces through ``paid`` cuts that are not free
    best: list[dict[tuple[int, int], tuple[float, int, tuple[int, int], int]]] = [{} for _ in range(end + 1)]
    best[0][(0, 0)] = (0.0, -1, (0, 0), -1)
    order = sorted(range(len(spans)), key=lambda k: spans[k])
    for k in order:
        first, last = spans[k]
        for (count, paid), (total, _, _, _) in list(best[first].items()):
            paying = 0 < last < end and _through_ink(last, free)  # an inner cut through ink
            key = (count + 1, paid + paying)
            candidate = total + scores[k]
            if candidate > best[last].get(key, (-np.inf,))[0]:
                best[last][key] = (candidate, first, (count, paid), k)
    # Only ways that beat the whole by their paid cuts' cost; of those, the best by the piece cost.
    options = [(total / count - PIECE_PENALTY * (count - 1), (count, paid))
               for (count, paid), (total, _, _, _) in best[end].items() if total / count - CUT_PENALTY * paid > whole]
    if not options:
        return None
    _, key = max(options)
    chosen, node = [], end
    while node > 0:
        _, previous, previous_key, k = best[node][key]
        chosen.append(k)
        node, key = previous, previous_key
    return chosen[::-1]


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
    """Finds digits with :func:`edge.preprocess.find_digits` and classifies them in one batch (and
    a small second one when a narrow box is doubted)."""

    def __init__(self, classifier: DigitClassifier, *, min_confidence: float = MIN_CONFIDENCE,
                 find_config: FindConfig = FindConfig(), top_k: int = 3,
                 width_limits: Sequence[float] = DIGIT_ASPECT_LIMITS):
        if not 0.0 <= min_confidence <= 1.0:
            raise ValueError(f"min_confidence must be in [0, 1], got {min_confidence}")
        if len(width_limits) != NUM_CLASSES or min(width_limits) <= 0:
            raise ValueError(f"width_limits must be {NUM_CLASSES} positive widths (one per digit), got {width_limits}")
        self.classifier = classifier
        self.min_confidence = min_confidence
        self.find_config = find_config
        self.top_k = top_k
        self.width_limits = tuple(float(limit) for limit in width_limits)  # see DIGIT_ASPECT_LIMITS

    @classmethod
    def from_path(cls, model: str | Path | None = None, *, backend: str | None = None,
                  xnnpack: bool = True, threads: int | None = None, **options) -> Recognizer:
        """Load ``model`` (default: :func:`default_model_path`) once and wrap it."""
        path = Path(model) if model is not None else default_model_path()
        classifier = DigitClassifier.from_path(path, backend=backend, xnnpack=xnnpack, threads=threads)
        return cls(classifier, **options)

    def _narrow_splits(self, found, probabilities: np.ndarray) -> list[Lattice]:
        """Lattices that cut through ink the boxes too narrow for two digits but wide enough for
        a 1 and its neighbour (:attr:`~edge.preprocess.Segmentation.narrow_split`), made only for
        those the classifier doubts (a slanted 1 is wider than its class and read surely)."""
        wanted = []
        for i in range(len(found.boxes)):
            if probabilities[i].max() >= DOUBT:
                continue
            if (lattice := found.narrow_split(i)) is not None:
                wanted.append(lattice)
        return wanted

    def classify(self, crops: np.ndarray) -> np.ndarray:
        """(N, 28, 28) uint8 MNIST-style crops -> (N, 10) probabilities."""
        return self.classifier.probabilities(crops)

    def read(self, frame: np.ndarray, *, pixel_format: str = "auto", roi: Box | None = None) -> Reading:
        """Find and classify every digit in ``frame`` (see :mod:`edge.preprocess` for formats).

        All candidates -- the boxes found, broken pieces joined, the pieces of wide boxes -- are
        classified in one batch; a join replaces the boxes it covers when the classifier doubts one
        and is surer of the join than of either (or, for two fragments, is sure of the join), and a
        wide box is read as the way through its cuts that scores best (:func:`best_cut`) -- but not
        cut through ink when the classifier reads it whole surely and it is no wider than its class.
        A doubted box too narrow for two digits is cut through its ink in a second batch (step
        ``narrow-splits``), kept only as a 1 and its neighbour. A digit
        read below ``min_confidence`` is reported as unknown (``?``), unless the frame cuts it off
        (:func:`edge.preprocess.cut_by_frame`, step ``unsure-at-edge``): then it is left out.
        """
        started = time.perf_counter()
        found = find_digits(frame, pixel_format=pixel_format, roi=roi, config=self.find_config)
        segmented = time.perf_counter()
        alternatives: list = [*found.joins, *found.splits]
        crops = np.concatenate([found.crops, *(a.crops for a in alternatives)]) if alternatives else found.crops
        probabilities = self.classify(crops)
        count = len(found.boxes)
        narrowing = time.perf_counter()
        narrow = self._narrow_splits(found, probabilities[:count])  # finder work, timed as such
        segmented += time.perf_counter() - narrowing
        if narrow:
            probabilities = np.concatenate([probabilities, self.classify(np.concatenate([n.crops for n in narrow]))])
            alternatives += narrow
        done = time.perf_counter()

        optional = found.optional or [False] * count
        # Each position holds what will be read there: [(box, line, probabilities, crop, optional)].
        chosen = {i: [(found.boxes[i], found.lines[i], probabilities[i], found.crops[i], optional[i])]
                  for i in range(count)}
        decided: set[int] = set()
        offsets, row = {}, count
        for alternative in alternatives:
            offsets[id(alternative)] = row
            row += len(alternative.boxes)
        # A narrow box's cuts through no ink (found.splits) are tried first, its narrow lattice after.
        asked = {id(lattice) for lattice in narrow}
        for lattice in [*found.splits, *narrow]:
            i = lattice.index
            if i in decided:
                continue
            start = offsets[id(lattice)]
            parts = probabilities[start:start + len(lattice.boxes)]
            box = found.boxes[i]
            whole = (-np.inf if lattice.required
                     else piece_score(probabilities[i], box[2], lattice.height, self.width_limits))
            scores = [piece_score(part, piece[2], lattice.height, self.width_limits)
                      for part, piece in zip(parts, lattice.boxes, strict=True)]
            # A box small for its line (specks, a texture's stripes) is not split for free.
            free = () if optional[i] else lattice.free
            way = best_cut(whole, lattice.cuts, lattice.spans, scores, free)
            if way is not None and not lattice.required and probabilities[i].max() >= self.min_confidence:
                sure = float(np.exp(np.mean(np.log(np.maximum(parts[way].max(axis=1), 1e-6)))))
                way = way if sure >= SPLIT_SURE else None
            if (way is not None and not lattice.required and probabilities[i].max() >= DOUBT
                    and box[2] <= self.width_limits[int(np.argmax(probabilities[i]))] * lattice.height
                    and cuts_through_ink(way, lattice.spans, free)):
                way = None  # a sure digit as wide as its class may be
            if (way is not None and id(lattice) in asked and cuts_through_ink(way, lattice.spans, free)
                    and not (len(way) == 2 and any(int(np.argmax(parts[k])) == 1 for k in way))):
                way = None  # a box too narrow for two digits is cut through ink only for a 1 and its neighbour
            if way is not None:
                small = optional[i] and not lattice.required
                chosen[i] = [(lattice.boxes[k], found.lines[i], parts[k], lattice.crops[k], small) for k in way]
                decided.add(i)
        for join in found.joins:
            i = join.index
            if i in decided or i + 1 in decided:
                continue
            whole = probabilities[offsets[id(join)]]
            pieces = probabilities[i].max(), probabilities[i + 1].max()
            doubted = min(pieces) < DOUBT and whole.max() > max(pieces)
            if (doubted or join.fragments) and whole.max() >= JOIN_CONFIDENCE:
                chosen[i] = [(join.boxes[0], found.lines[i], whole, join.crops[0], False)]
                chosen[i + 1] = []
                decided.update((i, i + 1))

        height, width = np.asarray(frame).shape[:2]
        if pixel_format == "yuv420":
            height = height * 2 // 3

        area = searched_area((height, width), roi)
        drop_at_edge = "unsure-at-edge" in self.find_config.steps

        digits = []
        for i in range(count):
            for box, line, row_probabilities, crop, small in chosen[i]:
                order = np.argsort(-row_probabilities)[: self.top_k]
                best = int(order[0])
                confidence = float(row_probabilities[best])
                if small and confidence < max(self.min_confidence, SMALL_CONFIDENCE):
                    continue  # a speck or dash beside real digits, not a small digit
                if confidence < self.min_confidence and drop_at_edge and cut_by_frame(box, area):
                    continue  # an unreadable shape cut by the frame: a desk, a shadow, half a digit
                digits.append(DigitReading(
                    value=best if confidence >= self.min_confidence else None,
                    confidence=confidence, box=tuple(int(v) for v in box), line=line,
                    top_k=tuple((int(k), float(row_probabilities[k])) for k in order), crop=crop))
        return Reading(tuple(digits), Timings((segmented - started) * 1e3, (done - segmented) * 1e3),
                       found.polarity, (int(width), int(height)))
