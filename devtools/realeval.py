"""Accuracy on real images: ``python -m devtools.evaluate --images DIR [--gallery OUT]``.

``DIR/labels.csv`` has the columns ``file,text,kind``; ``text`` is read as a string (leading zeros
kept), lines separated by one space. Each image is read with :func:`edge.images.read_image` (as
``digit-cam --source FILE`` does) and scored:

- exact: the reading's text equals ``text``;
- digit accuracy: the truth's digits (spaces dropped) aligned with the digits read by edit
  distance; a digit counts when the aligned read digit is the same. Missed (deleted) and extra
  (inserted) digits, and a confusion matrix of truth digit against read digit or '?', come from
  the same alignment.
"""

from __future__ import annotations

import csv
import html
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from edge.errors import InputError
from edge.recognizer import UNKNOWN, Reading, Recognizer

READ_LABELS = tuple("0123456789") + (UNKNOWN,)  # confusion-matrix columns


@dataclass(frozen=True)
class LabelledImage:
    file: str
    text: str
    kind: str


@dataclass(frozen=True)
class Alignment:
    matched: int  # truth digits read as themselves
    missed: int  # truth digits with nothing read for them
    extra: int  # digits read where the truth has none
    pairs: tuple[tuple[str, str], ...]  # (truth digit, read label) of every aligned pair


@dataclass(frozen=True)
class ImageScore:
    file: str
    kind: str
    truth: str
    read: str
    exact: bool
    alignment: Alignment
    ms: float


@dataclass
class KindSummary:
    images: int = 0
    exact: int = 0
    digits: int = 0
    digits_correct: int = 0
    missed: int = 0
    extra: int = 0
    ms: list[float] = field(default_factory=list)

    def add(self, score: ImageScore) -> None:
        self.images += 1
        self.exact += score.exact
        self.digits += len(score.truth.replace(" ", ""))
        self.digits_correct += score.alignment.matched
        self.missed += score.alignment.missed
        self.extra += score.alignment.extra
        self.ms.append(score.ms)

    def as_dict(self) -> dict:
        return {"images": self.images, "exact": self.exact,
                "exact_accuracy": self.exact / max(1, self.images),
                "digits": self.digits, "digit_accuracy": self.digits_correct / max(1, self.digits),
                "missed": self.missed, "extra": self.extra,
                "mean_ms": float(np.mean(self.ms)) if self.ms else 0.0}


def read_labels(directory: Path) -> list[LabelledImage]:
    """Rows of ``directory/labels.csv``; raises :class:`InputError` naming the bad row."""
    path = Path(directory) / "labels.csv"
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            if reader.fieldnames is None or not {"file", "text", "kind"} <= set(reader.fieldnames):
                raise InputError(f"{path}: expected the header file,text,kind, got {reader.fieldnames}")
            rows = []
            for number, row in enumerate(reader, start=2):
                text = (row["text"] or "").strip()
                if not row["file"] or not text or any(ch not in "0123456789 " for ch in text):
                    raise InputError(f"{path}, line {number}: needs a file and a text of digits and "
                                     f"spaces, got {row!r}")
                rows.append(LabelledImage(row["file"], text, (row["kind"] or "unknown").strip()))
    except FileNotFoundError:
        raise InputError(f"{path} not found: --images needs a folder with labels.csv "
                         "(file,text,kind)") from None
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise InputError(f"{path} cannot be read: {error}") from None
    if not rows:
        raise InputError(f"{path} lists no images")
    return rows


def align_digits(truth: str, read: str) -> Alignment:
    """Align two digit strings (spaces ignored) by edit distance (Levenshtein, unit costs)."""
    a, b = truth.replace(" ", ""), read.replace(" ", "")
    rows, cols = len(a) + 1, len(b) + 1
    cost = np.zeros((rows, cols), np.int32)
    cost[:, 0] = np.arange(rows)
    cost[0, :] = np.arange(cols)
    for i in range(1, rows):
        for j in range(1, cols):
            cost[i, j] = min(cost[i - 1, j] + 1, cost[i, j - 1] + 1,
                             cost[i - 1, j - 1] + (a[i - 1] != b[j - 1]))
    i, j, pairs, missed, extra = len(a), len(b), [], 0, 0
    while i or j:  # walk back, preferring a pairing so substitutions land in the confusion matrix
        if i and j and cost[i, j] == cost[i - 1, j - 1] + (a[i - 1] != b[j - 1]):
            pairs.append((a[i - 1], b[j - 1]))
            i, j = i - 1, j - 1
        elif i and cost[i, j] == cost[i - 1, j] + 1:
            missed, i = missed + 1, i - 1
        else:
            extra, j = extra + 1, j - 1
    pairs.reverse()
    return Alignment(sum(t == r for t, r in pairs), missed, extra, tuple(pairs))


def score_image(item: LabelledImage, reading: Reading, ms: float) -> ImageScore:
    return ImageScore(item.file, item.kind, item.text, reading.text, reading.text == item.text,
                      align_digits(item.text, reading.text), ms)


def confusion_matrix(scores: list[ImageScore]) -> np.ndarray:
    """(10, 11) counts: truth digit (rows) against read digit or '?' (columns)."""
    matrix = np.zeros((10, len(READ_LABELS)), np.int64)
    for score in scores:
        for truth, read in score.alignment.pairs:
            matrix[int(truth), READ_LABELS.index(read)] += 1
    return matrix


def evaluate_images(recognizer: Recognizer, directory: Path, *, progress=None,
                    on_image=None) -> list[ImageScore]:
    """Read and score every labelled image of ``directory``. ``on_image(item, image, reading)``
    is called for each (the gallery uses it)."""
    from edge.images import read_image

    directory = Path(directory)
    scores = []
    for item in read_labels(directory):
        image = read_image(directory / item.file)
        started = time.perf_counter()
        reading = recognizer.read(image)
        scores.append(score_image(item, reading, (time.perf_counter() - started) * 1e3))
        if on_image is not None:
            on_image(item, image, reading)
        if progress is not None:
            progress(1)
    return scores


def summarize(scores: list[ImageScore]) -> dict:
    """Overall and per-kind figures, and the confusion matrix, JSON-ready."""
    kinds: dict[str, KindSummary] = defaultdict(KindSummary)
    by_length: dict[str, KindSummary] = defaultdict(KindSummary)
    overall = KindSummary()
    for score in scores:
        kinds[score.kind].add(score)
        by_length[f"{score.kind}, {'one digit' if len(score.truth) == 1 else 'several digits'}"].add(score)
        overall.add(score)
    return {"overall": overall.as_dict(), "kinds": {k: v.as_dict() for k, v in sorted(kinds.items())},
            # One digit or a number: a single-digit photo is a different test from a line of 11.
            "by_length": {k: v.as_dict() for k, v in sorted(by_length.items())},
            "confusion": {"rows": list("0123456789"), "columns": list(READ_LABELS),
                          "counts": confusion_matrix(scores).tolist()},
            "failures": [{"file": s.file, "kind": s.kind, "truth": s.truth, "read": s.read}
                         for s in scores if not s.exact]}


def format_summary(summary: dict) -> str:
    """People's text: a table per kind, then the confusion matrix."""
    lines = [f"{'kind':<24}{'images':>7}{'exact':>9}{'digits':>8}{'digit acc':>11}{'missed':>8}"
             f"{'extra':>7}{'ms/img':>8}"]
    rows = [*summary["kinds"].items(), ("all", summary["overall"])]
    rows += [(f"  {name}", row) for name, row in summary.get("by_length", {}).items()]
    for name, row in rows:
        lines.append(f"{name:<24}{row['images']:>7}{row['exact_accuracy']:>9.1%}{row['digits']:>8}"
                     f"{row['digit_accuracy']:>11.1%}{row['missed']:>8}{row['extra']:>7}{row['mean_ms']:>8.1f}")
    confusion = summary["confusion"]
    lines += ["", "confusion (rows: truth, columns: read)", "     " + "".join(f"{c:>5}" for c in confusion["columns"])]
    for label, counts in zip(confusion["rows"], confusion["counts"], strict=True):
        lines.append(f"{label:>5}" + "".join(f"{n:>5}" if n else "    ." for n in counts))
    return "\n".join(lines)


class Gallery:
    """Writes ``OUT/index.html``: every failure with its boxes, the crops the model saw (with
    top-3), the truth and the reading. Call :meth:`add` per image, then :meth:`write`."""

    def __init__(self, out: Path):
        self.out = Path(out)
        self.entries: list[str] = []
        self.out.mkdir(parents=True, exist_ok=True)

    def add(self, item: LabelledImage, image: np.ndarray, reading: Reading) -> None:
        if reading.text == item.text:
            return
        import cv2

        from edge.overlay import draw_reading

        stem = f"{len(self.entries):03d}"
        annotated = draw_reading(image, reading)
        scale = min(1.0, 640 / max(annotated.shape[:2]))
        if scale < 1:
            annotated = cv2.resize(annotated, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        cv2.imwrite(str(self.out / f"{stem}.jpg"), annotated)
        cells = []
        for index, digit in enumerate(reading.digits):
            name = f"{stem}_{index:02d}.png"
            cv2.imwrite(str(self.out / name), cv2.resize(digit.crop, (56, 56), interpolation=cv2.INTER_NEAREST))
            top = " ".join(f"{k}:{p:.0%}" for k, p in digit.top_k)
            cells.append(f'<figure><img src="{name}"><figcaption>{html.escape(top)}</figcaption></figure>')
        self.entries.append(
            f'<section><h2>{html.escape(item.file)} ({html.escape(item.kind)})</h2>'
            f'<p>truth <b>{html.escape(item.text)}</b>, read <b>{html.escape(reading.text or "(nothing)")}</b></p>'
            f'<img src="{stem}.jpg"><div class="crops">{"".join(cells)}</div></section>')

    def write(self, summary_text: str) -> Path:
        page = self.out / "index.html"
        page.write_text(
            "<!doctype html><meta charset=utf-8><title>digit-edge failures</title><style>"
            "body{font-family:sans-serif}figure{display:inline-block;margin:4px;text-align:center}"
            "figcaption{font-size:11px}section{border-top:1px solid #ccc;padding:8px}</style>"
            f"<h1>{len(self.entries)} failures</h1><pre>{html.escape(summary_text)}</pre>"
            + "".join(self.entries), encoding="utf-8")
        return page
