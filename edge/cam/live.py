"""The ``digit-cam`` loop: frames in, readings out, until told to stop.

``run(Options(source="demo", frames=50, json=True))`` opens the source, always works on the
newest frame of a live source, reports a reading when it is stable over ``stable_frames``
frames (through :class:`edge.cam.outputs.Outputs`), reloads the model on SIGHUP or when the
model file changes, and retries a lost camera with :class:`Backoff`. It returns when the source
ends, a limit is reached or ``control.stop`` is set, and raises a
:class:`edge.errors.DigitEdgeError` when it cannot go on; :func:`edge.cam.cli.main` turns that
into a message and an exit code. Tests inject a source with ``run(..., open_source=...)``.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from edge import errors
from edge.cam.display import opencv_has_gui
from edge.cam.latest import LatestFrame
from edge.cam.options import Options
from edge.cam.outputs import Outputs
from edge.cam.picam import PiCameraSettings
from edge.cam.record import ReadingRecord
from edge.cam.server import LiveState, ModelInfo
from edge.cam.sources import CameraError, Frame, Source, parse_source, resolve_auto
from edge.clikit import one_line
from edge.interpreter import BackendError, ModelError
from edge.metadata import sidecar_path
from edge.preprocess import FindConfig, InvalidFrameError
from edge.recognizer import Recognizer, default_model_path

MODEL_CHECK_S = 2.0  # how often the model file is checked for a replacement (one stat call)
STEADY_REPORT_S = 10.0  # --verbose: seconds between steady-state lines


@dataclass
class Control:
    """Flags set from signal handlers or other threads, read by the loop."""

    stop: threading.Event = field(default_factory=threading.Event)
    reload: threading.Event = field(default_factory=threading.Event)
    exit_code: int = errors.OK  # what a stop request should exit with


class Stabilizer:
    """Says when a reading's text has been the same for ``frames`` consecutive frames and
    differs from the last one emitted. An empty text never counts as a new reading."""

    def __init__(self, frames: int):
        self.frames = max(1, frames)
        self._recent: deque[str] = deque(maxlen=self.frames)
        self.last_emitted: str | None = None

    def update(self, text: str) -> bool:
        self._recent.append(text)
        stable = len(self._recent) == self.frames and len(set(self._recent)) == 1
        if stable and text and text != self.last_emitted:
            self.last_emitted = text
            return True
        if stable and not text:
            self.last_emitted = None  # the page was taken away: the same digits may come back
        return False

    def is_stable(self) -> bool:
        return len(self._recent) == self.frames and len(set(self._recent)) == 1


@dataclass
class Backoff:
    """Waits before reopening a lost camera: ``first_s``, doubling, at most ``cap_s``, and at most
    ``retries`` times in a row. :meth:`reset` after the camera worked again starts a fresh series,
    so a camera that drops out once an hour is never given up on."""

    retries: int
    first_s: float = 0.5  # a USB camera re-enumerates in ~0.5 s
    cap_s: float = 30.0  # never sleep longer than this between attempts
    attempt: int = 0  # retries used in the current series

    def reset(self) -> None:
        self.attempt = 0

    def next_wait(self) -> float | None:
        """Seconds to wait before the next retry, or None when the retries are used up."""
        self.attempt += 1
        if self.attempt > self.retries:
            return None
        return min(self.cap_s, self.first_s * 2 ** (self.attempt - 1))


def model_path(options: Options) -> Path:
    return Path(options.model) if options.model else default_model_path()


def load_recognizer(options: Options) -> Recognizer:
    path = model_path(options)
    if options.require_sidecar and not sidecar_path(path).is_file():
        raise ModelError(f"{path} has no sidecar {sidecar_path(path).name} and require_sidecar is set: use the "
                         ".tflite and .json written together by python -m convert")
    return Recognizer.from_path(path, backend=options.backend, xnnpack=options.xnnpack,
                                threads=options.threads, min_confidence=options.min_confidence,
                                find_config=FindConfig(polarity=options.invert))


def source_for(options: Options) -> Source:
    """The unopened source ``options.source`` names (``auto``: whichever camera is there)."""
    preview = bool(options.display or options.serve or options.save)  # a nicer picture is shown somewhere
    picamera = PiCameraSettings(lens_position=options.lens_position, max_frame_ms=options.max_frame_ms,
                                preview=preview, window=bool(options.display) and not opencv_has_gui())
    if options.source == "auto":
        return resolve_auto(preview=preview, picamera=picamera)
    return parse_source(options.source, preview=preview, demo_fps=options.demo_fps, seed=options.seed,
                        picamera=picamera)


def _model_stamp(path: Path) -> tuple:
    """Changes when the file, or the target of a ``current`` symlink, is replaced."""
    try:
        stat = path.stat()
        return (str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    except OSError:
        return ()


class Runner:
    """One ``digit-cam`` session; see :func:`run`."""

    def __init__(self, options: Options, control: Control | None = None, out: TextIO | None = None,
                 err: TextIO | None = None, *, open_source: Callable[[Options], Source] = source_for):
        self.options = options
        self.control = control or Control()
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.open_source = open_source
        self.outputs = Outputs(options, out=self.out, log=self.log)
        self.recognizer: Recognizer | None = None
        self.processed = 0
        self.last_record: ReadingRecord | None = None
        self._model_stamp: tuple = ()
        self._last_model_check = 0.0

    @property
    def state(self) -> LiveState:
        """What ``--serve`` shows."""
        return self.outputs.state

    # --- messages -----------------------------------------------------------------------
    def log(self, message: str) -> None:
        print(message, file=self.err, flush=True)

    def verbose(self, message: str) -> None:
        if self.options.verbose:
            self.log(message)

    # --- model --------------------------------------------------------------------------
    def load_model(self) -> None:
        started = time.perf_counter()
        self.recognizer = load_recognizer(self.options)
        path = model_path(self.options)
        self._model_stamp = _model_stamp(path)
        classifier = self.recognizer.classifier
        meta = classifier.metadata
        self.state.model = ModelInfo(path=str(path), sha256=classifier.sha256, backend=classifier.backend.name,
                                     xnnpack=classifier.xnnpack, accuracy=meta.accuracy if meta else None)
        if meta is None:  # said even without --verbose: nothing vouches for this file
            self.log(f"warning: {path} has no sidecar ({sidecar_path(path).name}): its sha256 is not checked; "
                     "set require_sidecar to refuse such a model")
        self.verbose(f"model {path} loaded in {(time.perf_counter() - started) * 1e3:.0f} ms: "
                     f"{classifier.describe()}; sha256 {classifier.sha256[:16]}…"
                     + (f"; MNIST test accuracy {meta.accuracy:.2%} ({meta.quantization}) per its sidecar"
                        if meta and meta.accuracy else "; no sidecar"))

    def maybe_reload(self) -> None:
        """On SIGHUP or a changed model file: load the new model, keep the old one if it fails."""
        now = time.monotonic()
        changed = False
        if now - self._last_model_check > MODEL_CHECK_S:
            self._last_model_check = now
            changed = _model_stamp(model_path(self.options)) != self._model_stamp
        if not (self.control.reload.is_set() or changed):
            return
        self.control.reload.clear()
        old = self.recognizer
        try:
            self.load_model()
            self.log(f"model reloaded: {self.recognizer.classifier.describe()}")
        except Exception as error:  # noqa: BLE001 - whatever the new file is, the service keeps running
            # A sidecar of random bytes, a model of the wrong shape, a runtime that chokes on it:
            # none of them may end a running service (under systemd that is a restart loop).
            self.recognizer = old
            self._model_stamp = _model_stamp(model_path(self.options))  # don't retry every frame
            kind = "" if isinstance(error, (ModelError, BackendError)) else f"{type(error).__name__}: "
            self.log(f"error: new model rejected, still using the previous one: {kind}{one_line(error)}")

    # --- main loop ----------------------------------------------------------------------
    def process(self, frame: Frame, source: Source, stabilizer: Stabilizer, fps: float | None) -> None:
        reading = self.recognizer.read(frame.image, pixel_format=frame.pixel_format, roi=self.options.roi)
        self.processed += 1
        if source.live:
            new_stable = stabilizer.update(reading.text)
            stable = stabilizer.is_stable()
        else:  # an image or a video frame stands on its own
            new_stable = stable = True
        record = ReadingRecord.of(frame, reading, source.name if source.live else source.describe(), stable)
        self.last_record = record
        emit = self.options.emit == "all" or new_stable
        if self.outputs.deliver(frame, record, source, emit=emit, fps=fps):
            self.control.stop.set()  # the user closed the window or pressed q

    def stream(self, source: Source) -> None:
        """Process one opened source until it ends, a limit is reached or a stop is requested."""
        options = self.options
        stabilizer = Stabilizer(options.stable_frames)
        started = time.monotonic()
        last_report = started
        interval = 1.0 / options.max_fps if options.max_fps > 0 else 0.0
        recent = deque(maxlen=30)
        reader = LatestFrame(source, timeout=options.frame_timeout) if source.live else None
        context = reader if reader is not None else contextlib.nullcontext()
        with context:
            next_time = time.monotonic()
            while not self.control.stop.is_set():
                if options.frames is not None and self.processed >= options.frames:
                    return
                if options.duration is not None and time.monotonic() - started >= options.duration:
                    return
                if interval:
                    delay = next_time - time.monotonic()
                    if options.duration is not None:  # a slow --max-fps still ends on time
                        delay = min(delay, started + options.duration - time.monotonic())
                    if delay > 0 and self.control.stop.wait(delay):
                        return
                    if options.duration is not None and time.monotonic() - started >= options.duration:
                        return
                    next_time = max(next_time + interval, time.monotonic())
                frame = reader.read() if reader is not None else source.read()
                if frame is None:
                    return
                self.maybe_reload()
                recent.append(time.monotonic())
                fps = (len(recent) - 1) / (recent[-1] - recent[0]) if len(recent) > 2 else None
                try:
                    self.process(frame, source, stabilizer, fps)
                except InvalidFrameError as error:
                    self.log(f"warning: skipping frame {frame.index} of {frame.name}: {error}")
                if options.verbose and time.monotonic() - last_report >= STEADY_REPORT_S:
                    last_report = time.monotonic()
                    dropped = reader.dropped if reader is not None else 0
                    latency = self.last_record.latency.total if self.last_record else 0.0
                    self.log(f"steady state: {fps or 0:.1f} fps processed, {self.processed} frames, "
                             f"{dropped} stale frames dropped, last latency {latency:.1f} ms")

    def run(self) -> None:
        """Load the model, open the source and outputs, and stream, reopening a lost camera."""
        started = time.perf_counter()
        self.load_model()
        source: Source | None = self.open_source(self.options)
        self.outputs.start(source)
        self.state.source = source.describe()
        backoff = Backoff(self.options.retries)
        try:
            while True:
                processed_before = self.processed
                try:
                    if source is None:  # reopening after a loss goes through the same retry path
                        source = self.open_source(self.options)
                    with source:
                        self.verbose(f"source: {source.describe()}; ready in "
                                     f"{(time.perf_counter() - started) * 1e3:.0f} ms since start")
                        self.stream(source)
                    return
                except errors.CameraError as error:
                    source = None
                    if self.control.stop.is_set():  # asked to stop while the camera hung: that's a stop
                        return
                    if self.processed == 0:
                        # Never delivered a frame: a wrong device or no camera. Say so now; a
                        # supervisor's restart covers a camera that is still coming up at boot.
                        raise
                    if self.processed > processed_before:
                        backoff.reset()  # it worked for a while: a fresh series of retries
                    wait = backoff.next_wait()
                    if wait is None:
                        raise CameraError(f"{error}; giving up after {backoff.retries} retries") from error
                    self.log(f"warning: {error}; retry {backoff.attempt}/{backoff.retries} in {wait:.1f} s")
                    if self.control.stop.wait(wait):
                        return
        finally:
            self.outputs.stop()


def run(options: Options, control: Control | None = None, *, out: TextIO | None = None,
        err: TextIO | None = None, open_source: Callable[[Options], Source] = source_for) -> None:
    """Run ``digit-cam`` with ``options`` until the source ends, a limit is reached or
    ``control.stop`` is set (then ``control.exit_code`` says why); raises a
    :class:`edge.errors.DigitEdgeError` when it cannot go on. ``open_source(options)`` returns
    the unopened source, called again to reopen a lost camera (tests pass fakes)."""
    Runner(options, control, out, err, open_source=open_source).run()


__all__ = ["Backoff", "Control", "LiveState", "Options", "Runner", "Stabilizer", "run", "source_for"]
