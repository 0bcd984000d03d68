"""Semeion handwritten digits as training crops: the styles MNIST rarely has, from real hands.

MNIST was written by Americans. Its 4s are nearly all open, its 7s have no crossbar and its 1s
are bare strokes, so the classifier read closed, printed 4s as 9s (four of the thirteen misreads
left on real photos from other sources sat at 53/47 between the two). Strokes drawn onto MNIST
digits (:mod:`train.augment`) imitate these styles; the Semeion set has them from real writers:
1,593 digits by about 80 people in Italy, each writing 0-9 twice (once carefully, once fast) --
closed 4s, crossed 7s, flagged 1s and straight-tailed 9s in numbers.

Source and licence: "Semeion Handwritten Digit" (Tactile Srl, Brescia, and the Semeion Research
Center of Sciences of Communication, Rome; donated 2008), UCI Machine Learning Repository,
https://archive.ics.uci.edu/dataset/178, CC BY 4.0. ``train/data/semeion.npz`` holds its 1,593
rows unchanged, packed: ``pixels`` (N, 32) uint8 = ``np.packbits`` of the 256 0/1 pixels, and
``labels`` (N,) uint8 from the ten one-hot columns.

The scans were stretched to fill a 16x16 box and made binary, which loses each digit's
proportions and its stroke edges. :func:`semeion_crops` gives each digit back the proportions of
a random MNIST digit of the same class, draws it large and smooth as dark ink on white paper, and
cuts it with our own finder (``edge.preprocess.find_digits``), so the crop is normalised exactly as
a drawing is on the device -- stroke width included. The file lists its digits in six blocks of
199-399 rows, each running through 0s, then 1s, ... then 9s (:func:`writer_blocks`); UCI does
not say who wrote which row, so the blocks are taken to be different writers. The fourth block
(199 digits) is held out and only ever measured.
"""

from __future__ import annotations

import hashlib
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edge.constants import INPUT_HEIGHT, INPUT_WIDTH, NUM_CLASSES
from edge.errors import InputError

SEMEION_FILE = Path(__file__).with_name("data") / "semeion.npz"
SEMEION_SIDE = 16
SEMEION_COUNT = 1593
# sha256 of the pixels and labels arrays' bytes, so a damaged or replaced file is named, not trained on.
SEMEION_SHA256 = "6ed3f6440de681ca0af3902498725f84428113ae4ff5481bcf3898b22da64e19"
HELD_OUT_BLOCK = 3  # of the file's six writer blocks (0-based): 199 digits never trained on
RENDER_HEIGHT = 96  # px: six times the scan, so the smoothed outline has no 16x16 steps left
RENDER_MARGIN = 24  # px of paper around the digit
SMOOTHING = 0.6  # Gaussian sigma, in scan pixels, that rounds the binary scan's staircase edges
MIN_ASPECT = 0.15  # a thinner ink box is drawn this wide (a 1's bare stroke still has a pen's width)


class SemeionError(InputError):
    """The bundled Semeion file is missing or damaged."""


@dataclass(frozen=True)
class Semeion:
    """``images`` (N, 16, 16) uint8 0/1, ink 1; ``labels`` (N,) uint8; ``blocks`` (N,) the
    block of each row (the label sequence starts again from 0 at each block)."""

    images: np.ndarray
    labels: np.ndarray
    blocks: np.ndarray

    def split(self, held_out_block: int = HELD_OUT_BLOCK) -> tuple[Semeion, Semeion]:
        """(train, held out): the held-out block's rows appear in no training row (its writers,
        presumably, in none either: the file lists its writers block by block)."""
        held = self.blocks == held_out_block
        return self._subset(~held), self._subset(held)

    def _subset(self, keep: np.ndarray) -> Semeion:
        return Semeion(self.images[keep], self.labels[keep], self.blocks[keep])

    def __len__(self) -> int:
        return len(self.labels)


def _digest(pixels: np.ndarray, labels: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(pixels).tobytes() + np.ascontiguousarray(labels).tobytes()).hexdigest()


def writer_blocks(labels: np.ndarray) -> np.ndarray:
    """Block number of each row: a new block starts wherever the label goes down (the file lists
    each group of writers' digits 0, 0, ..., 1, 1, ..., 9 in turn)."""
    starts = np.concatenate([[0], (np.diff(labels.astype(int)) < 0).astype(int)])
    return np.cumsum(starts)


def load_semeion(path: Path = SEMEION_FILE) -> Semeion:
    """The bundled Semeion digits, checked. Raises :class:`SemeionError` for a missing or
    damaged file."""
    try:
        with np.load(path) as data:
            pixels, labels = data["pixels"], data["labels"]
    except (OSError, EOFError, KeyError, ValueError, zipfile.BadZipFile, zlib.error) as err:
        raise SemeionError(f"cannot read the Semeion digits at {path} ({err}); reinstall digit-edge "
                           "or restore train/data/semeion.npz from the repository") from err
    if _digest(pixels, labels) != SEMEION_SHA256:
        raise SemeionError(f"{path} is not the bundled Semeion file (its checksum differs); restore it "
                           "from the repository")
    images = np.unpackbits(pixels, axis=1)[:, :SEMEION_SIDE * SEMEION_SIDE]
    images = images.reshape(-1, SEMEION_SIDE, SEMEION_SIDE)
    return Semeion(images, labels.astype(np.uint8), writer_blocks(labels))


def ink_aspects(images: np.ndarray, labels: np.ndarray, threshold: int = 128) -> list[np.ndarray]:
    """Width / height of each digit's ink box, per class: the proportions a Semeion digit of
    that class is given back. ``images`` (N, 28, 28) uint8, ink bright."""
    ink = images >= threshold
    rows, cols = ink.any(axis=2), ink.any(axis=1)

    def extent(spans: np.ndarray) -> np.ndarray:
        first = spans.argmax(axis=1)
        last = spans.shape[1] - 1 - spans[:, ::-1].argmax(axis=1)
        return (last - first + 1).astype(np.float64)

    has_ink = rows.any(axis=1)
    aspect = extent(cols) / extent(rows)
    return [aspect[(labels == digit) & has_ink] for digit in range(NUM_CLASSES)]


def render_digit(scan: np.ndarray, aspect: float, height: int = RENDER_HEIGHT,
                 margin: int = RENDER_MARGIN) -> np.ndarray:
    """A 16x16 0/1 scan drawn as dark ink on white paper: its ink box ``height`` px tall and
    ``aspect`` x as wide, outline smoothed, ``margin`` px of paper around. (H, W) uint8."""
    import cv2

    ys, xs = np.nonzero(scan)
    if len(ys) == 0:
        return np.full((height + 2 * margin, height + 2 * margin), 255, np.uint8)
    box = scan[ys.min():ys.max() + 1, xs.min():xs.max() + 1].astype(np.float32)
    width = max(2, round(height * max(aspect, MIN_ASPECT)))
    # Smooth at the scan's own scale before enlarging, so the staircase becomes a curve.
    padded = np.pad(box, 1)
    soft = cv2.GaussianBlur(padded, (0, 0), SMOOTHING)
    pad_y, pad_x = height / box.shape[0], width / box.shape[1]
    big = cv2.resize(soft, (width + round(2 * pad_x), height + round(2 * pad_y)), interpolation=cv2.INTER_CUBIC)
    # Ink where the smoothed scan is at least half on, with a short soft edge like a pen's.
    ink = np.clip((big - 0.35) / 0.3, 0.0, 1.0)
    page = np.full((ink.shape[0] + 2 * margin, ink.shape[1] + 2 * margin), 255.0, np.float32)
    page[margin:margin + ink.shape[0], margin:margin + ink.shape[1]] -= 225.0 * ink
    return page.round().astype(np.uint8)


@dataclass(frozen=True)
class SemeionCrops:
    """(N, 28, 28) uint8 crops as the model sees them, their (N,) labels, and how many renders
    the finder did not cut as exactly one digit (left out)."""

    images: np.ndarray
    labels: np.ndarray
    dropped: int

    @classmethod
    def empty(cls, dropped: int = 0) -> SemeionCrops:
        return cls(np.zeros((0, INPUT_HEIGHT, INPUT_WIDTH), np.uint8), np.zeros((0,), np.uint8), dropped)


def semeion_crops(digits: Semeion, aspects: list[np.ndarray], count: int, seed: int,
                  progress=None) -> SemeionCrops:
    """``count`` crops, taking the digits in a shuffled order and round again as often as needed
    (no digit twice before every digit once), each drawn with the proportions of a random MNIST
    digit of its class (``aspects``, from :func:`ink_aspects`) and cut by
    ``edge.preprocess.find_digits``. ``progress`` (optional) gets ``update(1)`` per render."""
    from edge.preprocess import find_digits

    if count <= 0 or len(digits) == 0:
        return SemeionCrops.empty()
    rng = np.random.default_rng(seed)
    rounds = -(-count // len(digits))
    order = np.concatenate([rng.permutation(len(digits)) for _ in range(rounds)])[:count].astype(int)
    crops, labels, dropped = [], [], 0
    for index in order:
        label = int(digits.labels[index])
        choices = aspects[label]
        aspect = float(rng.choice(choices)) if len(choices) else 0.8
        found = find_digits(render_digit(digits.images[index], aspect))
        if len(found.crops) == 1:
            crops.append(found.crops[0])
            labels.append(label)
        else:
            dropped += 1
        if progress is not None:
            progress.update(1)
    if not crops:
        return SemeionCrops.empty(dropped)
    return SemeionCrops(np.stack(crops), np.asarray(labels, np.uint8), dropped)


def held_out_crops(semeion: Semeion, mnist_images: np.ndarray, mnist_labels: np.ndarray,
                   seed: int = 0) -> SemeionCrops:
    """The crops every run and ``python -m devtools.evaluate --semeion`` measure: three of each
    held-out digit, with proportions from ``mnist_images`` (all MNIST training images, so the
    crops are the same whatever a run's --seed or --limit)."""
    _, held = semeion.split()
    return semeion_crops(held, ink_aspects(mnist_images, mnist_labels), 3 * len(held), seed)


def held_out_score(crops: SemeionCrops, predictions: np.ndarray) -> dict:
    """What a run and ``devtools.evaluate --semeion`` report for ``predictions`` (N,) on
    :func:`held_out_crops`: accuracy, crops and renders dropped."""
    return {"accuracy": float(np.mean(predictions == crops.labels)), "crops": int(len(crops.labels)),
            "dropped": int(crops.dropped)}


__all__ = ["SEMEION_FILE", "Semeion", "SemeionCrops", "SemeionError", "held_out_crops", "held_out_score",
           "ink_aspects", "load_semeion", "render_digit", "semeion_crops", "writer_blocks"]
