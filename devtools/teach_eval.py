"""``python -m devtools.teach_eval``: does fine-tuning on one writer's crops help on that writer?

The issue's target, on ``../shared/data/realdigits-dev`` split by source (the file name before its
last ``_``, one writer's images): collect the crops of half a source's images (alternate files) as
``digit-cam --collect`` does, label them from ``labels.csv`` (only images where the finder found as
many digits as the truth has, labelled by position), fine-tune ``models/edge/model.keras`` with
:func:`train.finetune.finetune`, and read the other half before and after.

"Before" and "after" classify the *same* crops the int8 pipeline's finder cut from the other half,
with the Keras model before and after fine-tuning (no conversion in the loop): a like-for-like
comparison of the classifier; the int8 pipeline's own exact score on that half is printed beside
as the reference. Prints one JSON object. A workstation script (TensorFlow), not a test.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections import defaultdict
from pathlib import Path

import numpy as np

from devtools.realeval import read_labels
from edge.cam.collect import Collector
from edge.clikit import positive_int, run_main
from edge.constants import LABELS, MIN_CONFIDENCE, to_model_input
from edge.images import read_image
from edge.preprocess import reading_text
from edge.recognizer import UNKNOWN, Recognizer
from train.finetune import FinetuneConfig, finetune
from train.label import apply_corrections, load_collected, write_collected

REPO_ROOT = Path(__file__).resolve().parents[1]
DEV_SET = REPO_ROOT.parent / "shared" / "data" / "realdigits-dev"
BASE_MODEL = REPO_ROOT / "models" / "edge" / "model.keras"


def source_of(file: str) -> str:
    return file.rsplit("_", 1)[0]


def read_all(recognizer: Recognizer, directory: Path, items) -> list:
    return [(item, recognizer.read(read_image(directory / item.file))) for item in items]


def collect_and_label(readings, folder: Path) -> int:
    """Collect every crop of ``readings`` into ``folder``; label those of images whose digit count
    matches the truth's, by position. Returns the labelled count."""
    collector = Collector(folder, log=lambda _m: None, max_files=10**6, queue_size=10**6)  # keep every crop
    collector.start()
    labels: list[str] = []
    for number, (item, reading) in enumerate(readings):
        truth = item.text.replace(" ", "")
        matched = len(truth) == len(reading.digits)
        labels += [truth[i] if matched else "" for i in range(len(reading.digits))]
        collector.offer(read_image(DEV_SET / item.file), "auto", reading, source=item.file, frame=number,
                        timestamp=0.0)
    collector.stop()
    collected = load_collected(folder)
    corrections = [("row", str(row), label) for row, label in enumerate(labels, start=1)]
    write_collected(apply_corrections(collected, corrections))
    return sum(1 for label in labels if label)


def exact_with(model, readings) -> float:
    """Exact share of images when the crops the finder cut are classified by ``model`` (Keras)."""
    hits = 0
    for item, reading in readings:
        crops = [d.crop for d in reading.digits if d.crop is not None]
        if len(crops) != len(reading.digits):
            continue
        if crops:
            probabilities = model.predict(to_model_input(np.stack(crops)), verbose=0)
            labels = [LABELS[int(np.argmax(p))] if float(np.max(p)) >= MIN_CONFIDENCE else UNKNOWN
                      for p in probabilities]
        else:
            labels = []
        text = reading_text((d.line, label) for d, label in zip(reading.digits, labels, strict=True))
        hits += text == item.text
    return hits / len(readings) if readings else 0.0


def measure(sources: list[str], epochs: int, limit: int | None, data_dir: str | None) -> dict:
    import keras

    recognizer = Recognizer.from_path()
    items = read_labels(DEV_SET)
    by_source = defaultdict(list)
    for item in items:
        by_source[source_of(item.file)].append(item)
    base = keras.models.load_model(BASE_MODEL)
    results = {}
    with tempfile.TemporaryDirectory() as work:
        for source in sources:
            files = sorted(by_source[source], key=lambda i: i.file)
            collect_half, read_half = files[0::2], files[1::2]
            folder = Path(work) / source
            labelled = collect_and_label(read_all(recognizer, DEV_SET, collect_half), folder)
            readings = read_all(recognizer, DEV_SET, read_half)
            int8_exact = sum(r.text == i.text for i, r in readings) / len(readings)
            out = Path(work) / f"{source}-run"
            config = FinetuneConfig(model=BASE_MODEL, extra=[folder], out_dir=out, data_dir=data_dir,
                                    epochs=epochs, limit=limit, holdout=0.0)
            result = finetune(config)
            tuned = keras.models.load_model(out / "model.keras")
            results[source] = {
                "collect_images": len(collect_half), "read_images": len(read_half), "labelled_crops": labelled,
                "int8_pipeline_exact": round(int8_exact, 4),
                "exact_before": round(exact_with(base, readings), 4),
                "exact_after": round(exact_with(tuned, readings), 4),
                "mnist_before": result.metrics["before"]["mnist_test"],
                "mnist_after": result.metrics["after"]["mnist_test"],
                "mnist_drop_pp": result.metrics["mnist_drop_pp"], "seconds": result.metrics["seconds"]}
    return {"dev_set": str(DEV_SET), "epochs": epochs, "mnist_train_images": limit, "sources": results}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.teach_eval", description=__doc__.split("\n")[0])
    parser.add_argument("--source", action="append", dest="sources", metavar="NAME",
                        help="a source (file-name prefix) of the dev set; repeat (default: the 3 largest)")
    parser.add_argument("--epochs", type=positive_int, default=3)
    parser.add_argument("--limit", type=positive_int, default=10_000, metavar="N",
                        help="MNIST training images mixed in (default %(default)s)")
    parser.add_argument("--data-dir", metavar="DIR", help="MNIST files (default: as python -m train)")
    args = parser.parse_args(argv)

    def body() -> None:
        sources = args.sources or ["ujwalkasturi", "ibrahimomar91", "dfak0"]
        print(json.dumps(measure(sources, args.epochs, args.limit, args.data_dir), indent=2))

    return run_main(body, prog=parser.prog)


if __name__ == "__main__":
    raise SystemExit(main())
