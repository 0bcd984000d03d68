"""``digit-cam --collect DIR``: keep the crops the model saw, to label and fine-tune on later.

``Collector(Path("crops"), below=0.9, max_files=2000, log=print)`` is started by
:class:`edge.cam.outputs.Outputs`; for every reported reading the loop calls :meth:`Collector.offer`,
which only copies a few small arrays and puts them on a bounded queue (a full queue drops the item
and counts it, so the live loop never waits on a disk). A writer thread, at a lower CPU priority,
wakes every ``FLUSH_INTERVAL_S`` (or when the queue is half full), saves each queued digit's 28x28
crop and a small grey context patch as PNG files and appends the batch's rows to ``DIR/collected.csv``
(``python -m train.label DIR`` labels them, ``python -m train --finetune`` learns from them).

Restarts append: names continue after the highest number already in the folder. Disk use is capped
at ``max_files`` crops in the folder. A write that fails (a full disk) is logged once and pauses
collection; recognition goes on. ``digit-cam --serve`` adds a ``/label`` page over the folder
(:mod:`edge.cam.labeling`), which rewrites the CSV under :attr:`Collector.lock`.
"""

from __future__ import annotations

import csv
import errno
import io
import os
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from edge.collected import COLUMNS, CROP_NAME, CSV_NAME, CollectError, read_rows
from edge.preprocess import Box

QUEUE_SIZE = 64  # crops waiting for the writer; ~64 x 5 KB, and a few seconds of a busy page
CONTEXT_MARGIN = 1.0  # the context patch reaches this many box sizes around the digit
CONTEXT_SIDE = 96  # longest side of the saved context patch in pixels: enough to see the neighbours
WRITER_NICE = 10  # the writer yields the CPU to recognition on a busy 2- or 4-core Pi
STOP_TIMEOUT_S = 5.0  # how long stop() waits for the queue to drain
# The writer wakes on a timer, not on every queued crop: a wake-up mid-frame makes the loop hand
# the GIL to the writer (and wait for a nice-10 thread to be scheduled) once per crop; batched, it
# is a few times a second. 0.2 s of a busy page is ~100 crops at most, under QUEUE_SIZE with the
# half-full wake-up; a crop reaches the disk (and the /label page) at most this late.
FLUSH_INTERVAL_S = 0.2
FILE_MODE = 0o666  # as open() creates files: the umask (the service's UMask) decides the rest


@dataclass(frozen=True)
class CollectItem:
    """One digit to save: what the live loop hands the writer thread."""

    crop: np.ndarray  # (28, 28) uint8, the model's input
    patch: np.ndarray  # the frame around the box, as captured (BGR, grey, ...), a copy
    pixel_format: str  # how to read ``patch`` (edge.preprocess.to_gray)
    source: str
    frame: int
    time: float  # capture time, seconds since the epoch
    predicted: str  # the digit read, or '?' when rejected
    confidence: float
    top3: str  # "7:0.91 1:0.05 9:0.02"


@dataclass
class CollectStats:
    """What happened to the offered crops (``--verbose`` and tests read it)."""

    offered: int = 0
    written: int = 0
    dropped: int = 0  # the queue was full: the writer is slower than the camera
    skipped_cap: int = 0  # --collect-max reached
    skipped_paused: int = 0  # after a failed write (full disk)
    errors: list[str] = field(default_factory=list)


def context_region(box: Box, shape: tuple[int, int], margin: float = CONTEXT_MARGIN) -> tuple[slice, slice]:
    """Rows and columns of a frame of ``shape`` (H, W) around ``box``, ``margin`` box sizes each side."""
    x, y, w, h = box
    side = max(w, h)
    pad = int(round(side * margin))
    top, left = max(0, y - pad), max(0, x - pad)
    bottom, right = min(shape[0], y + h + pad), min(shape[1], x + w + pad)
    return slice(top, max(top, bottom)), slice(left, max(left, right))


def raw_patch(image: np.ndarray, pixel_format: str, box: Box) -> tuple[np.ndarray, str]:
    """A copy of the frame around ``box`` in its own format (YUV420: the Y plane, i.e. grey).
    Copying a small slice is all the live loop does; converting happens in the writer."""
    if pixel_format == "yuv420":
        image, pixel_format = image[: image.shape[0] * 2 // 3], "gray"
    rows, cols = context_region(box, image.shape[:2])
    return np.array(image[rows, cols], copy=True), pixel_format


def context_image(patch: np.ndarray, pixel_format: str, side: int = CONTEXT_SIDE) -> np.ndarray:
    """A raw patch -> (h, w) uint8 grey whose longest side is at most ``side``."""
    import cv2

    from edge.preprocess import to_gray

    grey = to_gray(patch, pixel_format)
    longest = max(grey.shape[:2]) if grey.size else 0
    if longest > side:
        scale = side / longest
        size = (max(1, round(grey.shape[1] * scale)), max(1, round(grey.shape[0] * scale)))
        grey = cv2.resize(grey, size, interpolation=cv2.INTER_AREA)
    return grey


def top3_text(top_k) -> str:
    return " ".join(f"{digit}:{probability:.3f}" for digit, probability in list(top_k)[:3])


def existing_numbers(directory: Path) -> list[int]:
    """Numbers of the crops already in ``directory`` (from files and from collected.csv)."""
    numbers = [int(m.group(1)) for p in directory.glob("crop-*.png") if (m := CROP_NAME.match(p.name))]
    csv_path = directory / CSV_NAME
    if csv_path.exists():
        numbers += [int(m.group(1)) for row in read_rows(csv_path) if (m := CROP_NAME.match(row["file"] or ""))]
    return numbers


def write_item(directory: Path, number: int, item: CollectItem) -> None:
    """Save one crop, its context and its CSV row. Raises OSError when the disk refuses."""
    write_items(directory, [(number, item)])


def write_file(path: Path, data) -> None:
    """Write ``data`` (bytes or an encoded array) to ``path``: open, write, close and nothing else
    (``Path.write_bytes`` adds buffering and more system calls). Raises OSError with its errno."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    try:
        view = memoryview(data).cast("B")
        while view:
            view = view[os.write(descriptor, view):]
    finally:
        os.close(descriptor)


def write_items(directory: Path, batch: list[tuple[int, CollectItem]]) -> None:
    """Save the crops and contexts of ``batch`` and append their rows in one open of the CSV
    (the writer drains the queue in batches, so a busy page costs one CSV append per batch).
    The CSV is opened anew for each batch, not kept open: the /label page replaces the file
    (a rename), and a kept descriptor would append to the replaced one. Raises OSError when the
    disk refuses."""
    import cv2

    rows = []
    for number, item in batch:
        name, context = f"crop-{number:06d}.png", f"crop-{number:06d}.context.png"
        for file, image in ((name, item.crop), (context, context_image(item.patch, item.pixel_format))):
            ok, buffer = cv2.imencode(".png", image)
            if not ok:
                raise OSError(errno.EIO, f"could not encode {file}")
            write_file(directory / file, buffer)
        rows.append([name, context, item.source, item.frame, f"{item.time:.3f}", item.predicted,
                     f"{item.confidence:.4f}", item.top3, ""])
    text = io.StringIO()
    csv_path = directory / CSV_NAME
    if not csv_path.exists() or csv_path.stat().st_size == 0:
        csv.writer(text).writerow(COLUMNS)
    csv.writer(text).writerows(rows)
    with csv_path.open("a", newline="") as handle:
        handle.write(text.getvalue())  # one write() for the whole batch


Writer = Callable[[Path, list[tuple[int, CollectItem]]], None]


def lower_priority(nice: int = WRITER_NICE) -> bool:
    """Give the calling thread a lower CPU priority than the live loop (on Linux a thread is a
    task, so PRIO_PROCESS with its native id changes this thread only). True when it did; never
    raises: not Linux, or not allowed, and the queue alone still keeps the loop from waiting."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), nice)
    except (AttributeError, OSError, ValueError):
        return False
    return True


class Collector:
    """A bounded queue and one writer thread; see the module docstring."""

    def __init__(self, directory: Path, *, below: float | None = None, max_files: int = 10_000,
                 log: Callable[[str], None] = print, writer: Writer = write_items,
                 queue_size: int = QUEUE_SIZE, interval: float = FLUSH_INTERVAL_S):
        self.directory = Path(directory)
        self.below = below
        self.max_files = max_files
        self.log = log
        self.writer = writer
        self.stats = CollectStats()
        self.paused = False
        # Held while the writer appends and while the /label page rewrites collected.csv
        # (edge.cam.labeling): a rewrite never loses rows appended since it read the file.
        self.lock = threading.Lock()
        self.interval = interval
        self._queue: queue.Queue[CollectItem] = queue.Queue(maxsize=queue_size)
        self._wake = threading.Event()  # set when the queue is half full, or to stop
        self._wake_at = max(1, queue_size // 2)
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._next = 0
        self._count = 0  # crops in the folder, including those queued

    def start(self) -> None:
        """Make the folder, find where numbering continues, start the writer. OSError if unwritable."""
        self.directory.mkdir(parents=True, exist_ok=True)
        numbers = existing_numbers(self.directory)
        self._next = max(numbers, default=-1) + 1
        self._count = len(set(numbers))
        self._thread = threading.Thread(target=self._write_loop, name="digit-cam-collect", daemon=True)
        self._thread.start()

    def wanted(self, confidence: float) -> bool:
        return self.below is None or confidence < self.below

    def offer(self, image: np.ndarray, pixel_format: str, reading, *, source: str, frame: int,
              timestamp: float) -> None:
        """Queue the wanted digits of ``reading`` (an :class:`edge.recognizer.Reading`); never blocks."""
        for digit in reading.digits:
            if digit.crop is None or not self.wanted(digit.confidence):
                continue
            self.stats.offered += 1
            if self.paused:
                self.stats.skipped_paused += 1
                continue
            if self._count >= self.max_files:
                if self.stats.skipped_cap == 0:
                    self.log(f"collect: {self.max_files} crops in {self.directory} (--collect-max); "
                             "not collecting more")
                self.stats.skipped_cap += 1
                continue
            patch, patch_format = raw_patch(image, pixel_format, digit.box)
            item = CollectItem(np.array(digit.crop, copy=True), patch, patch_format, source, frame, timestamp,
                               digit.label, float(digit.confidence), top3_text(digit.top_k))
            try:
                self._queue.put_nowait(item)
            except queue.Full:
                self.stats.dropped += 1
                continue
            self._count += 1
        if self._queue.qsize() >= self._wake_at and not self._wake.is_set():
            self._wake.set()  # a busy page: write now rather than drop at the next frames

    def _drain(self) -> list[CollectItem]:
        items = []
        while True:
            try:
                items.append(self._queue.get_nowait())
            except queue.Empty:
                return items

    def _write_loop(self) -> None:
        lower_priority()
        done = False
        while not done:
            self._wake.wait(self.interval)
            self._wake.clear()
            done = self._stopping  # read before draining: stop() is called after the last offer
            items = self._drain()
            if self.paused or not items:
                continue
            batch = list(enumerate(items, start=self._next))
            try:
                with self.lock:
                    self.writer(self.directory, batch)
            except OSError as error:
                self.paused = True
                self.stats.errors.append(str(error))
                reason = "the disk is full" if error.errno == errno.ENOSPC else "a write failed"
                self.log(f"warning: collect paused, {reason} ({error}); recognition goes on")
                continue
            self._next += len(batch)
            self.stats.written += len(batch)

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> None:
        """Let the writer finish what is queued (up to ``timeout`` s) and end it."""
        if self._thread is None:
            return
        self._stopping = True
        self._wake.set()
        self._thread.join(timeout)
        self._thread = None

    def summary(self) -> str:
        s = self.stats
        return (f"collect: {s.written} crops written to {self.directory}, {s.dropped} dropped (writer busy), "
                f"{s.skipped_cap} over --collect-max, {s.skipped_paused} while paused")


__all__ = ["COLUMNS", "CSV_NAME", "CollectError", "Collector", "read_rows"]
