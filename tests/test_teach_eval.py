"""``python -m devtools.teach_eval``'s pure parts on tiny constructed data: the split by source and
half, labels by position, exact shares, per-crop records, the per-source report and the sheet."""

from __future__ import annotations

import json

import numpy as np
import pytest

from devtools import teach_eval
from devtools.realeval import LabelledImage
from devtools.teach_eval import (
    CropRecord,
    Halves,
    before_after_sheet,
    classify,
    crop_records,
    exact_share,
    labels_from,
    position_labels,
    records_from_report,
    source_of,
    source_report,
    split_by_source,
    worth_showing,
)
from edge.errors import InputError
from edge.recognizer import DigitReading, Reading, Timings


def image(file: str, text: str = "7") -> LabelledImage:
    return LabelledImage(file, text, "photo")


def reading(*lines: int, crops: bool = True) -> Reading:
    """A reading with one digit per entry of ``lines`` (its line number); crops are 28x28 arrays."""
    digits = tuple(DigitReading(value=0, confidence=0.9, box=(10 * i, 0, 8, 8), line=line, top_k=((0, 0.9),),
                                crop=np.full((28, 28), i, np.uint8) if crops else None)
                   for i, line in enumerate(lines))
    return Reading(digits, Timings(1.0, 1.0), "dark", (100, 100))


class FakeModel:
    """predict() returns one-hot rows for the digits given, or a flat row for '?'."""

    def __init__(self, answers: str):
        self.answers = list(answers)
        self.seen = 0

    def predict(self, batch, verbose=0):
        assert batch.shape[1:] == (28, 28, 1) and verbose == 0
        rows = []
        for _ in range(len(batch)):
            answer = self.answers[self.seen]
            self.seen += 1
            row = np.full(10, 0.1, np.float32) if answer == "?" else np.eye(10, dtype=np.float32)[int(answer)]
            rows.append(row)
        return np.stack(rows)


def test_source_is_the_name_before_the_last_underscore():
    assert source_of("7eraflops_canvas3.png") == "7eraflops"
    assert source_of("wikunia_c1_010.png") == "wikunia_c1"
    assert source_of("plain.png") == "plain.png"


def test_split_by_source_deals_each_writer_alternately_in_name_order():
    items = [image(f) for f in ("b_2.png", "a_3.png", "b_1.png", "a_1.png", "a_2.png", "c_only.png")]
    halves = split_by_source(items)
    assert list(halves) == ["a", "b", "c"]
    assert [i.file for i in halves["a"].collect] == ["a_1.png", "a_3.png"]
    assert [i.file for i in halves["a"].read] == ["a_2.png"]
    assert [i.file for i in halves["b"].collect] == ["b_1.png"] and [i.file for i in halves["b"].read] == ["b_2.png"]
    assert [i.file for i in halves["c"].collect] == ["c_only.png"] and halves["c"].read == []
    every = [i.file for h in halves.values() for i in h.collect + h.read]
    assert sorted(every) == sorted(i.file for i in items)  # nothing lost, nothing twice


def test_labels_by_position_only_when_the_counts_agree():
    assert position_labels("20 48", 4) == ["2", "0", "4", "8"]
    assert position_labels("2048", 3) == ["", "", ""]
    assert position_labels("7", 0) == []


def test_labels_from_probabilities_use_the_recognisers_threshold():
    probabilities = np.array([np.eye(10)[3], np.full(10, 0.1), [0.0] * 9 + [0.6]])
    assert labels_from(probabilities) == ["3", "?", "9"]


def test_classify_and_exact_share():
    readings = [(image("a_1.png", "12"), reading(0, 0)), (image("a_2.png", "3 4"), reading(0, 1)),
                (image("a_3.png", "5"), reading(0, crops=False)), (image("a_4.png", ""), reading())]
    labels = classify(FakeModel("17" + "34"), readings)
    assert labels == [["1", "7"], ["3", "4"], None, []]
    assert exact_share(readings, labels) == pytest.approx(2 / 4)  # "3 4" and the empty truth
    assert exact_share(readings, [["1", "2"], ["3", "4"], None, []]) == pytest.approx(3 / 4)
    assert exact_share([], []) == 0.0


def test_crop_records_keep_labelled_digits_with_before_and_after():
    readings = [(image("a_1.png", "12"), reading(0, 0)), (image("a_2.png", "345"), reading(0, 0)),
                (image("a_3.png", "6"), reading(0))]
    records = crop_records("a", "read", readings, [["1", "7"], ["3", "4"], None], [["1", "2"], ["3", "4"], ["6"]])
    assert records == [CropRecord("a", "read", "a_1.png", 0, "1", "1", "1"),
                       CropRecord("a", "read", "a_1.png", 1, "2", "7", "2")]  # a_2: counts differ; a_3: no before
    assert [r.corrected for r in records] == [False, True]


def test_worth_showing_is_corrections_and_changes_collected_first():
    same = CropRecord("a", "collected", "a_1.png", 0, "1", "1", "1")
    fixed = CropRecord("b", "read", "b_1.png", 0, "1", "7", "1")
    still_wrong = CropRecord("a", "collected", "a_3.png", 0, "4", "9", "9")
    broken = CropRecord("a", "read", "a_2.png", 0, "5", "5", "6")
    assert worth_showing([same, fixed, still_wrong, broken]) == [still_wrong, broken, fixed]


def test_source_report_has_the_per_source_before_and_after():
    halves = Halves([image("a_1.png"), image("a_3.png")], [image("a_2.png")])
    metrics = {"before": {"mnist_test": 0.99}, "after": {"mnist_test": 0.9891}, "mnist_drop_pp": 0.09,
               "seconds": 12.3}
    records = [CropRecord("a", "collected", "a_1.png", 0, "1", "7", "1"),
               CropRecord("a", "collected", "a_3.png", 0, "2", "2", "2"),
               CropRecord("a", "read", "a_2.png", 0, "1", "7", "1")]
    report = source_report(halves, 2, 0.5, 0.5, 1 / 3, metrics, records)
    assert report["collect_images"] == 2 and report["read_images"] == 1 and report["labelled_crops"] == 2
    assert report["corrected_crops"] == 1  # the read half's crop was never the user's to correct
    assert (report["exact_before"], report["exact_after"], report["int8_pipeline_exact"]) == (0.5, 0.3333, 0.5)
    assert (report["mnist_before"], report["mnist_after"], report["mnist_drop_pp"]) == (0.99, 0.9891, 0.09)
    assert [c["file"] for c in report["crops"]] == ["a_1.png", "a_2.png"]
    saved = json.loads(json.dumps({"sources": {"a": report}}))  # as docs/teach-eval.json stores it
    assert records_from_report(saved) == [records[0], records[2]]


def test_a_report_without_crop_records_is_a_clear_error():
    assert records_from_report({"sources": {"a": {"exact_before": 1.0}}}) == []
    with pytest.raises(InputError, match="per-crop records"):
        records_from_report({"no": "sources"})
    with pytest.raises(InputError, match="per-crop records"):
        records_from_report({"sources": {"a": {"crops": [{"file": "x"}]}}})


def test_the_sheet_draws_each_crop_under_its_caption_in_colour():
    records = [CropRecord("a", "collected", "a_1.png", 0, "1", "7", "1"),
               CropRecord("a", "read", "a_2.png", 0, "4", "4", "9")]
    crops = [np.full((28, 28), 255, np.uint8), np.zeros((28, 28), np.uint8)]
    sheet = before_after_sheet(crops, records, columns=2)
    side, caption = 28 * teach_eval.SHEET_SCALE, teach_eval.SHEET_CAPTION_PX
    cell_w = side + 12
    assert sheet.shape == (side + caption + 6, 2 * cell_w, 3) and sheet.dtype == np.uint8
    assert sheet[caption + 10, 6 + 10].tolist() == [255, 255, 255]  # first crop: white
    assert sheet[caption + 10, cell_w + 6 + 10].tolist() == [0, 0, 0]  # second crop: black
    second_line = slice(caption - 16, caption - 2)
    fixed, wrong = sheet[second_line, :cell_w].astype(int), sheet[second_line, cell_w:].astype(int)
    assert ((fixed[..., 1] - fixed[..., 2]) > 80).any()  # "7 > 1": after matches the label, green
    assert ((wrong[..., 2] - wrong[..., 1]) > 80).any()  # "4 > 9": after is wrong, red
    with pytest.raises(ValueError, match="1 crops for 2 records"):
        before_after_sheet(crops[:1], records)


def test_from_needs_sheet(capsys):
    with pytest.raises(SystemExit) as error:
        teach_eval.main(["--from", "docs/teach-eval.json"])
    assert error.value.code == 2 and "--from needs --sheet" in capsys.readouterr().err


def test_a_missing_report_is_exit_3(tmp_path, capsys):
    code = teach_eval.main(["--from", str(tmp_path / "none.json"), "--sheet", str(tmp_path / "s.png")])
    assert code == 3 and "cannot read" in capsys.readouterr().err
