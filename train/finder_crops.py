"""Training crops cut by our own finder: MNIST training digits rendered into synthetic scenes
(``edge.scenes``), found again with ``edge.preprocess.find_digits``, and labelled by matching each
found box to the digit the scene drew there.

Why: the classifier reads what the finder cuts, not MNIST. Its crops carry artefacts no
MNIST-side augmentation quite reproduces -- a neighbour's stroke at the edge, a piece clipped by a
split, a rule's stub, thresholding of a tilted camera photo, stroke normalisation -- and training on
them teaches the model to read those crops confidently (issue 10, "train partly on crops cut by
find_digits from rendered scenes"). Only the training split's digits are drawn, so the MNIST test
set stays unseen; boxes that match no drawn digit well enough are left out rather than guessed.
"""

from __future__ import annotations

import math
import multiprocessing
import os
from dataclasses import dataclass

import numpy as np

from edge.constants import INPUT_HEIGHT, INPUT_WIDTH
from edge.preprocess import Box, find_digits
from edge.scenes import KINDS, DigitPool, render_scene

# Scene kinds drawn, and how often: mostly camera photos, which are hardest for the classifier.
DEFAULT_KIND_WEIGHTS = {"plain": 2, "ruled": 2, "ballpoint": 2, "pencil": 2, "shadow": 2,
                        "long": 2, "touching": 2, "drawing": 1, "crop": 1}
MIN_IOU = 0.75  # a found box labelled with a drawn digit only when they overlap at least this much


MERGED_COVER = 0.6  # a box holding this much of each of two drawn digits is a merged pair, not a digit
JUNK_COVER = 0.1  # a box of which drawn digits cover less than this is no digit at all (a rule, a shadow)


@dataclass(frozen=True)
class FinderCrops:
    """(N, 28, 28) uint8 crops, ink bright, as the model sees them; (N,) uint8 labels; how many
    crops were found but matched no drawn digit (left out of ``images``); and (M, 28, 28)
    ``negatives``: crops the classifier must not read confidently -- two digits merged in one box,
    or no digit at all (see :func:`is_negative`)."""

    images: np.ndarray
    labels: np.ndarray
    unmatched: int
    negatives: np.ndarray

    @classmethod
    def empty(cls, unmatched: int = 0) -> FinderCrops:
        none = np.zeros((0, INPUT_HEIGHT, INPUT_WIDTH), np.uint8)
        return cls(none, np.zeros((0,), np.uint8), unmatched, none)


def intersection(a: Box, b: Box) -> int:
    """The area two (x, y, w, h) boxes share; 0 when they do not overlap."""
    x0, y0 = max(a[0], b[0]), max(a[1], b[1])
    x1, y1 = min(a[0] + a[2], b[0] + b[2]), min(a[1] + a[3], b[1] + b[3])
    return max(0, x1 - x0) * max(0, y1 - y0)


def covered(box: Box, by: Box) -> float:
    """The share of ``by``'s area that lies inside ``box``."""
    return intersection(box, by) / max(1, by[2] * by[3])


def side_by_side(a: Box, b: Box, box: Box) -> bool:
    """True when ``box`` spans two digits standing side by side: their columns overlap by under
    half the narrower one (neighbours in a line, not a small digit tucked into a big one's box),
    and the box is wider than the wider digit by half the narrower (it holds both, not one and
    the edge of its neighbour's box)."""
    overlap = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    narrow, wide = sorted((a[2], b[2]))
    return overlap < 0.5 * narrow and box[2] >= wide + 0.5 * narrow


def is_negative(box: Box, truth: list[Box]) -> bool:
    """True for a found box that is no one digit: it holds :data:`MERGED_COVER` of two drawn
    digits side by side (a touching pair read whole), or drawn digits cover under
    :data:`JUNK_COVER` of it (a rule's stub, a shadow)."""
    inside = [digit for digit in truth if covered(box, digit) >= MERGED_COVER]
    merged = any(side_by_side(a, b, box) for i, a in enumerate(inside) for b in inside[i + 1:])
    digit_share = sum(covered(digit, box) for digit in truth)
    return merged or digit_share < JUNK_COVER


def iou(a: Box, b: Box) -> float:
    """Intersection over union of two (x, y, w, h) boxes; 0 when they do not overlap."""
    inter = intersection(a, b)
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


def scene_crops(scene) -> tuple[list[np.ndarray], list[int], int, list[np.ndarray]]:
    """The finder's crops of ``scene`` labelled by the drawn digit they match: for each drawn
    digit, the best-matching of the finder's own boxes and the best-matching piece of the joins
    and splits the classifier would choose between (so a touching pair teaches the pieces the
    split cuts, without one pair flooding the set with near-identical cuts). Returns crops,
    labels, how many of the finder's boxes matched no drawn digit, and the negatives among all
    the boxes and pieces the classifier would see (:func:`is_negative`)."""
    found = find_digits(scene.image)
    truth = [(digit.box, digit.label) for digit in scene.digits]
    primary = match_best(found.boxes, truth)
    alternative_boxes = [box for alt in (*found.joins, *found.splits) for box in alt.boxes]
    alternative_crops = [crop for alt in (*found.joins, *found.splits) for crop in alt.crops]
    secondary = match_best(alternative_boxes, truth)
    crops, labels = [], []
    for index, (_, label) in enumerate(truth):
        if index in primary:
            crops.append(found.crops[primary[index]])
            labels.append(label)
        if index in secondary and (index not in primary
                                   or alternative_boxes[secondary[index]] != found.boxes[primary[index]]):
            crops.append(alternative_crops[secondary[index]])
            labels.append(label)
    matched = set(primary.values())
    unmatched = sum(1 for i in range(len(found.boxes)) if i not in matched)
    drawn = [box for box, _ in truth]
    negatives = [crop for box, crop in zip([*found.boxes, *alternative_boxes],
                                           [*found.crops, *alternative_crops], strict=True)
                 if is_negative(box, drawn)]
    return crops, labels, unmatched, negatives


def match_best(found: list[Box], truth: list[tuple[Box, int]], min_iou: float = MIN_IOU) -> dict[int, int]:
    """{truth index: index of the found box overlapping it best}, for truths some box overlaps
    by at least ``min_iou``."""
    best: dict[int, tuple[float, int]] = {}
    for found_index, box in enumerate(found):
        for truth_index, (truth_box, _) in enumerate(truth):
            overlap = iou(box, truth_box)
            if overlap >= min_iou and overlap > best.get(truth_index, (0.0, -1))[0]:
                best[truth_index] = (overlap, found_index)
    return {truth_index: found_index for truth_index, (_, found_index) in best.items()}


def make_finder_crops(pool: DigitPool, n_scenes: int, seed: int,
                      kind_weights: dict[str, float] | None = None, progress=None) -> FinderCrops:
    """Render ``n_scenes`` seeded scenes drawing from ``pool`` and keep the finder's crops that
    match a drawn digit. ``progress`` (e.g. a tqdm bar) gets ``update(1)`` per scene."""
    weights = dict(kind_weights or DEFAULT_KIND_WEIGHTS)
    unknown = sorted(set(weights) - set(KINDS))
    if unknown:
        raise ValueError(f"unknown scene kinds {unknown}; valid kinds: {', '.join(KINDS)}")
    kinds = list(weights)
    p = np.array([weights[k] for k in kinds], dtype=float)
    rng = np.random.default_rng(seed)
    chosen = rng.choice(len(kinds), size=n_scenes, p=p / p.sum())
    images, labels, unmatched, negatives = [], [], 0, []
    for kind_index in chosen:
        scene = render_scene(rng, pool, kind=kinds[kind_index])
        crops, crop_labels, missed, junk = scene_crops(scene)
        images.extend(crops)
        labels.extend(crop_labels)
        unmatched += missed
        negatives.extend(junk)
        if progress is not None:
            progress.update(1)
    empty = FinderCrops.empty(unmatched)
    return FinderCrops(np.stack(images).astype(np.uint8) if images else empty.images,
                       np.asarray(labels, np.uint8) if labels else empty.labels, unmatched,
                       np.stack(negatives).astype(np.uint8) if negatives else empty.negatives)


CROPS_PER_SCENE = 3.5  # measured mean of matched crops per scene with DEFAULT_KIND_WEIGHTS
CHUNK_SCENES = 100  # scenes per worker task: coarse enough to amortise, fine enough to show progress
_worker_pool: DigitPool | None = None


def _init_worker(images: np.ndarray, labels: np.ndarray) -> None:
    global _worker_pool
    _worker_pool = DigitPool(images, labels)


def _chunk(task: tuple[int, int]) -> FinderCrops:
    n_scenes, seed = task
    assert _worker_pool is not None
    return make_finder_crops(_worker_pool, n_scenes, seed)


def scenes_for(n_crops: int) -> int:
    """How many scenes to render for about ``n_crops`` matched crops."""
    return max(1, math.ceil(n_crops / CROPS_PER_SCENE)) if n_crops > 0 else 0


def finder_training_crops(images: np.ndarray, labels: np.ndarray, n_crops: int, seed: int,
                          workers: int | None = None, progress=None) -> FinderCrops:
    """About ``n_crops`` finder crops of the digits ``images``/``labels`` (MNIST training
    images), rendered in chunks of seeded scenes across ``workers`` processes (default: every
    CPU). The result depends only on the inputs and ``seed``, not on ``workers``. ``progress``
    gets ``update(k)`` for every k scenes done."""
    n_scenes = scenes_for(n_crops)
    tasks = [(min(CHUNK_SCENES, n_scenes - start), seed * 100_003 + start)
             for start in range(0, n_scenes, CHUNK_SCENES)]
    workers = max(1, min(workers or os.cpu_count() or 1, len(tasks)))
    parts: list[FinderCrops] = []
    if workers == 1:
        pool = DigitPool(images, labels)
        parts = [make_finder_crops(pool, n, task_seed) for n, task_seed in tasks]
        if progress is not None:
            progress.update(n_scenes)
    else:
        # spawn, not fork: the caller may already have started TensorFlow's threads.
        context = multiprocessing.get_context("spawn")
        with context.Pool(workers, initializer=_init_worker, initargs=(images, labels)) as pool:
            for (n, _), part in zip(tasks, pool.imap(_chunk, tasks), strict=True):
                parts.append(part)
                if progress is not None:
                    progress.update(n)
    if not parts:
        return FinderCrops.empty()
    return FinderCrops(np.concatenate([p.images for p in parts]), np.concatenate([p.labels for p in parts]),
                       sum(p.unmatched for p in parts), np.concatenate([p.negatives for p in parts]))
