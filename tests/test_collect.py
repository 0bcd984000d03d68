"""``digit-cam --collect``: the collector's queue, writer, cap, restarts and full disk; the flag end to end."""

from __future__ import annotations

import csv
import errno
import threading
import time

import cv2
import numpy as np
import pytest

from edge.cam.cli import main
from edge.cam.collect import (
    COLUMNS,
    CSV_NAME,
    CollectError,
    Collector,
    context_image,
    context_region,
    raw_patch,
    read_rows,
)
from edge.recognizer import DigitReading, Reading, Timings


def reading(*confidences: float) -> Reading:
    digits = tuple(DigitReading(value=i, confidence=c, box=(20 + 30 * i, 40, 20, 28), line=0,
                                top_k=((i, c), ((i + 1) % 10, 1 - c)),
                                crop=np.full((28, 28), 10 * i, np.uint8)) for i, c in enumerate(confidences))
    return Reading(digits, Timings(1.0, 1.0), "dark", (640, 480))


FRAME = np.random.default_rng(0).integers(0, 255, (480, 640, 3), dtype=np.uint8)


def offer(collector: Collector, *confidences: float, frame: int = 0) -> None:
    collector.offer(FRAME, "bgr", reading(*confidences), source="demo", frame=frame, timestamp=1.7e9)


def collect(tmp_path, *confidences, **kwargs) -> Collector:
    collector = Collector(tmp_path, log=lambda _m: None, **kwargs)
    collector.start()
    offer(collector, *confidences)
    collector.stop()
    return collector


def test_context_region_is_clipped_to_the_frame():
    assert context_region((10, 10, 20, 40), (480, 640)) == (slice(0, 90), slice(0, 70))
    assert context_region((600, 440, 40, 40), (480, 640)) == (slice(400, 480), slice(560, 640))


def test_raw_patch_of_yuv420_is_the_y_plane():
    yuv = np.zeros((720, 640), np.uint8)
    yuv[480:] = 200  # chroma rows must not leak into the patch
    patch, fmt = raw_patch(yuv, "yuv420", (300, 440, 30, 30))
    assert fmt == "gray" and patch.shape == (70, 90) and patch.max() == 0
    assert context_image(np.zeros((300, 150, 3), np.uint8), "bgr").shape == (96, 48)


def test_crops_context_and_rows_are_written(tmp_path):
    collector = collect(tmp_path, 0.95, 0.5)
    assert collector.stats.written == 2
    rows = read_rows(tmp_path / CSV_NAME)
    assert [r["file"] for r in rows] == ["crop-000000.png", "crop-000001.png"]
    assert rows[1]["predicted"] == "1" and rows[1]["confidence"] == "0.5000" and rows[1]["label"] == ""
    assert rows[0]["top3"] == "0:0.950 1:0.050" and rows[0]["source"] == "demo"
    crop = cv2.imread(str(tmp_path / rows[1]["file"]), cv2.IMREAD_UNCHANGED)
    assert crop.shape == (28, 28) and (crop == 10).all()
    context = cv2.imread(str(tmp_path / rows[1]["context"]), cv2.IMREAD_UNCHANGED)
    assert context.ndim == 2 and context.shape == (84, 76)  # box 20x28, one box size of margin each side


def test_restart_appends_without_reusing_names(tmp_path):
    collect(tmp_path, 0.9, 0.9)
    (tmp_path / "crop-000007.png").write_bytes(b"")  # a stray file, e.g. a row lost in a crash
    collect(tmp_path, 0.9)
    rows = read_rows(tmp_path / CSV_NAME)
    assert [r["file"] for r in rows] == ["crop-000000.png", "crop-000001.png", "crop-000008.png"]
    assert (tmp_path / CSV_NAME).read_text().count("file,context") == 1  # one header


def test_collect_below_keeps_only_doubtful_digits(tmp_path):
    collector = collect(tmp_path, 0.99, 0.6, 0.85, below=0.9)
    assert collector.stats.written == 2
    assert [r["predicted"] for r in read_rows(tmp_path / CSV_NAME)] == ["1", "2"]


def test_collect_max_caps_the_folder_across_restarts(tmp_path):
    logs: list[str] = []
    first = collect(tmp_path, 0.9, 0.9, 0.9, max_files=4)
    second = Collector(tmp_path, max_files=4, log=logs.append)
    second.start()
    offer(second, 0.9, 0.9, 0.9)
    offer(second, 0.9)
    second.stop()
    assert first.stats.written == 3 and second.stats.written == 1 and second.stats.skipped_cap == 3
    assert len(logs) == 1 and "--collect-max" in logs[0]
    assert len(list(tmp_path.glob("crop-??????.png"))) == 4


def test_a_slow_writer_never_blocks_the_loop_and_drops_are_counted(tmp_path):
    entered, release = threading.Event(), threading.Event()

    def stuck_writer(directory, batch):
        entered.set()
        release.wait(5)

    collector = Collector(tmp_path, log=lambda _m: None, writer=stuck_writer, queue_size=2)
    collector.start()
    offer(collector, 0.9)
    assert entered.wait(5)
    started = time.perf_counter()
    for frame in range(5):
        offer(collector, 0.9, frame=frame)
    elapsed = time.perf_counter() - started
    release.set()
    collector.stop()
    assert elapsed < 0.5  # the writer was stuck the whole time
    assert collector.stats.dropped == 3 and collector.stats.written == 3  # 1 being written + 2 queued


def test_a_full_disk_is_logged_once_and_pauses_collection(tmp_path):
    logs: list[str] = []
    calls = []

    def full_disk(directory, batch):
        calls.append([number for number, _item in batch])
        raise OSError(errno.ENOSPC, "No space left on device")

    collector = Collector(tmp_path, log=logs.append, writer=full_disk)
    collector.start()
    offer(collector, 0.9)
    deadline = time.monotonic() + 5
    while not collector.paused and time.monotonic() < deadline:
        time.sleep(0.01)
    offer(collector, 0.9, 0.9)
    collector.stop()
    assert collector.paused and calls == [[0]]
    assert len(logs) == 1 and "disk is full" in logs[0] and "recognition goes on" in logs[0]
    assert collector.stats.skipped_paused == 2 and collector.stats.written == 0


def test_a_foreign_csv_is_refused_with_exit_3(tmp_path, capsys):
    (tmp_path / CSV_NAME).write_text("name,value\nx,1\n")
    with pytest.raises(CollectError, match="not a digit-cam collected.csv"):
        Collector(tmp_path).start()
    assert main(["--source", "demo", "--frames", "1", "--collect", str(tmp_path)]) == 3
    assert "not a digit-cam collected.csv" in capsys.readouterr().err


def test_collect_flag_end_to_end_with_demo_scenes(tmp_path, capsys):
    folder = tmp_path / "crops"
    code = main(["--source", "demo", "--frames", "12", "--emit", "all", "--demo-fps", "20", "--json",
                 "--collect", str(folder)])
    assert code == 0
    err = capsys.readouterr().err
    with (folder / CSV_NAME).open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert tuple(rows[0]) == COLUMNS and len(rows) >= 12  # each frame holds several digits
    assert all((folder / r["file"]).exists() and (folder / r["context"]).exists() for r in rows)
    assert f"{len(rows)} crops written" in err
