"""Synthetic camera scenes: MNIST digits as pen ink on paper, with exact ground truth.

``render_scene(np.random.default_rng(7), load_digit_pool())`` -> :class:`Scene`. Feeds the tests,
``digit-cam --source demo`` and the benchmarks. numpy/OpenCV only, so it runs on the Pi.

A scene is 1-6 MNIST test digits (never seen in training) drawn as dark, slightly blue ink on
off-white paper, on one or two lines, with varied digit sizes, a small tilt per digit, a lighting
gradient, a slight perspective, blur and sensor noise. Ground truth boxes are measured on the
final warped ink, so they are exact.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from edge.errors import InputError
from edge.preprocess import reading_text

BUNDLED_POOL = Path(__file__).resolve().parent / "data" / "mnist_test.npz"
INK_ALPHA_FOR_BOX = 0.3  # a pixel belongs to a digit's ground-truth box above this ink coverage

Box = tuple[int, int, int, int]


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
                 n_digits: int | None = None, ruled: bool = False) -> Scene:
    """One synthetic frame with ``n_digits`` (default: 1-6 at random) digits and ground truth;
    ``ruled`` prints notebook rules on the paper, under the ink."""
    n_digits = int(rng.integers(1, 7)) if n_digits is None else n_digits
    if not 1 <= n_digits <= 12:
        raise ValueError(f"n_digits must be 1-12, got {n_digits}")
    two_lines = n_digits >= 2 and rng.random() < 0.3
    per_line = [n_digits] if not two_lines else [n_digits - n_digits // 2, n_digits // 2]

    indices = rng.integers(0, len(pool.labels), size=n_digits)
    # Sizes vary 2.4x; a long line is kept inside the frame (a digit is ~0.8 of its height wide).
    digit_height = int(min(rng.uniform(0.1, 0.24) * height, 0.85 * width / (max(per_line) * 0.95)))
    pad = digit_height // 4  # the blank border _digit_alpha adds on each side
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

    # A slight perspective, as from a camera not quite square to the page.
    jitter = 0.03 * min(width, height)
    source = np.float32([[0, 0], [width, 0], [width, height], [0, height]])
    target = source + rng.uniform(-jitter, jitter, size=(4, 2)).astype(np.float32)
    homography = cv2.getPerspectiveTransform(source, target)
    canvas_alpha = cv2.warpPerspective(canvas_alpha, homography, (width, height), flags=cv2.INTER_LINEAR)
    ids = cv2.warpPerspective(ids, homography, (width, height), flags=cv2.INTER_NEAREST)

    paper = _paper(height, width, rng)
    if ruled:
        _rule_lines(paper, rng)
    ink = np.array([rng.uniform(40, 90), rng.uniform(15, 50), rng.uniform(10, 40)], np.float32)  # BGR
    strength = rng.uniform(0.8, 1.0)
    alpha = (canvas_alpha * strength)[..., None]
    image = paper * (1 - alpha) + ink * alpha
    sigma = rng.uniform(0.0, 1.2)
    if sigma > 0.3:
        image = cv2.GaussianBlur(image, (0, 0), sigma)
    image += rng.normal(0, rng.uniform(2, 7), size=image.shape).astype(np.float32)
    image = np.clip(image + 0.5, 0, 255).astype(np.uint8)

    digits = []
    for number, (pool_index, line) in enumerate(zip(indices, line_of, strict=True), start=1):
        ys, xs = np.nonzero((ids == number) & (canvas_alpha > INK_ALPHA_FOR_BOX))
        if len(xs) == 0:  # warped out of frame (cannot happen with these margins; kept safe)
            continue
        box = (int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1))
        digits.append(SceneDigit(int(pool.labels[pool_index]), box, line, int(pool_index)))
    return Scene(image, tuple(digits))


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


def scene_stream(seed: int, pool: DigitPool, **options):
    """An endless, seeded sequence of scenes (the ``demo`` camera source)."""
    rng = np.random.default_rng(seed)
    while True:
        yield render_scene(rng, pool, **options)
