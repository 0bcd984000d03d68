"""``python -m train.label crops/ [--apply corrections.csv]``: label collected crops without a browser.

``digit-cam --collect crops/`` fills ``crops/collected.csv`` with unlabelled rows. This command
writes a contact sheet (``crops/contact-sheet.png``: every crop, enlarged, under its row number and
the digit the model read) and, with ``--apply FILE``, copies labels from a small CSV into
``collected.csv``, atomically (a temporary file renamed over it), so an interrupted run never
leaves half a file. The corrections file has a header ``row,label`` (row numbers as on the sheet)
or ``file,label`` (crop file names); a label is a digit ``0``-``9``, ``x`` for "not a digit", or
empty to clear it. Anything else in either file is one error naming the row, exit 3.
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edge.clikit import positive_int, run_main
from edge.collected import COLUMNS, CSV_NAME, CollectError, LabelError, check_label, read_rows, write_rows
from edge.errors import EPILOG

SHEET_NAME = "contact-sheet.png"
CELL_SCALE = 3  # 28 px crops shown at 84 px: strokes visible, 20 columns fit a laptop screen
CAPTION_PX = 16  # caption strip above each crop: "#12 7>3"
SHEET_COLUMNS = 20


@dataclass(frozen=True)
class Collected:
    """The rows of one collected.csv (each a dict of its columns) and its header."""

    directory: Path
    header: tuple[str, ...]
    rows: list[dict[str, str]]

    def counts(self) -> Counter:
        return Counter(row["label"] for row in self.rows if row["label"])


def load_collected(directory: Path, *, check_files: bool = True) -> Collected:
    """Read and check ``directory/collected.csv``: our header, known labels, crop files present.
    Row numbers in messages count data rows from 1, as the contact sheet shows them."""
    path = Path(directory) / CSV_NAME
    if not path.is_file():
        raise LabelError(f"{path} not found: collect crops with digit-cam --collect {directory}")
    try:
        rows = read_rows(path)
    except CollectError as error:
        raise LabelError(str(error)) from None
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise LabelError(f"{path} cannot be read: {error}") from None
    with path.open(newline="") as handle:
        header = tuple(next(csv.reader(handle)))
    for number, row in enumerate(rows, start=1):
        where = f"{path} row {number} ({row.get('file') or 'no file'})"
        if None in row or any(row.get(column) is None for column in COLUMNS):
            raise LabelError(f"{where}: expected {len(header)} columns")
        row["label"] = check_label(row["label"], where)
        if check_files and not (Path(directory) / row["file"]).is_file():
            raise LabelError(f"{where}: crop file {row['file']} is missing")
    return Collected(Path(directory), header, rows)


def read_corrections(path: Path) -> list[tuple[str, str, str]]:
    """A corrections CSV -> [(key kind 'row' or 'file', key, label)], checked line by line."""
    try:
        with Path(path).open(newline="") as handle:
            reader = csv.reader(handle)
            header = [cell.strip().lower() for cell in next(reader, [])]
            lines = list(enumerate(reader, start=2))
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise LabelError(f"corrections file {path} cannot be read: {error}") from None
    if header not in (["row", "label"], ["file", "label"]):
        raise LabelError(f"{path}: expected a header 'row,label' or 'file,label', got {','.join(header) or 'nothing'}")
    kind = header[0]
    corrections = []
    for line, cells in lines:
        if not any(cell.strip() for cell in cells):
            continue
        where = f"{path} line {line}"
        if len(cells) != 2:
            raise LabelError(f"{where}: expected 2 cells ({kind},label), got {len(cells)}")
        corrections.append((kind, cells[0].strip(), check_label(cells[1], where)))
    return corrections


def apply_corrections(collected: Collected, corrections: list[tuple[str, str, str]],
                      source: Path | str = "corrections") -> Collected:
    """A copy of ``collected`` with the labels set; an unknown row or file is a :class:`LabelError`."""
    rows = [dict(row) for row in collected.rows]
    by_file = {row["file"]: index for index, row in enumerate(rows)}
    for kind, key, label in corrections:
        if kind == "row":
            if not key.isdigit() or not 1 <= int(key) <= len(rows):
                raise LabelError(f"{source}: row {key!r} is not a row of {collected.directory / CSV_NAME} "
                                 f"(1-{len(rows)})")
            index = int(key) - 1
        else:
            if key not in by_file:
                raise LabelError(f"{source}: file {key!r} is not listed in {collected.directory / CSV_NAME}")
            index = by_file[key]
        rows[index]["label"] = label
    return Collected(collected.directory, collected.header, rows)


def write_collected(collected: Collected) -> Path:
    """Write collected.csv atomically (:func:`edge.collected.write_rows`)."""
    return write_rows(collected.directory, collected.header, collected.rows)


def contact_sheet(collected: Collected, columns: int = SHEET_COLUMNS) -> np.ndarray:
    """Every crop enlarged under ``#row predicted`` (and ``>label`` once labelled): (H, W, 3) uint8 BGR.
    Labels that disagree with the prediction are drawn in red."""
    import cv2

    side = 28 * CELL_SCALE
    cell_h, cell_w = side + CAPTION_PX, side + 4
    count = max(1, len(collected.rows))
    n_rows = -(-count // columns)
    sheet = np.full((n_rows * cell_h, min(count, columns) * cell_w, 3), 255, np.uint8)
    for index, row in enumerate(collected.rows):
        top, left = (index // columns) * cell_h, (index % columns) * cell_w
        crop = cv2.imread(str(collected.directory / row["file"]), cv2.IMREAD_GRAYSCALE)
        if crop is not None:
            crop = cv2.resize(crop, (side, side), interpolation=cv2.INTER_NEAREST)
            sheet[top + CAPTION_PX: top + cell_h, left + 2: left + 2 + side] = crop[..., None]
        caption = f"{index + 1} {row['predicted']}" + (f">{row['label']}" if row["label"] else "")
        wrong = row["label"] and row["label"] != row["predicted"]
        cv2.putText(sheet, caption, (left + 2, top + CAPTION_PX - 4), cv2.FONT_HERSHEY_SIMPLEX, 0.4,
                    (0, 0, 220) if wrong else (0, 0, 0), 1, cv2.LINE_AA)
    return sheet


def save_sheet(image: np.ndarray, path: Path) -> Path:
    import cv2

    if not cv2.imwrite(str(path), image):
        raise LabelError(f"could not write the contact sheet {path}")
    return path


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m train.label", epilog=EPILOG,
                                     description="Contact sheet of collected crops; labels from a CSV file.")
    parser.add_argument("directory", type=Path, help="a digit-cam --collect folder (with collected.csv)")
    parser.add_argument("--apply", type=Path, metavar="FILE",
                        help="CSV with header row,label or file,label: labels to write into collected.csv")
    parser.add_argument("--sheet", type=Path, metavar="PNG",
                        help=f"where to write the contact sheet (default DIR/{SHEET_NAME})")
    parser.add_argument("--columns", type=positive_int, default=SHEET_COLUMNS, metavar="N",
                        help="crops per row of the sheet (default %(default)s)")
    return parser


def label(directory: Path, apply: Path | None = None, sheet: Path | None = None,
          columns: int = SHEET_COLUMNS) -> Collected:
    """Check the folder, apply the corrections (if any, atomically) and write the sheet."""
    collected = load_collected(directory)
    if apply is not None:
        collected = apply_corrections(collected, read_corrections(apply), apply)
        write_collected(collected)
    save_sheet(contact_sheet(collected, columns), sheet or Path(directory) / SHEET_NAME)
    return collected


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    def body() -> None:
        collected = label(args.directory, args.apply, args.sheet, args.columns)
        counts = collected.counts()
        labelled = sum(counts.values())
        print(f"{len(collected.rows)} crops, {labelled} labelled"
              + (f" ({', '.join(f'{k}: {v}' for k, v in sorted(counts.items()))})" if labelled else "")
              + f"; sheet: {args.sheet or args.directory / SHEET_NAME}")

    return run_main(body, prog="python -m train.label")


if __name__ == "__main__":
    sys.exit(main())
