"""``python -m train.label``: contact sheet, corrections applied atomically, bad input is exit 3 naming the row."""

from __future__ import annotations

import csv

import cv2
import pytest

from edge.cam.collect import CSV_NAME, Collector, read_rows
from tests.test_collect import offer
from train.label import LabelError, apply_corrections, contact_sheet, load_collected, main, read_corrections


@pytest.fixture
def crops(tmp_path):
    """A collect folder with 5 crops predicted 0-4."""
    folder = tmp_path / "crops"
    collector = Collector(folder, log=lambda _m: None)
    collector.start()
    offer(collector, 0.9, 0.8, 0.7, 0.6, 0.5)
    collector.stop()
    return folder


def write(path, text: str):
    path.write_text(text)
    return path


def test_row_and_file_corrections_are_saved(crops, tmp_path, capsys):
    fixes = write(tmp_path / "fix.csv", "row,label\n1,0\n2,7\n5,x\n")
    assert main([str(crops), "--apply", str(fixes)]) == 0
    assert [r["label"] for r in read_rows(crops / CSV_NAME)] == ["0", "7", "", "", "x"]
    assert "5 crops, 3 labelled" in capsys.readouterr().out
    by_file = write(tmp_path / "byfile.csv", "file,label\ncrop-000002.png,2\ncrop-000001.png,\n")
    assert main([str(crops), "--apply", str(by_file)]) == 0
    assert [r["label"] for r in read_rows(crops / CSV_NAME)] == ["0", "", "2", "", "x"]
    assert not list(crops.glob(".collected-*"))  # the temporary file was renamed, not left behind


def test_contact_sheet_has_a_cell_per_crop(crops, tmp_path):
    assert main([str(crops), "--columns", "3", "--sheet", str(tmp_path / "s.png")]) == 0
    sheet = cv2.imread(str(tmp_path / "s.png"))
    assert sheet.shape == (2 * (84 + 16), 3 * 88, 3)
    collected = load_collected(crops)
    relabelled = apply_corrections(collected, [("row", "2", "7")])
    red = contact_sheet(relabelled, 3)[:16, 88:176]  # caption of row 2: label differs, drawn in red
    assert (red[..., 2].astype(int) - red[..., 0] > 100).any()
    assert not (contact_sheet(collected, 3)[:16, 88:176, 2].astype(int) - contact_sheet(collected, 3)[:16, 88:176, 0]
                > 100).any()


@pytest.mark.parametrize("text, message", [
    ("row,label\n1,7\n2,a\n", "fix.csv line 3: unknown label 'a'"),
    ("row,label\n9,7\n", "row '9' is not a row"),
    ("file,label\nnope.png,7\n", "file 'nope.png' is not listed"),
    ("name,digit\n1,2\n", "expected a header 'row,label' or 'file,label'"),
    ("row,label\n1,2,3\n", "line 2: expected 2 cells"),
])
def test_bad_corrections_are_one_error_exit_3(crops, tmp_path, capsys, text, message):
    before = (crops / CSV_NAME).read_text()
    assert main([str(crops), "--apply", str(write(tmp_path / "fix.csv", text))]) == 3
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert (crops / CSV_NAME).read_text() == before  # nothing half-applied


def test_bad_collected_csv_names_the_row(crops, capsys):
    rows = read_rows(crops / CSV_NAME)
    rows[3]["label"] = "seven"
    with (crops / CSV_NAME).open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    assert main([str(crops)]) == 3
    assert "row 4 (crop-000003.png): unknown label 'seven'" in capsys.readouterr().err
    rows[3]["label"] = ""
    (crops / "crop-000001.png").unlink()
    with pytest.raises(LabelError, match=r"row 2 \(crop-000001.png\): crop file crop-000001.png is missing"):
        load_collected(crops)


def test_foreign_or_missing_csv_is_exit_3(tmp_path, capsys):
    assert main([str(tmp_path)]) == 3
    assert "collected.csv not found" in capsys.readouterr().err
    write(tmp_path / CSV_NAME, "a,b\n1,2\n")
    assert main([str(tmp_path)]) == 3
    assert "not a digit-cam collected.csv" in capsys.readouterr().err
    with pytest.raises(LabelError, match="header"):
        read_corrections(write(tmp_path / "empty.csv", ""))
