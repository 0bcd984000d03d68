"""``python -m devtools.teach_eval``: does fine-tuning on one writer's crops help on that writer?

The issue's target, on ``../shared/data/realdigits-dev`` split by source (the file name before its
last ``_``, one writer's images): collect the crops of half a source's images (alternate files) as
``digit-cam --collect`` does, label them from ``labels.csv`` (only images where the finder found as
many digits as the truth has, labelled by position), fine-tune ``models/edge/model.keras`` with
:func:`train.finetune.finetune`, and read the other half before and after.

"Before" and "after" classify the *same* crops the int8 pipeline's finder cut from the other half,
with the Keras model before and after fine-tuning (no conversion in the loop): a like-for-like
comparison of the classifier; the int8 pipeline's own exact score on that half is printed beside
as the reference. Prints one JSON object (``docs/teach-eval.json``); its ``crops`` list per source
names every labelled crop the model read wrong before, or read differently after.

``--sheet PNG`` draws those crops as a before/after contact sheet (``docs/teach-before-after.png``,
the README's picture); with ``--from JSON`` it is redrawn from a saved run without fine-tuning
again (the crops are cut anew by the current finder: after a finder change, measure again). A
workstation script (TensorFlow), not a test; its pure parts are tested in ``tests/test_teach_eval.py``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from devtools.common import DEV_SET, REPO_ROOT
from devtools.realeval import read_labels
from edge.cam.collect import Collector
from edge.clikit import positive_int, run_main
from edge.constants import LABELS, MIN_CONFIDENCE, to_model_input
from edge.errors import InputError
from edge.images import read_image
from edge.preprocess import reading_text
from edge.recognizer import UNKNOWN, Recognizer

BASE_MODEL = REPO_ROOT / "models" / "edge" / "model.keras"


DEFAULT_SOURCES = ["ujwalkasturi", "ibrahimomar91", "dfak0"]
SHEET_SCALE = 3  # 28 px crops drawn at 84 px, as on train.label's contact sheet
SHEET_CAPTION_PX = 34  # two caption lines above each crop: "label 1", "7 > 1"
SHEET_COLUMNS = 8


@dataclass(frozen=True)
class Halves:
    """One source's images: the half collected and labelled, the half read before and after."""

    collect: list
    read: list


@dataclass(frozen=True)
class CropRecord:
    """One crop's digit as labelled and as the Keras model read it before and after fine-tuning."""

    source: str
    part: str  # "collected" (labelled, trained on) or "read" (the other half, never trained on)
    file: str  # the dev-set image
    index: int  # the digit's position in the reading
    label: str  # from labels.csv, by position
    before: str  # a digit, or '?' (below MIN_CONFIDENCE)
    after: str

    @property
    def corrected(self) -> bool:
        """The user had to type a digit: the model before fine-tuning read it wrong."""
        return self.before != self.label


def source_of(file: str) -> str:
    """A dev-set file's writer: its name before the last ``_`` (``7eraflops_canvas3.png``)."""
    return file.rsplit("_", 1)[0]


def split_by_source(items: Iterable) -> dict[str, Halves]:
    """Items (with ``.file``) grouped by :func:`source_of`, each source's files in name order and
    dealt alternately: the 1st, 3rd, ... are collected, the 2nd, 4th, ... read."""
    by_source: dict[str, list] = defaultdict(list)
    for item in items:
        by_source[source_of(item.file)].append(item)
    halves = {}
    for source, files in sorted(by_source.items()):
        files = sorted(files, key=lambda i: i.file)
        halves[source] = Halves(files[0::2], files[1::2])
    return halves


def position_labels(truth: str, count: int) -> list[str]:
    """Labels for the ``count`` digits the finder cut from an image whose truth is ``truth``: by
    position when the counts agree (spaces between lines ignored), else none (``""`` each)."""
    digits = truth.replace(" ", "")
    return list(digits) if len(digits) == count else [""] * count


def labels_from(probabilities: np.ndarray) -> list[str]:
    """(N, 10) probabilities -> the digit of each row, or '?' below MIN_CONFIDENCE (as the recogniser)."""
    return [LABELS[int(np.argmax(p))] if float(np.max(p)) >= MIN_CONFIDENCE else UNKNOWN for p in probabilities]


def classify(model, readings) -> list[list[str] | None]:
    """Each reading's crops classified by ``model`` (Keras, or anything with ``predict``); None
    for a reading with a digit that has no crop."""
    out: list[list[str] | None] = []
    for _item, reading in readings:
        crops = [d.crop for d in reading.digits if d.crop is not None]
        if len(crops) != len(reading.digits):
            out.append(None)
        elif not crops:
            out.append([])
        else:
            out.append(labels_from(model.predict(to_model_input(np.stack(crops)), verbose=0)))
    return out


def exact_share(readings, labels: Sequence[list[str] | None]) -> float:
    """Share of images whose text, with each digit's label replaced by ``labels``, equals the truth."""
    hits = 0
    for (item, reading), labelled in zip(readings, labels, strict=True):
        if labelled is None:
            continue
        text = reading_text((d.line, label) for d, label in zip(reading.digits, labelled, strict=True))
        hits += text == item.text
    return hits / len(readings) if readings else 0.0


def crop_records(source: str, part: str, readings, before, after) -> list[CropRecord]:
    """Every digit that has a label by position, with its before and after reading."""
    records = []
    for (item, reading), was, now in zip(readings, before, after, strict=True):
        if was is None or now is None:
            continue
        for index, label in enumerate(position_labels(item.text, len(reading.digits))):
            if label:
                records.append(CropRecord(source, part, item.file, index, label, was[index], now[index]))
    return records


def worth_showing(records: Iterable[CropRecord]) -> list[CropRecord]:
    """The crops a before/after sheet shows: those read wrong before (the user's corrections) or
    read differently after; the collected half first."""
    chosen = [r for r in records if r.corrected or r.after != r.before]
    return sorted(chosen, key=lambda r: (r.part != "collected", r.source, r.file, r.index))


def source_report(halves: Halves, labelled: int, int8_exact: float, exact_before: float, exact_after: float,
                  metrics: dict, records: Sequence[CropRecord] = ()) -> dict:
    """One source's line of the JSON report (rounded as docs/teach.md quotes it)."""
    collected = [r for r in records if r.part == "collected"]
    return {
        "collect_images": len(halves.collect), "read_images": len(halves.read), "labelled_crops": labelled,
        "corrected_crops": sum(r.corrected for r in collected),
        "int8_pipeline_exact": round(int8_exact, 4),
        "exact_before": round(exact_before, 4),
        "exact_after": round(exact_after, 4),
        "mnist_before": metrics["before"]["mnist_test"],
        "mnist_after": metrics["after"]["mnist_test"],
        "mnist_drop_pp": metrics["mnist_drop_pp"], "seconds": metrics["seconds"],
        "crops": [asdict(r) for r in worth_showing(records)],
    }


def records_from_report(report: dict) -> list[CropRecord]:
    """The ``crops`` of a saved report (``--from``), in the order they were saved."""
    try:
        return [CropRecord(**crop) for result in report["sources"].values() for crop in result.get("crops", [])]
    except (KeyError, TypeError, AttributeError) as error:
        raise InputError(f"not a devtools.teach_eval report with per-crop records: {error}") from None


def before_after_sheet(crops: Sequence[np.ndarray], records: Sequence[CropRecord],
                       columns: int = SHEET_COLUMNS) -> np.ndarray:
    """Each crop (28, 28) uint8 enlarged under "label L" and "before > after": (H, W, 3) uint8 BGR.
    The after reading is green when it matches the label, red when it does not; a crop that was
    trained on (collected) has a grey frame, one from the read half a blue one."""
    import cv2

    if len(crops) != len(records):
        raise ValueError(f"{len(crops)} crops for {len(records)} records")
    side = 28 * SHEET_SCALE
    cell_h, cell_w = side + SHEET_CAPTION_PX + 6, side + 12
    count = max(1, len(records))
    n_rows = -(-count // columns)
    sheet = np.full((n_rows * cell_h, min(count, columns) * cell_w, 3), 255, np.uint8)
    for index, (crop, record) in enumerate(zip(crops, records, strict=True)):
        top, left = (index // columns) * cell_h, (index % columns) * cell_w
        frame = (150, 150, 150) if record.part == "collected" else (200, 120, 0)
        y0, x0 = top + SHEET_CAPTION_PX, left + 6
        cv2.rectangle(sheet, (x0 - 2, y0 - 2), (x0 + side + 1, y0 + side + 1), frame, 2)
        big = cv2.resize(crop, (side, side), interpolation=cv2.INTER_NEAREST)
        sheet[y0: y0 + side, x0: x0 + side] = big[..., None]
        right = (0, 150, 0) if record.after == record.label else (0, 0, 220)
        cv2.putText(sheet, f"label {record.label}", (x0, top + 14), cv2.FONT_HERSHEY_SIMPLEX, 0.42,
                    (0, 0, 0), 1, cv2.LINE_AA)
        cv2.putText(sheet, f"{record.before} > {record.after}", (x0, top + 29), cv2.FONT_HERSHEY_SIMPLEX, 0.48,
                    right, 1, cv2.LINE_AA)
    return sheet


def crops_of(recognizer: Recognizer, records: Sequence[CropRecord], directory: Path) -> list[np.ndarray]:
    """The crops the finder cuts for ``records`` (it is deterministic, so a saved run can be redrawn
    while the finder is unchanged)."""
    readings: dict[str, object] = {}
    crops = []
    for record in records:
        if record.file not in readings:
            readings[record.file] = recognizer.read(read_image(directory / record.file))
        digits = readings[record.file].digits
        if record.index >= len(digits) or digits[record.index].crop is None:
            raise InputError(f"{record.file}: the finder no longer cuts digit {record.index}; rerun the measurement")
        crops.append(digits[record.index].crop)
    return crops


def write_sheet(records: Sequence[CropRecord], path: Path, directory: Path = DEV_SET) -> int:
    """Cut the crops of ``records`` and write their before/after sheet to ``path``; returns how many."""
    import cv2

    chosen = worth_showing(records)
    crops = crops_of(Recognizer.from_path(), chosen, directory)
    if not cv2.imwrite(str(path), before_after_sheet(crops, chosen)):
        raise InputError(f"could not write {path}")
    return len(chosen)


def read_all(recognizer: Recognizer, directory: Path, items) -> list:
    return [(item, recognizer.read(read_image(directory / item.file))) for item in items]


def collect_and_label(readings, folder: Path) -> int:
    """Collect every crop of ``readings`` into ``folder``; label those of images whose digit count
    matches the truth's, by position. Returns the labelled count."""
    from train.label import apply_corrections, load_collected, write_collected

    collector = Collector(folder, log=lambda _m: None, max_files=10**6, queue_size=10**6)  # keep every crop
    collector.start()
    labels: list[str] = []
    for number, (item, reading) in enumerate(readings):
        labels += position_labels(item.text, len(reading.digits))
        collector.offer(read_image(DEV_SET / item.file), "auto", reading, source=item.file, frame=number,
                        timestamp=0.0)
    collector.stop()
    collected = load_collected(folder)
    corrections = [("row", str(row), label) for row, label in enumerate(labels, start=1)]
    write_collected(apply_corrections(collected, corrections))
    return sum(1 for label in labels if label)


def measure(sources: list[str], epochs: int, limit: int | None, data_dir: str | None) -> dict:
    import keras

    from train.finetune import FinetuneConfig, finetune

    recognizer = Recognizer.from_path()
    halves_by_source = split_by_source(read_labels(DEV_SET))
    base = keras.models.load_model(BASE_MODEL)
    results = {}
    with tempfile.TemporaryDirectory() as work:
        for source in sources:
            halves = halves_by_source[source]
            folder = Path(work) / source
            collected = read_all(recognizer, DEV_SET, halves.collect)
            labelled = collect_and_label(collected, folder)
            readings = read_all(recognizer, DEV_SET, halves.read)
            int8_exact = sum(r.text == i.text for i, r in readings) / len(readings)
            out = Path(work) / f"{source}-run"
            config = FinetuneConfig(model=BASE_MODEL, extra=[folder], out_dir=out, data_dir=data_dir,
                                    epochs=epochs, limit=limit, holdout=0.0)
            result = finetune(config)
            tuned = keras.models.load_model(out / "model.keras")
            before, after = classify(base, readings), classify(tuned, readings)
            records = (crop_records(source, "collected", collected, classify(base, collected),
                                    classify(tuned, collected))
                       + crop_records(source, "read", readings, before, after))
            results[source] = source_report(halves, labelled, int8_exact, exact_share(readings, before),
                                            exact_share(readings, after), result.metrics, records)
    return {"dev_set": str(DEV_SET), "epochs": epochs, "mnist_train_images": limit, "sources": results}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.teach_eval", description=__doc__.split("\n")[0])
    parser.add_argument("--source", action="append", dest="sources", metavar="NAME",
                        help="a source (file-name prefix) of the dev set; repeat "
                             f"(default: {' '.join(DEFAULT_SOURCES)})")
    parser.add_argument("--epochs", type=positive_int, default=3)
    parser.add_argument("--limit", type=positive_int, default=10_000, metavar="N",
                        help="MNIST training images mixed in (default %(default)s)")
    parser.add_argument("--data-dir", metavar="DIR", help="MNIST files (default: as python -m train)")
    parser.add_argument("--sheet", type=Path, metavar="PNG",
                        help="also draw the corrected and changed crops as a before/after contact sheet")
    parser.add_argument("--from", dest="report", type=Path, metavar="JSON",
                        help="with --sheet: redraw from a saved report instead of measuring again")
    args = parser.parse_args(argv)
    if args.report is not None and args.sheet is None:
        parser.error("--from needs --sheet PNG")

    def body() -> None:
        if args.report is not None:
            try:
                report = json.loads(args.report.read_text())
            except (OSError, ValueError) as error:
                raise InputError(f"cannot read {args.report}: {error}") from None
            count = write_sheet(records_from_report(report), args.sheet)
            print(f"{args.sheet}: {count} crops")
            return
        report = measure(args.sources or DEFAULT_SOURCES, args.epochs, args.limit, args.data_dir)
        print(json.dumps(report, indent=2))
        if args.sheet is not None:
            write_sheet(records_from_report(report), args.sheet)

    return run_main(body, prog=parser.prog)


if __name__ == "__main__":
    raise SystemExit(main())
