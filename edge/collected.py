"""The ``collected.csv`` format of ``digit-cam --collect``: ``read_rows(Path("crops/collected.csv"))``.

Shared by the writer (:mod:`edge.cam.collect`, on the device), the ``/label`` page of
``digit-cam --serve`` (:mod:`edge.cam.labeling`) and the workstation's readers (``python -m
train.label``, ``python -m train --finetune``), which may not import the camera app: the columns,
the label vocabulary and the atomic rewrite live here once.
"""

from __future__ import annotations

import contextlib
import csv
import os
import re
import tempfile
from collections.abc import Iterable
from pathlib import Path

from edge.errors import InputError

CSV_NAME = "collected.csv"
COLUMNS = ("file", "context", "source", "frame", "time", "predicted", "confidence", "top3", "label")
CROP_NAME = re.compile(r"^crop-(\d{6,})\.png$")
NOT_A_DIGIT = "x"  # a smudge, half a digit, a letter: kept out of training
LABELS = tuple("0123456789") + (NOT_A_DIGIT,)  # what the label column may hold, besides empty


class CollectError(InputError):
    """The --collect folder holds a collected.csv that is not ours (another format)."""


class LabelError(InputError):
    """collected.csv or a corrections file is wrong: a bad label, a missing file, a foreign format."""


def check_label(label: str | None, where: str) -> str:
    """``label`` stripped and lower-cased, when it is a digit, ``x`` or empty; else
    :class:`LabelError` naming ``where`` and what would be accepted."""
    label = (label or "").strip().lower()
    if label and label not in LABELS:
        raise LabelError(f"{where}: unknown label {label!r}; use a digit 0-9, {NOT_A_DIGIT} for "
                         "'not a digit', or leave it empty")
    return label


def read_rows(csv_path: Path) -> list[dict[str, str]]:
    """The rows of a collected.csv, checked to be ours (its header), else :class:`CollectError`."""
    return read_table(csv_path)[1]


def read_table(csv_path: Path) -> tuple[tuple[str, ...], list[dict[str, str]]]:
    """(header, rows) of a collected.csv, checked to be ours: a rewrite keeps any extra columns."""
    with csv_path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        header = tuple(reader.fieldnames or ())
        if header[: len(COLUMNS)] != COLUMNS:
            raise CollectError(f"{csv_path} is not a digit-cam collected.csv: its header is "
                               f"{','.join(header) or '(empty)'}, expected {','.join(COLUMNS)}")
        return header, list(reader)


def write_rows(directory: Path, header: Iterable[str], rows: Iterable[dict[str, str]]) -> Path:
    """Rewrite ``directory/collected.csv`` atomically: a temporary file in the same folder, flushed
    to disk, then renamed over it, so a reader (or a power cut) sees the old file or the new one,
    never half of one. The file keeps its permissions (mkstemp would make it 0600)."""
    path = Path(directory) / CSV_NAME
    descriptor, temporary = tempfile.mkstemp(dir=directory, prefix=".collected-", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(header))
            writer.writeheader()
            writer.writerows(rows)
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(OSError):
            os.chmod(temporary, path.stat().st_mode & 0o777)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path
