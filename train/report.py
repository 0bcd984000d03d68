"""Pictures of a training run: curves, confusion matrix, misclassified digits (PNG files).

Called by :func:`train.training.run`; ``convert`` reuses :func:`digit_gallery` for the images
whose prediction changed under quantisation. matplotlib is imported lazily with the Agg backend
so this works on a headless machine.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edge.constants import LABELS, NUM_CLASSES


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def confusion_matrix(labels: np.ndarray, predictions: np.ndarray) -> np.ndarray:
    """(10, 10) int64 counts: row = true digit, column = predicted digit."""
    matrix = np.zeros((NUM_CLASSES, NUM_CLASSES), dtype=np.int64)
    np.add.at(matrix, (labels.astype(np.int64), predictions.astype(np.int64)), 1)
    return matrix


def plot_history(history: dict[str, list[float]], path: Path, *, title: str = "") -> None:
    """Loss and accuracy per epoch, training vs validation."""
    plt = _pyplot()
    fig, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=(10, 4))
    epochs = np.arange(1, len(history.get("loss", [])) + 1)
    for key, axis in (("loss", loss_ax), ("accuracy", acc_ax)):
        for prefix, style in (("", "-o"), ("val_", "--s")):
            values = history.get(prefix + key)
            if values:
                axis.plot(epochs, values, style, label=(prefix or "train_").rstrip("_"))
        axis.set_xlabel("epoch")
        axis.set_title(key)
        axis.grid(alpha=0.3)
        axis.legend()
    fig.suptitle(f"{title} training curves".strip())
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_confusion(labels: np.ndarray, predictions: np.ndarray, path: Path) -> np.ndarray:
    """Save the confusion matrix as a PNG (log colour scale, counts written) and return it."""
    plt = _pyplot()
    from matplotlib.colors import LogNorm

    matrix = confusion_matrix(labels, predictions)
    fig, axis = plt.subplots(figsize=(7, 6))
    image = axis.imshow(matrix + 1, cmap="Blues", norm=LogNorm())
    for row in range(NUM_CLASSES):
        for col in range(NUM_CLASSES):
            if matrix[row, col]:
                axis.text(col, row, str(matrix[row, col]), ha="center", va="center", fontsize=8,
                          color="white" if row == col else "black")
    axis.set_xticks(range(NUM_CLASSES), LABELS)
    axis.set_yticks(range(NUM_CLASSES), LABELS)
    axis.set_xlabel("predicted")
    axis.set_ylabel("true")
    accuracy = np.trace(matrix) / max(1, matrix.sum())
    axis.set_title(f"Confusion matrix, {matrix.sum():,} test images, accuracy {accuracy:.2%}")
    fig.colorbar(image, ax=axis, label="count + 1 (log)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return matrix


def digit_gallery(images: np.ndarray, captions: list[str], path: Path, *, title: str,
                  columns: int = 10, limit: int = 100) -> None:
    """A grid of (N, 28, 28) uint8 digits with one caption each; an empty set says so."""
    plt = _pyplot()
    count = min(len(images), limit)
    rows = max(1, int(np.ceil(count / columns)))
    fig, axes = plt.subplots(rows, columns, figsize=(columns * 1.1, rows * 1.3 + 0.6), squeeze=False)
    for index, axis in enumerate(axes.flat):
        axis.axis("off")
        if index < count:
            axis.imshow(images[index], cmap="gray_r", vmin=0, vmax=255)
            axis.set_title(captions[index], fontsize=8)
    if count == 0:
        axes.flat[0].text(0.5, 0.5, "none", ha="center", va="center", fontsize=14)
    shown = f" (first {count} of {len(images)})" if len(images) > count else ""
    fig.suptitle(f"{title}{shown}")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_misclassified(images: np.ndarray, labels: np.ndarray, predictions: np.ndarray,
                       probabilities: np.ndarray, path: Path, *, limit: int = 100) -> None:
    """Gallery of misclassified test digits, most confident mistakes first."""
    wrong = np.flatnonzero(predictions != labels)
    confidence = probabilities[wrong, predictions[wrong]]
    wrong = wrong[np.argsort(-confidence)]
    captions = [f"{labels[i]}→{predictions[i]} {probabilities[i, predictions[i]]:.0%}" for i in wrong]
    digit_gallery(images[wrong], captions, path,
                  title=f"{len(wrong)} misclassified test digits (true→predicted, confidence)",
                  limit=limit)
