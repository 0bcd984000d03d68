"""The ``collected.csv`` format of ``digit-cam --collect``: ``read_rows(Path("crops/collected.csv"))``.

Shared by the writer (:mod:`edge.cam.collect`, on the device) and its readers on the workstation
(``python -m train.label``, ``python -m train --finetune``), which may not import the camera app.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

from edge.errors import InputError

CSV_NAME = "collected.csv"
COLUMNS = ("file", "context", "source", "frame", "time", "predicted", "confidence", "top3", "label")
CROP_NAME = re.compile(r"^crop-(\d{6,})\.png$")


class CollectError(InputError):
    """The --collect folder holds a collected.csv that is not ours (another format)."""


def read_rows(csv_path: Path) -> list[dict[str, str]]:
    """The rows of a collected.csv, checked to be ours (its header), else :class:`CollectError`."""
    with csv_path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        header = tuple(reader.fieldnames or ())
        if header[: len(COLUMNS)] != COLUMNS:
            raise CollectError(f"{csv_path} is not a digit-cam collected.csv: its header is "
                               f"{','.join(header) or '(empty)'}, expected {','.join(COLUMNS)}")
        return list(reader)
