"""The ``digit-cam`` loop: frames in, readings out, until told to stop.

``run(Options(source="demo", frames=50, json=True))`` returns an exit code. It opens the source,
always works on the newest frame of a live source, emits a reading when it is stable over
``stable_frames`` frames, serves/saves/displays annotated frames, reloads the model on SIGHUP or
when the model file changes, and retries a lost camera with backoff before giving up (exit 4).
"""

from __future__ import annotations

import contextlib
import json
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from edge import errors
from edge.cam.sources import (
    CameraError,
    Frame,
    LatestFrame,
    Source,
    SourceError,
    VideoFileSource,
    parse_source,
    resolve_auto,
)
from edge.interpreter import BackendError, ModelError
from edge.preprocess import Box, FindConfig, InvalidFrameError
from edge.recognizer import Reading, Recognizer, default_model_path

SCHEMA_VERSION = 1


@dataclass
class Options:
    """Everything ``digit-cam`` can be told; field names are the flags' (and config keys')."""

    source: str = "auto"
    model: str | None = None
    json: bool = False
    emit: str = "changes"  # "changes": stable new readings; "all": every processed frame
    stable_frames: int = 3
    min_confidence: float = 0.5
    max_fps: float = 0.0  # 0 = as fast as frames come
    roi: Box | None = None
    invert: str = "auto"  # ink polarity: auto, yes (white on black), no (dark on paper)
    threads: int | None = None
    xnnpack: bool = True
    backend: str | None = None
    frames: int | None = None
    duration: float | None = None
    display: bool = False
    save: str | None = None
    serve: str | None = None
    allow_remote: bool = False
    token: str | None = None
    retries: int = 5
    frame_timeout: float = 5.0
    demo_fps: float = 15.0
    seed: int = 0
    verbose: bool = False


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


class LiveState:
    """What the HTTP server shows: the latest annotated JPEG and reading, and liveness."""

    def __init__(self):
        self.condition = threading.Condition()
        self.jpeg: bytes | None = None
        self.jpeg_sequence = 0
        self.reading: dict | None = None
        self.frames = 0
        self.last_frame_time = 0.0
        self.model: dict = {}
        self.source = ""
        self.started = time.time()

    def publish(self, jpeg: bytes | None, record: dict) -> None:
        with self.condition:
            if jpeg is not None:
                self.jpeg = jpeg
                self.jpeg_sequence += 1
            self.reading = record
            self.frames += 1
            self.last_frame_time = time.time()
            self.condition.notify_all()


def model_path(options: Options) -> Path:
    return Path(options.model) if options.model else default_model_path()


def load_recognizer(options: Options) -> Recognizer:
    polarity = {"auto": "auto", "yes": "bright", "no": "dark"}[options.invert]
    return Recognizer.from_path(model_path(options), backend=options.backend, xnnpack=options.xnnpack,
                                threads=options.threads, min_confidence=options.min_confidence,
                                find_config=FindConfig(polarity=polarity))


def _model_stamp(path: Path) -> tuple:
    """Changes when the file, or the target of a ``current`` symlink, is replaced."""
    try:
        stat = path.stat()
        return (str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    except OSError:
        return ()


def frame_record(frame: Frame, reading: Reading, source: str, stable: bool) -> dict:
    """The JSON object printed per reading (schema documented in the README)."""
    data = reading.to_dict()
    timings = data.pop("timings_ms")
    record = {
        "schema": SCHEMA_VERSION,
        "source": source,
        "name": frame.name,
        "frame": frame.index,
        "timestamp": round(frame.timestamp, 3),
        "text": data["text"],
        "stable": stable,
        "digits": data["digits"],
        "polarity": data["polarity"],
        "frame_size": data["frame_size"],
        "latency_ms": {"capture": round(frame.capture_ms, 3), "preprocess": timings["preprocess_ms"],
                       "inference": timings["inference_ms"],
                       "total": round(frame.capture_ms + timings["total_ms"], 3)},
    }
    if frame.truth is not None:
        record["truth"] = frame.truth
    return record


def human_line(record: dict) -> str:
    digits = record["digits"]
    if not digits:
        return f"[{Path(record['name']).name} #{record['frame']}] no digits"
    lowest = min(d["confidence"] for d in digits)
    line = (f"[{Path(record['name']).name} #{record['frame']}] {record['text']}   "
            f"({len(digits)} digit{'s' * (len(digits) != 1)}, lowest confidence {lowest:.0%}, "
            f"{record['latency_ms']['total']:.1f} ms)")
    if "truth" in record:
        line += "  ✓" if record["truth"] == record["text"] else f"  (shown: {record['truth']})"
    return line


class Runner:
    """One ``digit-cam`` session; see :func:`run`."""

    def __init__(self, options: Options, control: Control | None = None, out=None, err=None):
        self.options = options
        self.control = control or Control()
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.state = LiveState()
        self.recognizer: Recognizer | None = None
        self.processed = 0
        self.emitted = 0
        self._model_stamp: tuple = ()
        self._last_model_check = 0.0
        self._server = None
        self._window = False

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
        self.state.model = {"path": str(path), "sha256": classifier.sha256, "backend": classifier.backend.name,
                            "xnnpack": classifier.xnnpack,
                            "accuracy": meta.accuracy if meta else None}
        self.verbose(f"model {path} loaded in {(time.perf_counter() - started) * 1e3:.0f} ms: "
                     f"{classifier.describe()}; sha256 {classifier.sha256[:16]}…"
                     + (f"; MNIST test accuracy {meta.accuracy:.2%} ({meta.quantization}) per its sidecar"
                        if meta and meta.accuracy else "; no sidecar"))

    def maybe_reload(self) -> None:
        """On SIGHUP or a changed model file: load the new model, keep the old one if it fails."""
        now = time.monotonic()
        changed = False
        if now - self._last_model_check > 2.0:
            self._last_model_check = now
            changed = _model_stamp(model_path(self.options)) != self._model_stamp
        if not (self.control.reload.is_set() or changed):
            return
        self.control.reload.clear()
        old = self.recognizer
        try:
            self.load_model()
            self.log(f"model reloaded: {self.recognizer.classifier.describe()}")
        except (ModelError, BackendError) as error:
            self.recognizer = old
            self._model_stamp = _model_stamp(model_path(self.options))  # don't retry every frame
            self.log(f"error: new model rejected, still using the previous one: {error}")

    # --- outputs ------------------------------------------------------------------------
    def start_outputs(self) -> None:
        if self.options.save:
            Path(self.options.save).mkdir(parents=True, exist_ok=True)
        if self.options.serve:
            from edge.cam.server import start_server

            self._server = start_server(self.options.serve, self.state, allow_remote=self.options.allow_remote,
                                        token=self.options.token)
            host, port = self._server.server_address[:2]
            self.log(f"serving http://{host}:{port}/ (stream, /reading, /healthz)")
        if self.options.display:
            from edge.cam.display import open_window

            open_window()
            self._window = True

    def stop_outputs(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._window:
            from edge.cam.display import close_window

            close_window()

    def emit(self, record: dict) -> None:
        if self.options.json:
            print(json.dumps(record), file=self.out, flush=True)
        else:
            print(human_line(record), file=self.out, flush=True)
        self.emitted += 1

    def annotate(self, frame: Frame, reading: Reading, fps: float | None):
        from edge.overlay import draw_reading

        if frame.preview is not None:  # boxes are in lores coordinates: scale them to the preview
            image = frame.preview
            scale_x = image.shape[1] / reading.frame_size[0]
            scale_y = image.shape[0] / reading.frame_size[1]
            reading = _scaled(reading, scale_x, scale_y)
            return draw_reading(image, reading, fps=fps)
        return draw_reading(frame.image, reading, pixel_format=frame.pixel_format, fps=fps,
                            roi=self.options.roi)

    # --- main loop ----------------------------------------------------------------------
    def process(self, frame: Frame, source: Source, stabilizer: Stabilizer, fps: float | None) -> None:
        reading = self.recognizer.read(frame.image, pixel_format=frame.pixel_format, roi=self.options.roi)
        self.processed += 1
        if source.live:
            new_stable = stabilizer.update(reading.text)
            stable = stabilizer.is_stable()
        else:  # an image or a video frame stands on its own
            new_stable = stable = True
        record = frame_record(frame, reading, source.describe() if not source.live else source.name, stable)
        wants_picture = self._server is not None or self._window or self.options.save
        annotated = self.annotate(frame, reading, fps) if wants_picture else None
        jpeg = None
        if self._server is not None:
            import cv2

            ok, buffer = cv2.imencode(".jpg", annotated, [cv2.IMWRITE_JPEG_QUALITY, 80])
            jpeg = buffer.tobytes() if ok else None
        self.state.publish(jpeg, record)
        should_emit = self.options.emit == "all" or (new_stable if source.live else True)
        if should_emit:
            self.emit(record)
            if self.options.save:
                self.save(frame, annotated, source)
        if self._window:
            from edge.cam.display import show

            if show(annotated):  # the user closed the window or pressed q
                self.control.stop.set()

    def save(self, frame: Frame, annotated, source: Source) -> None:
        import cv2

        if source.live:
            name = f"frame-{frame.index:06d}.jpg"
        else:
            stem = Path(frame.name).stem if frame.name != source.name else "frame"
            video = isinstance(source, VideoFileSource)
            name = f"{stem}-{frame.index:06d}.annotated.png" if video else f"{stem}.annotated.png"
        path = Path(self.options.save) / name
        if not cv2.imwrite(str(path), annotated):
            self.log(f"warning: could not write {path}")

    def stream(self, source: Source) -> int:
        """Process one opened source until it ends or a stop; returns an exit code or -1 to retry."""
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
                    return errors.OK
                if options.duration is not None and time.monotonic() - started >= options.duration:
                    return errors.OK
                if interval:
                    delay = next_time - time.monotonic()
                    if delay > 0 and self.control.stop.wait(delay):
                        break
                    next_time = max(next_time + interval, time.monotonic())
                frame = reader.read() if reader is not None else source.read()
                if frame is None:
                    return errors.OK
                self.maybe_reload()
                recent.append(time.monotonic())
                fps = (len(recent) - 1) / (recent[-1] - recent[0]) if len(recent) > 2 else None
                try:
                    self.process(frame, source, stabilizer, fps)
                except InvalidFrameError as error:
                    self.log(f"warning: skipping frame {frame.index} of {frame.name}: {error}")
                if options.verbose and time.monotonic() - last_report >= 10:
                    last_report = time.monotonic()
                    dropped = reader.dropped if reader is not None else 0
                    self.log(f"steady state: {fps or 0:.1f} fps processed, {self.processed} frames, "
                             f"{dropped} stale frames dropped, last latency "
                             f"{self.state.reading['latency_ms']['total']:.1f} ms")
        return self.control.exit_code

    def open_source(self) -> Source:
        if self.options.source == "auto":
            return resolve_auto(preview=bool(self.options.display or self.options.serve or self.options.save))
        return parse_source(self.options.source,
                            preview=bool(self.options.display or self.options.serve or self.options.save),
                            demo_fps=self.options.demo_fps, seed=self.options.seed)

    def run(self) -> int:
        started = time.perf_counter()
        try:
            self.load_model()
            source = self.open_source()
        except (ModelError, BackendError, SourceError) as error:
            self.log(f"error: {error}")
            return errors.INPUT
        except CameraError as error:
            self.log(f"error: {error}")
            return errors.CAMERA
        try:
            self.start_outputs()
        except (OSError, RuntimeError, ValueError) as error:
            self.log(f"error: {error}")
            self.stop_outputs()
            return errors.USAGE if isinstance(error, ValueError) else errors.FAILURE
        self.state.source = source.describe()
        attempt = 0
        try:
            while True:
                processed_before = self.processed
                try:
                    if source is None:  # reopening after a loss goes through the same retry path
                        source = self.open_source()
                    with source:
                        self.verbose(f"source: {source.describe()}; ready in "
                                     f"{(time.perf_counter() - started) * 1e3:.0f} ms since start")
                        code = self.stream(source)
                    return code
                except SourceError as error:
                    self.log(f"error: {error}")
                    return errors.INPUT
                except CameraError as error:
                    source = None
                    if self.control.stop.is_set():  # asked to stop while the camera hung: that's a stop
                        return self.control.exit_code
                    if self.processed == 0:
                        # Never delivered a frame: a wrong device or no camera. Say so now; a
                        # supervisor's restart covers a camera that is still coming up at boot.
                        self.log(f"error: {error}")
                        return errors.CAMERA
                    if self.processed > processed_before:
                        attempt = 0  # it worked for a while: a fresh series of retries
                    attempt += 1
                    if attempt > self.options.retries:
                        self.log(f"error: {error}; giving up after {attempt - 1} retries")
                        return errors.CAMERA
                    wait = min(30.0, 0.5 * 2 ** (attempt - 1))
                    self.log(f"warning: {error}; retry {attempt}/{self.options.retries} in {wait:.1f} s")
                    if self.control.stop.wait(wait):
                        return self.control.exit_code
        finally:
            self.stop_outputs()


def _scaled(reading: Reading, sx: float, sy: float) -> Reading:
    from dataclasses import replace

    digits = tuple(replace(d, box=(round(d.box[0] * sx), round(d.box[1] * sy), round(d.box[2] * sx),
                                   round(d.box[3] * sy))) for d in reading.digits)
    return replace(reading, digits=digits)


def run(options: Options, control: Control | None = None, out=None, err=None) -> int:
    """Run ``digit-cam`` with ``options``; returns its exit code."""
    return Runner(options, control, out, err).run()


__all__ = ["Control", "LiveState", "Options", "Runner", "Stabilizer", "frame_record", "run"]
