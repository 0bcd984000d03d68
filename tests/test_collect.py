"""``digit-cam --collect``: the collector's queue, writer, cap, restarts and full disk; the flag end to end."""

from __future__ import annotations

import csv
import errno
import os
import sys
import threading
import time

import cv2
import numpy as np
import pytest

from edge.cam.cli import main
from edge.cam.collect import (
    COLUMNS,
    CSV_NAME,
    WRITER_NICE,
    CollectError,
    Collector,
    context_image,
    context_region,
    lower_priority,
    raw_patch,
    read_rows,
    write_file,
    write_items,
)
from edge.collected import write_rows
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


def test_batches_keep_every_row_in_order(tmp_path):
    batches: list[list[int]] = []

    def recording_writer(directory, batch):
        batches.append([number for number, _item in batch])
        write_items(directory, batch)

    collector = Collector(tmp_path, log=lambda _m: None, writer=recording_writer, queue_size=256)
    collector.start()
    for frame in range(40):
        offer(collector, 0.9, 0.8, 0.7, frame=frame)
    collector.stop()
    rows = read_rows(tmp_path / CSV_NAME)
    assert collector.stats.written == 120 and collector.stats.dropped == 0
    assert [r["file"] for r in rows] == [f"crop-{n:06d}.png" for n in range(120)]
    assert [int(r["frame"]) for r in rows] == [frame for frame in range(40) for _ in range(3)]
    assert sum(batches, []) == list(range(120)) and len(batches) < 120  # written in batches
    assert all((tmp_path / r["file"]).exists() and (tmp_path / r["context"]).exists() for r in rows)


def test_the_writer_wakes_early_for_a_half_full_queue_and_on_stop(tmp_path):
    collector = Collector(tmp_path, log=lambda _m: None, queue_size=8, interval=60.0)
    collector.start()
    offer(collector, *[0.9] * 4)  # half of the queue: written now, not in a minute
    deadline = time.monotonic() + 5
    while collector.stats.written < 4 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert collector.stats.written == 4
    offer(collector, 0.9)  # under half: waits for the timer, or for stop()
    started = time.monotonic()
    collector.stop()
    assert collector.stats.written == 5 and time.monotonic() - started < 5


def test_rows_appended_after_the_label_page_replaced_the_csv_are_kept(tmp_path):
    collector = Collector(tmp_path, log=lambda _m: None, interval=0.01)
    collector.start()
    offer(collector, 0.9)
    deadline = time.monotonic() + 5
    while collector.stats.written < 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    with collector.lock:  # as edge.cam.labeling does: a rename over the file
        rows = read_rows(tmp_path / CSV_NAME)
        rows[0]["label"] = "0"
        write_rows(tmp_path, COLUMNS, rows)
    offer(collector, 0.8, frame=1)
    collector.stop()
    assert [(r["file"], r["label"]) for r in read_rows(tmp_path / CSV_NAME)] == [
        ("crop-000000.png", "0"), ("crop-000001.png", "")]


def test_write_file_writes_arrays_whole_and_keeps_the_errno(tmp_path):
    encoded = cv2.imencode(".png", np.arange(28 * 28, dtype=np.uint8).reshape(28, 28))[1]
    write_file(tmp_path / "a.png", encoded)
    assert (tmp_path / "a.png").read_bytes() == encoded.tobytes()
    write_file(tmp_path / "a.png", b"xy")  # an existing file is replaced, not appended to
    assert (tmp_path / "a.png").read_bytes() == b"xy"
    with pytest.raises(FileNotFoundError):
        write_file(tmp_path / "missing" / "b.png", b"x")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread priority is Linux's")
def test_lower_priority_changes_only_the_calling_thread():
    before = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    if before >= WRITER_NICE:
        pytest.skip("the tests already run at the writer's priority or lower")
    seen = {}

    def worker():
        seen["lowered"] = lower_priority()
        seen["nice"] = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join(5)
    assert seen == {"lowered": True, "nice": WRITER_NICE}
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == before  # the loop's thread


def test_lower_priority_never_raises(monkeypatch):
    def refused(*_args):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(os, "setpriority", refused)
    assert lower_priority() is False
    monkeypatch.delattr(os, "setpriority")  # not Linux / not Unix
    assert lower_priority() is False
