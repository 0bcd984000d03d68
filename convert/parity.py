"""Float-vs-converted accuracy parity: the numbers, the table, the JSON, the gallery.

``compare(labels, float_probs, converted_probs)`` -> :class:`ParityReport`; used by
:mod:`convert.pipeline` and by the tests on the shipped model.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from edge.constants import NUM_CLASSES


@dataclass(frozen=True)
class ClassParity:
    digit: int
    count: int
    float_accuracy: float
    converted_accuracy: float

    @property
    def diff_pp(self) -> float:
        return 100.0 * (self.converted_accuracy - self.float_accuracy)


@dataclass(frozen=True)
class ChangedPrediction:
    index: int  # into the MNIST test set
    label: int
    float_prediction: int
    converted_prediction: int
    float_confidence: float
    converted_confidence: float


@dataclass(frozen=True)
class ParityReport:
    images: int
    float_accuracy: float
    converted_accuracy: float
    agreement: float  # fraction of images where both models predict the same digit
    per_class: list[ClassParity]
    changed: list[ChangedPrediction]

    @property
    def drop_pp(self) -> float:
        """Accuracy lost by conversion, in percentage points (negative: it gained)."""
        return 100.0 * (self.float_accuracy - self.converted_accuracy)

    def to_dict(self) -> dict:
        data = asdict(self)
        data["drop_pp"] = self.drop_pp
        for row, entry in zip(self.per_class, data["per_class"], strict=True):
            entry["diff_pp"] = row.diff_pp
        return data

    def summary(self) -> dict:
        """The few numbers that go into the model's sidecar."""
        return {"images": self.images, "float_accuracy": self.float_accuracy,
                "converted_accuracy": self.converted_accuracy, "drop_pp": self.drop_pp,
                "agreement": self.agreement, "changed": len(self.changed)}

    def table(self, mode: str) -> str:
        """A readable text table for the terminal."""
        lines = [
            f"{'':14}{'float (Keras)':>15}{mode + ' (TFLite)':>17}{'diff pp':>10}",
            f"{'accuracy':14}{self.float_accuracy:>15.2%}{self.converted_accuracy:>17.2%}"
            f"{0.0 - self.drop_pp:>+10.2f}",
        ]
        for row in self.per_class:
            lines.append(f"{'  digit ' + str(row.digit):14}{row.float_accuracy:>15.2%}"
                         f"{row.converted_accuracy:>17.2%}{row.diff_pp:>+10.2f}")
        lines.append(f"agreement {self.agreement:.2%} on {self.images:,} test images; "
                     f"{len(self.changed)} prediction(s) changed")
        return "\n".join(lines)


def compare(labels: np.ndarray, float_probs: np.ndarray, converted_probs: np.ndarray) -> ParityReport:
    """Compare two models' (N, 10) probabilities on the same labelled images."""
    if float_probs.shape != converted_probs.shape or len(labels) != len(float_probs):
        raise ValueError(f"shape mismatch: labels {labels.shape}, float {float_probs.shape}, "
                         f"converted {converted_probs.shape}")
    float_pred = float_probs.argmax(axis=1)
    conv_pred = converted_probs.argmax(axis=1)
    per_class = []
    for digit in range(NUM_CLASSES):
        mask = labels == digit
        count = int(mask.sum())
        per_class.append(ClassParity(
            digit=digit, count=count,
            float_accuracy=float(np.mean(float_pred[mask] == digit)) if count else 0.0,
            converted_accuracy=float(np.mean(conv_pred[mask] == digit)) if count else 0.0))
    changed = [
        ChangedPrediction(index=int(i), label=int(labels[i]), float_prediction=int(float_pred[i]),
                          converted_prediction=int(conv_pred[i]),
                          float_confidence=float(float_probs[i, float_pred[i]]),
                          converted_confidence=float(converted_probs[i, conv_pred[i]]))
        for i in np.flatnonzero(float_pred != conv_pred)
    ]
    return ParityReport(
        images=len(labels),
        float_accuracy=float(np.mean(float_pred == labels)),
        converted_accuracy=float(np.mean(conv_pred == labels)),
        agreement=float(np.mean(float_pred == conv_pred)),
        per_class=per_class,
        changed=changed,
    )
