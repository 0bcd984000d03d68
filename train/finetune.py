"""``python -m train --finetune runs/edge/model.keras --extra crops/``: learn a user's handwriting.

:func:`finetune` trains an existing model a few epochs on the labelled crops of ``digit-cam
--collect`` folders (over-sampled so they are ``extra_share`` of every epoch, and augmented like
MNIST) mixed with MNIST so nothing is forgotten. A stratified part of the user's crops is held out
and read before and after, as is the MNIST test set; the model is written only when MNIST test
accuracy drops by at most ``max_mnist_drop`` percentage points. ``metrics.json`` records the extra
data: each CSV's sha256 and the labels per digit.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from edge.collected import CSV_NAME
from edge.constants import to_model_input
from edge.errors import InputError, JobError
from train.label import load_collected
from train.mnist import MnistSplit

DEFAULT_MAX_MNIST_DROP = 0.3  # percentage points: the "nothing is forgotten" bar
HOLDOUT_FRACTION = 0.3  # of each digit's crops, read before/after and never trained on
EXTRA_SHARE = 0.2  # the user's crops make this share of each fine-tuning epoch (over-sampled)
FINETUNE_LEARNING_RATE = 3e-4  # a tenth of the edge recipe's peak: nudge the weights, don't retrain
FINETUNE_EPOCHS = 3


class EmptyLabelsError(InputError):
    """The --extra folders hold no labelled digit: nothing to fine-tune on."""


class ForgettingError(JobError):
    """MNIST test accuracy dropped more than --max-mnist-drop: the model was not written."""


@dataclass(frozen=True)
class ExtraData:
    """Labelled crops of one or more collect folders: images (N, 28, 28) uint8, labels (N,)."""

    images: np.ndarray
    labels: np.ndarray
    sources: list[dict] = field(default_factory=list)  # per folder: csv, sha256, counts per digit

    def counts(self) -> dict[str, int]:
        return {str(d): int(n) for d, n in sorted(Counter(self.labels.tolist()).items())}


def sha256_of(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def load_extra(directories: list[Path]) -> ExtraData:
    """The rows labelled 0-9 of every folder (``x``, "not a digit", and empty labels are left out)."""
    import cv2

    images, labels, sources = [], [], []
    for directory in directories:
        collected = load_collected(Path(directory))
        counts: Counter = Counter()
        for number, row in enumerate(collected.rows, start=1):
            if not row["label"].isdigit():
                continue
            crop = cv2.imread(str(Path(directory) / row["file"]), cv2.IMREAD_GRAYSCALE)
            if crop is None or crop.shape != (28, 28):
                raise InputError(f"{Path(directory) / CSV_NAME} row {number} ({row['file']}): not a 28x28 "
                                 "image")
            images.append(crop)
            labels.append(int(row["label"]))
            counts[row["label"]] += 1
        sources.append({"csv": str(Path(directory) / CSV_NAME), "sha256": sha256_of(Path(directory) / CSV_NAME),
                        "rows": len(collected.rows), "labelled_digits": dict(sorted(counts.items()))})
    if not labels:
        folders = " ".join(str(d) for d in directories)
        raise EmptyLabelsError(f"no labelled digits in {folders}: label the crops first (python -m "
                               f"train.label {folders} --apply FILE); nothing was trained")
    return ExtraData(np.stack(images).astype(np.uint8), np.array(labels, np.uint8), sources)


def stratified_holdout(labels: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, held out): ``fraction`` of each digit held out, rounded, but a digit with
    a single crop keeps it for training (it cannot be both learnt and measured)."""
    rng = np.random.default_rng(seed)
    train, held = [], []
    for digit in np.unique(labels):
        indices = rng.permutation(np.flatnonzero(labels == digit))
        count = min(len(indices) - 1, int(round(fraction * len(indices))))
        held += indices[:count].tolist()
        train += indices[count:].tolist()
    return np.array(sorted(train), int), np.array(sorted(held), int)


def oversample(count: int, total_other: int, share: float) -> int:
    """How many times to repeat ``count`` crops so they are about ``share`` of the mix with
    ``total_other`` MNIST images (at least once)."""
    if count == 0:
        return 0
    return max(1, int(round(share * total_other / ((1 - share) * count))))


@dataclass(frozen=True)
class FinetuneConfig:
    model: Path
    extra: list[Path]
    out_dir: Path
    data_dir: str | None = None
    epochs: int = FINETUNE_EPOCHS
    batch_size: int = 128
    learning_rate: float = FINETUNE_LEARNING_RATE
    max_mnist_drop: float = DEFAULT_MAX_MNIST_DROP  # percentage points
    holdout: float = HOLDOUT_FRACTION
    extra_share: float = EXTRA_SHARE
    augment: bool = True
    seed: int = 42
    limit: int | None = None  # MNIST training images used (smoke tests)
    test_limit: int | None = None
    overwrite: bool = False
    verbose: int = 0


@dataclass(frozen=True)
class FinetuneResult:
    out_dir: Path
    metrics: dict
    written: bool


def accuracy(model, images: np.ndarray, labels: np.ndarray) -> float | None:
    if len(labels) == 0:
        return None
    predicted = np.argmax(model.predict(to_model_input(images), batch_size=512, verbose=0), axis=-1)
    return float(np.mean(predicted == labels))


def finetune(config: FinetuneConfig, mnist=None) -> FinetuneResult:
    """Fine-tune ``config.model``; raises :class:`ForgettingError` (model not written) when MNIST drops."""
    extra = load_extra(config.extra)  # before TensorFlow's slow import: bad input fails at once
    out_dir = Path(config.out_dir)
    target = out_dir / "model.keras"
    if target.exists() and not config.overwrite:
        raise JobError(f"{target} exists; pass --overwrite or another --out")
    if not Path(config.model).is_file():
        raise InputError(f"model {config.model} not found")
    started = time.perf_counter()
    import keras
    import tensorflow as tf

    from train.mnist import load_mnist
    from train.training import build_augmenter, make_dataset

    keras.utils.set_random_seed(config.seed)
    mnist = mnist or load_mnist(config.data_dir)
    test = mnist.test.head(config.test_limit)
    base = mnist.train.head(config.limit)
    train_idx, held_idx = stratified_holdout(extra.labels, config.holdout, config.seed)
    model = keras.models.load_model(config.model)
    before = {"mnist_test": accuracy(model, test.images, test.labels),
              "extra_holdout": accuracy(model, extra.images[held_idx], extra.labels[held_idx])}

    repeats = oversample(len(train_idx), len(base), config.extra_share)
    mixed = MnistSplit(np.concatenate([base.images, np.repeat(extra.images[train_idx], repeats, axis=0)]),
                       np.concatenate([base.labels, np.repeat(extra.labels[train_idx], repeats)]))
    augment = build_augmenter(config.seed) if config.augment else None
    dataset = make_dataset(tf, mixed, config.batch_size, shuffle=True, augment=augment, seed=config.seed)
    model.compile(optimizer=keras.optimizers.Adam(config.learning_rate), loss="categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(dataset, epochs=config.epochs, verbose=config.verbose, shuffle=False)  # the dataset shuffles
    after = {"mnist_test": accuracy(model, test.images, test.labels),
             "extra_holdout": accuracy(model, extra.images[held_idx], extra.labels[held_idx])}

    drop_pp = 100 * (before["mnist_test"] - after["mnist_test"])
    metrics = {
        "finetuned_from": str(config.model), "epochs": config.epochs, "learning_rate": config.learning_rate,
        "mnist_train_images": len(base), "test_images": len(test), "augment": config.augment,
        "extra": {"sources": extra.sources, "labelled_digits": extra.counts(), "trained": int(len(train_idx)),
                  "held_out": int(len(held_idx)), "repeats": repeats},
        "before": before, "after": after, "mnist_drop_pp": round(drop_pp, 4),
        "max_mnist_drop_pp": config.max_mnist_drop, "seconds": round(time.perf_counter() - started, 1),
    }
    written = drop_pp <= config.max_mnist_drop
    metrics["written"] = written
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    if not written:
        raise ForgettingError(f"MNIST test accuracy dropped {drop_pp:.2f} pp ({before['mnist_test']:.2%} -> "
                              f"{after['mnist_test']:.2%}), more than --max-mnist-drop {config.max_mnist_drop} pp; "
                              f"the model was not written (see {out_dir / 'metrics.json'}); try fewer epochs "
                              "or more labelled crops")
    model.save(target)
    return FinetuneResult(out_dir, metrics, written)


def summary(result: FinetuneResult) -> str:
    m = result.metrics

    def pct(value):
        return "n/a (no held-out crops)" if value is None else f"{value:.2%}"

    return "\n".join([
        f"Fine-tuned on {m['extra']['trained']} labelled crops (x{m['extra']['repeats']}) + "
        f"{m['mnist_train_images']:,} MNIST images, {m['epochs']} epochs, {m['seconds']:.0f} s",
        f"  your held-out crops ({m['extra']['held_out']}): {pct(m['before']['extra_holdout'])} -> "
        f"{pct(m['after']['extra_holdout'])}",
        f"  MNIST test ({m['test_images']:,}): {pct(m['before']['mnist_test'])} -> {pct(m['after']['mnist_test'])} "
        f"(drop {m['mnist_drop_pp']:.2f} pp, allowed {m['max_mnist_drop_pp']})",
        f"  next: python -m convert --model {result.out_dir / 'model.keras'}",
    ])


__all__ = ["FinetuneConfig", "finetune", "load_extra", "stratified_holdout"]
