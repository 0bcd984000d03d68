"""Representative images for int8 calibration: from the training set only, stratified, seeded.

``representative_indices(mnist.train.labels, 500, seed=0)`` is used by :mod:`convert.pipeline`.
The test set is never touched here, so the parity proof on the test set stays honest.
"""

from __future__ import annotations

import numpy as np

from edge.constants import NUM_CLASSES


def representative_indices(labels: np.ndarray, count: int, seed: int) -> np.ndarray:
    """``count`` indices into ``labels``, as equal per class as possible, in shuffled order.

    Classes get ``count // 10`` each and the remainder goes to the first classes, so 500 images
    are exactly 50 per digit. Raises ``ValueError`` when a class has too few examples.
    """
    if count < NUM_CLASSES:
        raise ValueError(f"need at least {NUM_CLASSES} calibration samples (one per digit), got {count}")
    rng = np.random.default_rng(seed)
    per_class = [count // NUM_CLASSES + (1 if digit < count % NUM_CLASSES else 0)
                 for digit in range(NUM_CLASSES)]
    chosen = []
    for digit, wanted in enumerate(per_class):
        pool = np.flatnonzero(labels == digit)
        if len(pool) < wanted:
            raise ValueError(f"digit {digit} has only {len(pool)} training images, {wanted} requested")
        chosen.append(rng.choice(pool, size=wanted, replace=False))
    indices = np.concatenate(chosen)
    rng.shuffle(indices)
    return indices
