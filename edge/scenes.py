"""Synthetic camera scenes: MNIST digits as pen ink on paper, with exact ground truth.

``render_scene(np.random.default_rng(7), load_digit_pool())`` -> :class:`Scene`. Feeds the tests,
``digit-cam --source demo`` and the benchmarks. numpy/OpenCV only, so it runs on the Pi.

A scene is 1-6 MNIST test digits (never seen in training) drawn as dark, slightly blue ink on
off-white paper, on one or two lines, with varied digit sizes, a small tilt per digit, a lighting
gradient, a slight perspective, blur and sensor noise. Ground truth boxes are measured on the
final warped ink, so they are exact.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from edge.errors import InputError
from edge.preprocess import reading_text

BUNDLED_POOL = Path(__file__).resolve().parent / "data" / "mnist_test.npz"
INK_ALPHA_FOR_BOX = 0.3  # a pixel belongs to a digit's ground-truth box above this ink coverage

Box = tuple[int, int, int, int]

# What each kind stands for (python -m devtools.evaluate --kind KIND reports each separately):
KINDS = (
    "plain",      # the original: 1-6 MNIST digits in pen ink on paper, one or two lines
    "ruled",      # the same on notebook paper (rules and a margin under the ink)
    "drawing",    # one thick digit from a paint program filling a 200-500 px canvas, no noise
    "crop",       # one digit in a 28-96 px image, tight or with a small margin, either polarity, JPEG
    "long",       # one line of 8-12 digits of uneven sizes (small zeros, 7s and 9s that descend)
    "touching",   # 2-4 digits whose strokes touch or overlap
    "ballpoint",  # the plain page written with a 1-2 px ballpoint at camera scale
    "pencil",     # the plain page in pencil: grey, low contrast, grainy strokes
    "shadow",     # the plain page under a strong soft shadow or a steep light gradient
    "form",       # 1-6 digits written one to a printed box (a form's cells), a fifth nearly filling it
)
SINGLE_KINDS = ("drawing", "crop")  # one digit per image
BALLPOINT_PX = (1.0, 2.2)  # ballpoint line width at camera scale, px
PENCIL_WIDTH = (0.03, 0.06)  # pencil line width, fraction of the digit height
LINE_PEN_WIDTH = (0.08, 0.16)  # a felt or gel pen (MNIST's strokes are ~0.12-0.17 of the height)
DRAWING_BRUSH = (0.07, 0.18)  # paint-program brush, fraction of the digit height


class DigitPoolError(InputError, FileNotFoundError):
    """The digit pool is missing, unreadable or malformed (reinstall, or rebuild it). Still a
    ``FileNotFoundError``, which it was before the error hierarchy."""


@dataclass(frozen=True)
class DigitPool:
    """Digits to draw: ``images`` (N, 28, 28) uint8 white-on-black, ``labels`` (N,) uint8."""

    images: np.ndarray
    labels: np.ndarray


@dataclass(frozen=True)
class SceneDigit:
    label: int
    box: Box  # tight around the ink, frame pixels
    line: int  # 0 = top line
    pool_index: int  # which pool image was drawn


@dataclass(frozen=True)
class Scene:
    """A rendered frame (H, W, 3) uint8 BGR and its digits in reading order."""

    image: np.ndarray
    digits: tuple[SceneDigit, ...]

    @property
    def text(self) -> str:
        """Digits left to right, lines separated by one space: the same rule as a Reading."""
        return reading_text((digit.line, digit.label) for digit in self.digits)


def load_digit_pool(path: str | Path = BUNDLED_POOL) -> DigitPool:
    """The 10,000 MNIST test digits bundled with the package (or another ``.npz`` like it)."""
    try:
        with np.load(path) as data:
            images, labels = data["images"], data["labels"]
    except (OSError, KeyError, ValueError) as error:
        raise DigitPoolError(f"digit pool {path} is missing or unreadable ({error}); reinstall "
                                "digit-edge, or rebuild it with python -m devtools.bundle") from error
    if images.ndim != 3 or images.shape[1:] != (28, 28) or len(images) != len(labels):
        raise DigitPoolError(f"digit pool {path} has images {images.shape} and labels {labels.shape}")
    return DigitPool(images.astype(np.uint8), labels.astype(np.uint8))


def _digit_alpha(image: np.ndarray, height: int, rng: np.random.Generator) -> np.ndarray:
    """An MNIST digit's ink as float alpha, cropped to its ink, scaled to ``height`` px tall and
    tilted by a few degrees."""
    ys, xs = np.nonzero(image > 30)
    crop = image[ys.min():ys.max() + 1, xs.min():xs.max() + 1].astype(np.float32) / 255.0
    scale = height / crop.shape[0]
    width = max(2, round(crop.shape[1] * scale))
    alpha = cv2.resize(crop, (width, height), interpolation=cv2.INTER_CUBIC)
    pad = height // 4
    alpha = cv2.copyMakeBorder(alpha, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=0)
    angle = rng.uniform(-8, 8)
    centre = (alpha.shape[1] / 2, alpha.shape[0] / 2)
    rotation = cv2.getRotationMatrix2D(centre, angle, 1.0)
    alpha = cv2.warpAffine(alpha, rotation, (alpha.shape[1], alpha.shape[0]), flags=cv2.INTER_LINEAR)
    return np.clip(alpha, 0.0, 1.0)


def _paper(height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    """(H, W, 3) float32 paper with a linear lighting gradient and a slight warm tint."""
    base = rng.uniform(150, 235)
    angle = rng.uniform(0, 2 * np.pi)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    ramp = (np.cos(angle) * (xs / width - 0.5) + np.sin(angle) * (ys / height - 0.5))
    light = base * (1.0 + rng.uniform(0.1, 0.35) * ramp)
    tint = np.array([rng.uniform(0.9, 0.98), rng.uniform(0.96, 1.0), 1.0], np.float32)  # B, G, R
    return light[..., None] * tint


def _rule_lines(paper: np.ndarray, rng: np.random.Generator) -> None:
    """Print a notebook's rules on ``paper`` (in place): pale blue lines every 24-40 px with a
    slight slope, and half the time a red margin line."""
    height, width = paper.shape[:2]
    spacing = int(rng.integers(24, 41))
    blue = paper.mean(axis=(0, 1)) * np.array([0.95, 0.72, 0.58], np.float32)  # B, G, R
    for y in range(int(rng.integers(4, spacing)), height, spacing):
        cv2.line(paper, (0, y), (width - 1, y + int(rng.integers(-6, 7))), blue.tolist(), int(rng.integers(1, 3)),
                 cv2.LINE_AA)
    if rng.random() < 0.5:
        x = int(rng.uniform(0.05, 0.12) * width)
        red = paper.mean(axis=(0, 1)) * np.array([0.6, 0.6, 1.0], np.float32)
        cv2.line(paper, (x, 0), (x + 2, height - 1), red.tolist(), 2, cv2.LINE_AA)


def render_scene(rng: np.random.Generator, pool: DigitPool, *, width: int = 640, height: int = 480,
                 n_digits: int | None = None, ruled: bool = False, kind: str | None = None) -> Scene:
    """One synthetic frame of ``kind`` (see :data:`KINDS`; default ``"ruled"`` if ``ruled`` else
    ``"plain"``) with ground truth. ``width``/``height`` size the camera kinds; ``drawing`` and
    ``crop`` choose their own canvas, as real drawings and crops do. ``n_digits`` defaults to each
    kind's own range (1-6, long 8-12, touching 2-4; drawing and crop hold exactly one)."""
    kind = resolve_kind(kind, ruled)
    if n_digits is not None and not 1 <= n_digits <= (1 if kind in SINGLE_KINDS else 12):
        raise ValueError(f"n_digits must be 1-{1 if kind in SINGLE_KINDS else 12} for kind {kind!r}, got {n_digits}")
    if kind == "drawing":
        return _drawing_scene(rng, pool)
    if kind == "crop":
        return _crop_scene(rng, pool)
    if kind in ("long", "touching"):
        return _line_scene(rng, pool, width, height, n_digits, kind)
    if kind == "form":
        return _form_scene(rng, pool, width, height, n_digits)
    return _paper_scene(rng, pool, width, height, n_digits, kind)


def resolve_kind(kind: str | None, ruled: bool = False) -> str:
    """``kind``, checked, or the legacy default (``ruled`` picks notebook paper); an unknown kind is
    answered with the closest valid names."""
    if kind is None:
        return "ruled" if ruled else "plain"
    if kind not in KINDS:
        close = difflib.get_close_matches(kind, KINDS, n=3)
        hint = f"did you mean {', '.join(close)}? " if close else ""
        raise ValueError(f"unknown scene kind {kind!r}; {hint}valid kinds: {', '.join(KINDS)}")
    if ruled and kind != "ruled":
        raise ValueError(f"ruled=True is the kind 'ruled'; it cannot be combined with kind {kind!r}")
    return kind


def _paper_scene(rng: np.random.Generator, pool: DigitPool, width: int, height: int, n_digits: int | None,
                 kind: str) -> Scene:
    """The original paper scene (``plain``, ``ruled``), and the same layout written with another
    pen (``ballpoint``, ``pencil``) or photographed under a shadow (``shadow``). The random draws of
    ``plain`` and ``ruled`` are exactly those of the first generator, so their figures stay comparable."""
    n_digits = int(rng.integers(1, 7)) if n_digits is None else n_digits
    two_lines = n_digits >= 2 and rng.random() < 0.3
    per_line = [n_digits] if not two_lines else [n_digits - n_digits // 2, n_digits // 2]

    indices = rng.integers(0, len(pool.labels), size=n_digits)
    # Sizes vary 2.4x; a long line is kept inside the frame (a digit is ~0.8 of its height wide).
    digit_height = int(min(rng.uniform(0.1, 0.24) * height, 0.85 * width / (max(per_line) * 0.95)))
    pad = digit_height // 4  # the blank border _digit_alpha adds on each side
    if kind in ("ballpoint", "pencil"):  # one pen for the whole page
        stroke = _pen_width(kind, digit_height, rng)
        alphas = [_pad(_pen_alpha(pool.images[i], digit_height, stroke, rng), pad) for i in indices]
    else:
        alphas = [_digit_alpha(pool.images[i], digit_height, rng) for i in indices]

    canvas_alpha = np.zeros((height, width), np.float32)
    ids = np.zeros((height, width), np.uint8)  # 1-based digit id per inked pixel
    line_of = []
    cursor = 0
    line_top = int(rng.uniform(0.12, 0.3 if two_lines else 0.55) * height)
    for line, count in enumerate(per_line):
        pieces = alphas[cursor:cursor + count]
        # Ink-to-ink gaps of 8-40 % of the digit height, as in handwriting.
        gaps = [int(rng.uniform(0.08, 0.4) * digit_height) - 2 * pad for _ in pieces]
        total = sum(p.shape[1] for p in pieces) + sum(gaps[:-1])
        if total > 0.9 * width:  # too wide for the frame: the tightest spacing
            gaps = [int(0.08 * digit_height) - 2 * pad] * len(pieces)
            total = sum(p.shape[1] for p in pieces) + sum(gaps[:-1])
        x = int(rng.uniform(0.05 * width, max(0.05 * width + 1, width - total - 0.05 * width)))
        for offset, (piece, gap) in enumerate(zip(pieces, gaps, strict=True)):
            digit_id = cursor + offset + 1
            y = line_top + int(rng.uniform(-0.08, 0.08) * digit_height) - piece.shape[0] // 4
            _paste(canvas_alpha, ids, piece, x, y, digit_id)
            line_of.append(line)
            x += piece.shape[1] + gap
        cursor += count
        line_top += int(digit_height * rng.uniform(1.5, 1.9))

    homography = _camera_tilt(rng, width, height)
    canvas_alpha = cv2.warpPerspective(canvas_alpha, homography, (width, height), flags=cv2.INTER_LINEAR)
    ids = cv2.warpPerspective(ids, homography, (width, height), flags=cv2.INTER_NEAREST)
    image = _photograph(canvas_alpha, rng, kind)

    digits = []
    for number, (pool_index, line) in enumerate(zip(indices, line_of, strict=True), start=1):
        box = _ink_box((ids == number) & (canvas_alpha > INK_ALPHA_FOR_BOX))
        if box is None:  # warped out of frame (cannot happen with these margins; kept safe)
            continue
        digits.append(SceneDigit(int(pool.labels[pool_index]), box, line, int(pool_index)))
    return Scene(image, tuple(digits))


def _form_scene(rng: np.random.Generator, pool: DigitPool, width: int, height: int, n_digits: int | None) -> Scene:
    """A row of printed boxes (a form's cells: apart, or sharing their walls), lines 1-3 px and
    fainter than the pen, one handwritten digit in each; a fifth of the digits nearly as big as
    their box, so they may run into its lines. Then the plain page's camera and paper."""
    n_digits = int(rng.integers(1, 7)) if n_digits is None else n_digits
    indices = rng.integers(0, len(pool.labels), size=n_digits)
    cell_height = int(min(rng.uniform(0.14, 0.3) * height, 0.85 * width / (n_digits * 0.95)))
    cell_width = int(cell_height * rng.uniform(0.7, 0.95))
    gap = 0 if rng.random() < 0.5 else int(cell_width * rng.uniform(0.1, 0.5))  # 0: one row of cells
    total = n_digits * cell_width + (n_digits - 1) * gap
    if total > 0.9 * width:  # the row fits the frame
        fit = 0.9 * width / total
        cell_height, cell_width, gap = int(cell_height * fit), int(cell_width * fit), int(gap * fit)
        total = n_digits * cell_width + (n_digits - 1) * gap
    left = int(rng.uniform(0.05 * width, max(0.05 * width + 1, width - total - 0.05 * width)))
    top = int(rng.uniform(0.08 * height, max(0.08 * height + 1, 0.92 * height - cell_height)))
    lines = np.zeros((height, width), np.float32)
    thickness = int(rng.integers(1, 4))
    canvas_alpha = np.zeros((height, width), np.float32)
    ids = np.zeros((height, width), np.uint8)
    for number, index in enumerate(indices, start=1):
        x = left + (number - 1) * (cell_width + gap)
        cv2.rectangle(lines, (x, top), (x + cell_width, top + cell_height), 1.0, thickness)
        fills = rng.random() < 0.2
        digit_height = int(cell_height * (rng.uniform(0.85, 1.0) if fills else rng.uniform(0.55, 0.8)))
        piece = _tight(_digit_alpha(pool.images[index], digit_height, rng))
        y = top + (cell_height - piece.shape[0]) // 2 + int(rng.uniform(-0.06, 0.06) * cell_height)
        _paste(canvas_alpha, ids, piece, x + (cell_width - piece.shape[1]) // 2, y, number)
    homography = _camera_tilt(rng, width, height)
    canvas_alpha = cv2.warpPerspective(canvas_alpha, homography, (width, height), flags=cv2.INTER_LINEAR)
    ids = cv2.warpPerspective(ids, homography, (width, height), flags=cv2.INTER_NEAREST)
    printed = cv2.warpPerspective(lines, homography, (width, height), flags=cv2.INTER_LINEAR)
    image = _photograph(np.maximum(canvas_alpha, printed * rng.uniform(0.45, 0.9)), rng, "form")
    digits = []
    for number, index in enumerate(indices, start=1):
        box = _ink_box((ids == number) & (canvas_alpha > INK_ALPHA_FOR_BOX))
        if box is not None:
            digits.append(SceneDigit(int(pool.labels[index]), box, 0, int(index)))
    return Scene(image, tuple(digits))


def _camera_tilt(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """A slight perspective (3x3 homography), as from a camera not quite square to the page."""
    jitter = 0.03 * min(width, height)
    source = np.float32([[0, 0], [width, 0], [width, height], [0, height]])
    target = source + rng.uniform(-jitter, jitter, size=(4, 2)).astype(np.float32)
    return cv2.getPerspectiveTransform(source, target)


def _photograph(alpha: np.ndarray, rng: np.random.Generator, kind: str) -> np.ndarray:
    """Ink coverage (H, W) float32 -> the camera's (H, W, 3) uint8 BGR view of it on paper: the
    kind's paper, pen and light, then lens blur and sensor noise."""
    height, width = alpha.shape
    paper = _paper(height, width, rng)
    if kind == "ruled":
        _rule_lines(paper, rng)
    if kind == "pencil":  # graphite: neutral grey, a little darker than the paper, grainy
        ink = paper.mean(axis=(0, 1)).mean() * rng.uniform(0.4, 0.7) * np.ones(3, np.float32)
        strength = 1.0
        alpha = alpha * _grain(alpha.shape, rng, grain=rng.uniform(0.3, 0.6))
    else:
        ink = np.array([rng.uniform(40, 90), rng.uniform(15, 50), rng.uniform(10, 40)], np.float32)  # BGR
        strength = rng.uniform(0.8, 1.0)
    if kind == "ballpoint":  # the ball skips and the pressure varies along the stroke
        alpha = alpha * _grain(alpha.shape, rng, grain=rng.uniform(0.1, 0.35))
    alpha = (alpha * strength)[..., None]
    image = paper * (1 - alpha) + ink * alpha
    if kind == "shadow":
        image *= _shadow(height, width, rng)[..., None]
    sigma = rng.uniform(0.0, 1.2)
    if sigma > 0.3:
        image = cv2.GaussianBlur(image, (0, 0), sigma)
    image += rng.normal(0, rng.uniform(2, 7), size=image.shape).astype(np.float32)
    return np.clip(image + 0.5, 0, 255).astype(np.uint8)


def _ink_box(mask: np.ndarray) -> Box | None:
    """The bounding box (x, y, w, h) of a boolean mask's pixels, or None when it has none."""
    ys, xs = np.nonzero(mask)
    if len(xs) == 0:
        return None
    return int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)


def _line_scene(rng: np.random.Generator, pool: DigitPool, width: int, height: int, n_digits: int | None,
                kind: str) -> Scene:
    """One line of digits on plain paper: ``long`` (8-12 of uneven sizes) or ``touching`` (2-4 whose
    strokes touch). Each digit keeps its own layer through the camera warp, so a box stays exact
    where two digits' ink overlaps."""
    if kind == "long":
        n_digits = int(rng.integers(8, 13)) if n_digits is None else n_digits
        indices, placed = _long_line(rng, pool, n_digits, width, height)
    else:
        n_digits = int(rng.integers(2, 5)) if n_digits is None else n_digits
        indices, placed = _touching_line(rng, pool, n_digits, width, height)
    homography = _camera_tilt(rng, width, height)
    layers = []
    for piece, x, y in placed:
        layer = np.zeros((height, width), np.float32)
        _paste(layer, np.zeros((height, width), np.uint8), piece, x, y, 1)
        layers.append(cv2.warpPerspective(layer, homography, (width, height), flags=cv2.INTER_LINEAR))
    image = _photograph(np.maximum.reduce(layers), rng, kind)
    digits = []
    for pool_index, layer in zip(indices, layers, strict=True):
        box = _ink_box(layer > INK_ALPHA_FOR_BOX)
        if box is not None:
            digits.append(SceneDigit(int(pool.labels[pool_index]), box, 0, int(pool_index)))
    return Scene(image, tuple(digits))


Placed = list[tuple[np.ndarray, int, int]]  # (alpha piece, x, y) in frame pixels


def _long_line(rng: np.random.Generator, pool: DigitPool, n_digits: int, width: int,
               height: int) -> tuple[np.ndarray, Placed]:
    """A long number written with one pen: some digits 0.5-0.7x their neighbours (zeros most
    often, as people write them), 4s, 7s and 9s that may hang below the line, a sloping line."""
    indices = rng.integers(0, len(pool.labels), size=n_digits)
    labels = pool.labels[indices]
    small = rng.random(n_digits) < np.where(labels == 0, 0.45, 0.12)
    if not small.any():
        small[rng.integers(n_digits)] = True
    factors = np.where(small, rng.uniform(0.5, 0.7, n_digits), rng.uniform(0.92, 1.08, n_digits))
    centred = small & (rng.random(n_digits) < 0.4)  # a small digit floats mid-line, else sits on it
    drops = np.where(np.isin(labels, (4, 7, 9)) & (rng.random(n_digits) < 0.5), rng.uniform(0.1, 0.3, n_digits), 0)
    gaps = rng.uniform(0.06, 0.35, n_digits)
    pen = rng.uniform(*LINE_PEN_WIDTH)
    slope = rng.uniform(-0.04, 0.04)
    base = rng.uniform(0.07, 0.13) * height
    while True:  # shrink the writing until the line fits the frame
        stroke = max(1.2, pen * base)
        pieces = [_pen_alpha(pool.images[i], max(8, round(base * f)), stroke, rng) for i, f in zip(indices, factors,
                                                                                                   strict=True)]
        total = sum(p.shape[1] for p in pieces) + int(sum(gaps[:-1]) * base)
        if total <= 0.9 * width or base < 12:
            break
        base *= 0.97 * 0.9 * width / total
    x = int(rng.uniform(0.05 * width, max(0.05 * width + 1, width - total - 0.05 * width)))
    start, baseline = x, rng.uniform(0.3, 0.75) * height
    placed = []
    for piece, gap, is_centred, drop in zip(pieces, gaps, centred, drops, strict=True):
        bottom = baseline + slope * (x - start) + rng.uniform(-0.04, 0.04) * base
        if is_centred:
            y = bottom - base / 2 - piece.shape[0] / 2
        else:
            y = bottom + drop * base - piece.shape[0]
        placed.append((piece, x, int(round(y))))
        x += piece.shape[1] + int(gap * base)
    return indices, placed


def _touching_line(rng: np.random.Generator, pool: DigitPool, n_digits: int, width: int,
                   height: int) -> tuple[np.ndarray, Placed]:
    """2-4 MNIST digits written so close that each one's ink touches or overlaps the previous
    one's by 1 px to 12 % of the digit height: one connected blob for the finder."""
    indices = rng.integers(0, len(pool.labels), size=n_digits)
    digit_height = int(min(rng.uniform(0.1, 0.24) * height, 0.8 * width / n_digits))
    pieces = [_tight(_digit_alpha(pool.images[i], digit_height, rng)) for i in indices]
    line_y = int(rng.uniform(0.15, 0.65) * height)
    right = np.full(height + 2 * digit_height, -10**6)  # rightmost ink column per row, line coordinates
    local = []
    for piece in pieces:
        y = line_y + int(rng.uniform(-0.05, 0.05) * digit_height)
        ink = piece > INK_ALPHA_FOR_BOX
        rows = np.nonzero(ink.any(axis=1))[0]
        first = ink[rows].argmax(axis=1)  # leftmost ink column of each inked row
        if local:
            x = int((right[y + rows] - first).max()) + 1 - int(rng.integers(1, max(2, int(0.12 * digit_height)) + 1))
        else:
            x = 0
        last = piece.shape[1] - 1 - ink[rows][:, ::-1].argmax(axis=1)
        right[y + rows] = np.maximum(right[y + rows], x + last)
        local.append((piece, x, y))
    left = min(x for _, x, _ in local)
    total = max(x + p.shape[1] for p, x, _ in local) - left
    offset = int(rng.uniform(0.05 * width, max(0.05 * width + 1, width - total - 0.05 * width))) - left
    return indices, [(piece, x + offset, y) for piece, x, y in local]


def _drawing_scene(rng: np.random.Generator, pool: DigitPool) -> Scene:
    """A digit drawn with a round brush in a paint program: pure black and white (either way
    round), 200-500 px, the digit 60-92 % of the canvas height, anti-aliased or not, sometimes a
    1-3 px frame in the ink colour round the canvas. No paper, no noise."""
    height = int(rng.integers(200, 501))
    width = height if rng.random() < 0.7 else int(np.clip(height * rng.uniform(0.75, 1.33), 200, 500))
    index = int(rng.integers(len(pool.labels)))
    digit_height = int(rng.uniform(0.6, 0.92) * height)
    piece = _pen_alpha(pool.images[index], digit_height, rng.uniform(*DRAWING_BRUSH) * digit_height, rng)
    fit = min(1.0, 0.97 * height / piece.shape[0], 0.97 * width / piece.shape[1])
    if fit < 1.0:
        piece = cv2.resize(piece, (max(2, int(piece.shape[1] * fit)), max(2, int(piece.shape[0] * fit))),
                           interpolation=cv2.INTER_AREA)
    x = int(rng.integers(0, width - piece.shape[1] + 1))
    y = int(rng.integers(0, height - piece.shape[0] + 1))
    alpha = np.zeros((height, width), np.float32)
    _paste(alpha, np.zeros((height, width), np.uint8), piece, x, y, 1)
    if rng.random() < 0.3:  # a brush without anti-aliasing
        alpha = (alpha > 0.5).astype(np.float32)
    box = _ink_box(alpha > INK_ALPHA_FOR_BOX)
    ink = alpha.copy()
    if rng.random() < 0.3:
        thickness = int(rng.integers(1, 4))
        ink[:thickness], ink[-thickness:], ink[:, :thickness], ink[:, -thickness:] = 1, 1, 1, 1
    background, pen = (0.0, 255.0) if rng.random() < 0.5 else (255.0, 0.0)
    grey = np.round(background + (pen - background) * ink).astype(np.uint8)
    return Scene(cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR), (SceneDigit(int(pool.labels[index]), box, 0, index),))


CROP_SUPERSAMPLE = 4  # crops are drawn at 4x and shrunk with area averaging, like a real downscale


def _crop_scene(rng: np.random.Generator, pool: DigitPool) -> Scene:
    """One digit cut out of a bigger picture: 28-96 px tall, square or as wide as the digit (at
    least 28 px), tight, with a small margin, or cut by the border; a flat two-level background
    (either polarity) or a photographed page; blurred and JPEG-compressed."""
    height = int(rng.integers(28, 97))
    layout = rng.choice(["tight", "margin", "border"], p=[0.35, 0.45, 0.2])
    margin = 0.0 if layout == "tight" else rng.uniform(0.04, 0.18)
    index = int(rng.integers(len(pool.labels)))
    ss = CROP_SUPERSAMPLE
    digit_height = max(8, round(height * (1 - 2 * margin) * ss))
    if rng.random() < 0.5:
        piece = _tight(_digit_alpha(pool.images[index], digit_height, rng))
    else:
        piece = _pen_alpha(pool.images[index], digit_height, rng.uniform(0.08, 0.2) * digit_height, rng)
    if rng.random() < 0.5:
        width = height
    else:
        width = int(np.clip(round(piece.shape[1] / ss + 2 * margin * height), 28, 96))
    fit = min(1.0, height * ss / piece.shape[0], width * ss / piece.shape[1])
    if fit < 1.0:
        piece = cv2.resize(piece, (max(2, int(piece.shape[1] * fit)), max(2, int(piece.shape[0] * fit))),
                           interpolation=cv2.INTER_AREA)
    x = (width * ss - piece.shape[1]) // 2 + int(rng.uniform(-0.5, 0.5) * margin * width * ss)
    y = (height * ss - piece.shape[0]) // 2 + int(rng.uniform(-0.5, 0.5) * margin * height * ss)
    if layout == "border":  # the cut went through the ink on one side, by up to 2 px
        cut = int(rng.uniform(0, 2) * ss)
        side = int(rng.integers(4))
        x = [-cut, width * ss - piece.shape[1] + cut, x, x][side]
        y = [y, y, -cut, height * ss - piece.shape[0] + cut][side]
    big = np.zeros((height * ss, width * ss), np.float32)
    _paste(big, np.zeros(big.shape, np.uint8), piece, x, y, 1)
    alpha = cv2.resize(big, (width, height), interpolation=cv2.INTER_AREA)
    box = _ink_box(alpha > INK_ALPHA_FOR_BOX)
    image = _crop_background(alpha, rng)
    sigma = rng.uniform(0.3, 1.0)
    if rng.random() < 0.7:
        image = cv2.GaussianBlur(image, (0, 0), sigma)
    image = np.clip(image + 0.5, 0, 255).astype(np.uint8)
    if rng.random() < 0.7:
        quality = int(rng.integers(30, 91))
        image = cv2.imdecode(cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])[1], cv2.IMREAD_COLOR)
    return Scene(image, (SceneDigit(int(pool.labels[index]), box, 0, index),))


def _crop_background(alpha: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Ink coverage (H, W) -> (H, W, 3) float32 BGR: a digital two-level image of either polarity
    (as MNIST-style datasets and screenshots are), or a photographed page with its tint, lighting
    and noise (a fifth of those inverted, as some tools save them)."""
    height, width = alpha.shape
    a = alpha[..., None]
    if rng.random() < 0.4:
        background, pen = (0.0, 255.0) if rng.random() < 0.5 else (255.0, 0.0)
        return np.repeat(background + (pen - background) * a, 3, axis=2).astype(np.float32)
    paper = _paper(height, width, rng)
    ink = paper.mean(axis=(0, 1)) * rng.uniform(0.15, 0.5) * np.array([1.1, 1.0, 0.95], np.float32)
    image = paper * (1 - a) + ink * a
    image += rng.normal(0, rng.uniform(1, 5), size=image.shape).astype(np.float32)
    return 255.0 - image if rng.random() < 0.2 else image


def _pen_width(kind: str, digit_height: int, rng: np.random.Generator) -> float:
    """Line width in px of the pen a page of ``kind`` is written with."""
    if kind == "ballpoint":
        return rng.uniform(*BALLPOINT_PX)
    return max(1.2, rng.uniform(*PENCIL_WIDTH) * digit_height)


def _pen_alpha(image: np.ndarray, height: int, stroke: float, rng: np.random.Generator) -> np.ndarray:
    """An MNIST digit redrawn with a round pen ``stroke`` px wide: its centre line (thinned at up
    to 112 px, where MNIST's strokes are still solid) is scaled so the ink is ``height`` px tall, tilted by a few
    degrees and traced with anti-aliased lines. Returns the (h, w) float32 alpha cropped to its ink.
    Thinning then re-drawing is an erosion followed by a dilation that never breaks a stroke."""
    ys, xs = np.nonzero(image > 30)
    crop = image[ys.min():ys.max() + 1, xs.min():xs.max() + 1].astype(np.float32) / 255.0
    work = min(height, 112)
    size = (max(2, round(crop.shape[1] * work / crop.shape[0])), work)
    solid = cv2.copyMakeBorder((cv2.resize(crop, size, interpolation=cv2.INTER_CUBIC) > 0.5).astype(np.uint8),
                               1, 1, 1, 1, cv2.BORDER_CONSTANT, value=0)
    skeleton = _thin(solid.astype(bool))
    angle = np.deg2rad(rng.uniform(-8, 8))
    ss = 4 if stroke < 4 else 1  # draw thin pens at 4x so their width is right to a quarter pixel
    rows = np.nonzero(skeleton.any(axis=1))[0]
    # The traced ink is the centre line plus the pen's width: scale the line so the ink is ``height``.
    scale = max(0.3 * height, height - stroke) / max(1, rows[-1] - rows[0]) * ss
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]]) * scale
    margin = stroke * ss + 4
    edges = []
    for dy, dx in ((0, 0), (0, 1), (1, 0), (1, 1), (1, -1)):
        ends = skeleton[dy:, max(dx, 0):skeleton.shape[1] + min(dx, 0)]
        starts = skeleton[:skeleton.shape[0] - dy, max(-dx, 0):skeleton.shape[1] - max(dx, 0)]
        if (dy, dx) == (0, 0):
            starts = skeleton & ~_has_neighbour(skeleton)  # isolated dots: draw them too
        sy, sx = np.nonzero(starts & ends)
        sx = sx + max(-dx, 0)
        edges.append(np.stack([sx, sy, sx + dx, sy + dy], axis=1))
    segments = np.concatenate(edges).astype(np.float64).reshape(-1, 2, 2) @ rotation.T
    segments -= segments.reshape(-1, 2).min(axis=0) - margin
    extent = np.ceil(segments.reshape(-1, 2).max(axis=0) + margin).astype(int)
    canvas = np.zeros((extent[1], extent[0]), np.uint8)
    thickness = max(1, round(stroke * ss))
    for (x0, y0), (x1, y1) in np.round(segments * 16).astype(int):  # 4 fractional bits
        cv2.line(canvas, (int(x0), int(y0)), (int(x1), int(y1)), 255, thickness, cv2.LINE_AA, shift=4)
    alpha = canvas.astype(np.float32) / 255.0
    if ss > 1:
        alpha = cv2.resize(alpha, (max(1, alpha.shape[1] // ss), max(1, alpha.shape[0] // ss)),
                           interpolation=cv2.INTER_AREA)
    return _tight(alpha)


def _has_neighbour(mask: np.ndarray) -> np.ndarray:
    """Pixels of a boolean mask with at least one 8-neighbour also set."""
    count = cv2.filter2D(mask.astype(np.uint8), -1, np.ones((3, 3), np.float32), borderType=cv2.BORDER_CONSTANT)
    return count > 1


def _thin(mask: np.ndarray) -> np.ndarray:
    """Zhang-Suen thinning of a boolean mask (with a blank 1 px border) to 1 px centre lines that
    keep the shape's connectivity."""
    image = mask.astype(np.uint8)
    while True:
        changed = False
        for step in (0, 1):
            p = np.pad(image, 1)
            # Neighbours P2..P9, clockwise from north.
            n = [p[:-2, 1:-1], p[:-2, 2:], p[1:-1, 2:], p[2:, 2:], p[2:, 1:-1], p[2:, :-2], p[1:-1, :-2], p[:-2, :-2]]
            count = sum(n)
            transitions = sum((n[i] == 0) & (n[(i + 1) % 8] == 1) for i in range(8))
            if step == 0:
                side = (n[0] * n[2] * n[4] == 0) & (n[2] * n[4] * n[6] == 0)
            else:
                side = (n[0] * n[2] * n[6] == 0) & (n[0] * n[4] * n[6] == 0)
            remove = (image == 1) & (count >= 2) & (count <= 6) & (transitions == 1) & side
            if remove.any():
                image[remove] = 0
                changed = True
        if not changed:
            return image.astype(bool)


def _tight(alpha: np.ndarray) -> np.ndarray:
    """``alpha`` cropped to the pixels with any ink."""
    ys, xs = np.nonzero(alpha > 0.02)
    return alpha[ys.min():ys.max() + 1, xs.min():xs.max() + 1]


def _pad(alpha: np.ndarray, pad: int) -> np.ndarray:
    """``alpha`` with ``pad`` blank pixels on every side."""
    return cv2.copyMakeBorder(alpha, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=0)


def _grain(shape: tuple[int, int], rng: np.random.Generator, grain: float) -> np.ndarray:
    """(H, W) float32 multiplier in [1 - grain, 1]: per-pixel texture (graphite on paper fibres, a
    skipping ball) mixed with a slow variation of pen pressure along the strokes."""
    height, width = shape
    fine = cv2.GaussianBlur(rng.random(shape).astype(np.float32), (0, 0), 0.7)
    fine = np.clip((fine - 0.5) * 3 + 0.5, 0, 1)
    slow = cv2.resize(rng.random((height // 16 + 2, width // 16 + 2)).astype(np.float32), (width, height),
                      interpolation=cv2.INTER_LINEAR)
    return 1.0 - grain * (0.6 * fine + 0.4 * slow)


def _shadow(height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    """(H, W) float32 light in (0, 1]: a soft cast shadow (a hand or a phone between lamp and page,
    its edge crossing the middle of the frame) that leaves 35-65 % of the light, or a steep falloff
    from a desk lamp to 30-50 % at the far side."""
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    angle = rng.uniform(0, 2 * np.pi)
    cx, cy = rng.uniform(0.2, 0.8) * width, rng.uniform(0.2, 0.8) * height
    if rng.random() < 0.65:
        distance = np.cos(angle) * (xs - cx) + np.sin(angle) * (ys - cy)
        if rng.random() < 0.4:  # a rounded shadow: inside an ellipse rather than a half-plane
            a, b = rng.uniform(0.25, 0.6) * width, rng.uniform(0.25, 0.6) * height
            distance = (np.sqrt(((xs - cx) / a) ** 2 + ((ys - cy) / b) ** 2) - 1) * min(a, b)
        softness = rng.uniform(0.02, 0.12) * min(width, height)
        inside = 1 / (1 + np.exp(np.clip(distance / softness, -30, 30)))  # 1 in the shadow, 0 in the light
        return 1 - rng.uniform(0.35, 0.65) * inside
    distance = np.hypot(xs - cx, ys - cy)
    far = rng.uniform(0.3, 0.5)
    return 1 - (1 - far) * (distance / distance.max()) ** rng.uniform(1.0, 2.0)


def _paste(canvas: np.ndarray, ids: np.ndarray, piece: np.ndarray, x: int, y: int, digit_id: int) -> None:
    """Max-composite ``piece`` at (x, y), clipped to the canvas; label its inked pixels."""
    height, width = canvas.shape
    x0, y0 = max(x, 0), max(y, 0)
    x1, y1 = min(x + piece.shape[1], width), min(y + piece.shape[0], height)
    if x0 >= x1 or y0 >= y1:
        return
    part = piece[y0 - y:y1 - y, x0 - x:x1 - x]
    region = canvas[y0:y1, x0:x1]
    ids[y0:y1, x0:x1][part > region] = digit_id
    np.maximum(region, part, out=region)


def sloping_scene(rng: np.random.Generator, pool: DigitPool, degrees: float, *, lines: int = 1,
                  drop: float = 0.1, width: int = 640, height: int = 480) -> Scene:
    """Not one of :data:`KINDS`: ``lines`` lines of 3-8 upright MNIST digits written along a slope
    of ``degrees`` (down or up the page, at random), each digit up to ``drop`` x its height off its
    line, as a number is written across a note at an angle (``python -m devtools.sloping``). Lines
    are 1.6-2 heights apart; a digit that would leave the frame ends its line."""
    digit_height = int(rng.uniform(0.08, 0.14) * height)
    slope = float(np.tan(np.radians(degrees))) * float(rng.choice([-1.0, 1.0]))
    canvas = np.zeros((height, width), np.float32)
    ids = np.zeros((height, width), np.uint8)
    first_line = height / 2 - (lines - 1) * digit_height * 0.9 - slope * width * 0.3
    placed: list[tuple[int, int]] = []  # (pool index, line)
    for line in range(lines):
        x = (0.05 + rng.uniform(0, 0.05)) * width
        baseline = first_line + line * digit_height * rng.uniform(1.6, 2.0)
        for _ in range(int(rng.integers(3, 9))):
            index = int(rng.integers(len(pool.labels)))
            piece = _digit_alpha(pool.images[index], digit_height, rng)
            y = baseline + slope * x + rng.uniform(-drop, drop) * digit_height - piece.shape[0] / 2
            if x + piece.shape[1] >= width or y < 0 or y + piece.shape[0] >= height or len(placed) >= 250:
                break
            placed.append((index, line))
            _paste(canvas, ids, piece, int(x), int(y), len(placed))
            # _digit_alpha pads a quarter height each side: ink-to-ink gaps of 10-40 % of the height
            x += piece.shape[1] - digit_height // 2 + rng.uniform(0.1, 0.4) * digit_height
    image = _photograph(canvas, rng, "plain")
    digits = []
    for number, (index, line) in enumerate(placed, start=1):
        box = _ink_box((ids == number) & (canvas > INK_ALPHA_FOR_BOX))
        if box is not None:
            digits.append(SceneDigit(int(pool.labels[index]), box, line, index))
    return Scene(image, tuple(digits))


def scene_stream(seed: int, pool: DigitPool, **options):
    """An endless, seeded sequence of scenes (the ``demo`` camera source)."""
    rng = np.random.default_rng(seed)
    while True:
        yield render_scene(rng, pool, **options)
