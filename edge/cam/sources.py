"""Frame sources of ``digit-cam --source``: picamera2, OpenCV cameras, files, folders, demo.

``with parse_source("demo") as source: frame = source.read()``. A source is anything with
``read() -> Frame | None`` (None: the stream ended), ``close()``, ``live`` and ``describe()``,
usable with ``with``; the loop reads a live one through :class:`edge.cam.latest.LatestFrame`.
Hardware libraries are imported inside the source that needs them.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from edge import errors
from edge.constants import MAX_IMAGE_PIXELS
from edge.errors import InputError
from edge.images import ImageFileError, ImageTooLargeError, read_image

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".pgm", ".ppm", ".pbm"}
VIDEO_SUFFIXES = {".mp4", ".avi", ".mkv", ".mov", ".m4v", ".webm", ".mjpg", ".mjpeg", ".h264"}
DEMO_FPS = 15.0  # --source demo's frame rate: a typical USB/Pi camera's at 640x480 in room light
FRAME_TIMEOUT_S = 5.0  # a live source silent this long is lost: 75 missed frames at 15 fps, no hiccup


SERVICE = "digit-cam"  # the systemd unit deploy/install.sh installs


class SourceError(InputError):
    """A file or folder source cannot be read (missing, not an image/video)."""


class CameraError(errors.CameraError):
    """A camera cannot be opened, or stopped delivering frames."""


def service_active(name: str = SERVICE) -> bool:
    """Whether systemd runs ``name`` right now (False off systemd, or inside that service)."""
    if os.environ.get("INVOCATION_ID") or shutil.which("systemctl") is None:
        return False  # INVOCATION_ID: we are a systemd service ourselves
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        return subprocess.run(["systemctl", "is-active", "--quiet", name], timeout=5,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0
    return False


def camera_busy_hint(error_text: str = "", active: Callable[[], bool] | None = None) -> str:
    """What to do when a camera will not open: name the service that probably holds it."""
    busy = any(word in error_text.lower() for word in ("busy", "acquire"))
    if (active or service_active)():
        return (f"The {SERVICE} service is running and probably holds the camera: watch it with "
                f"`journalctl -u {SERVICE} -f` (its page: ssh -L 8080:127.0.0.1:8080 to this Pi, then "
                f"http://127.0.0.1:8080/), or stop it to run by hand: sudo systemctl stop {SERVICE}")
    if busy:
        return "The camera is busy: another program (or a second digit-cam) uses it; stop that first"
    return "If another program (or a second digit-cam) uses it, stop that first"


@dataclass
class Frame:
    """One frame and where it came from."""

    image: np.ndarray  # as captured: BGR (OpenCV, files), YUV420 (picamera2 lores), ...
    pixel_format: str  # how edge.preprocess should read ``image``
    index: int  # 0-based position in the stream
    timestamp: float  # time.time() at capture
    name: str  # file path for files; the source's name otherwise
    capture_ms: float  # time spent obtaining the frame
    preview: np.ndarray | None = None  # a BGR image for display/streaming, when nicer than ``image``
    truth: str | None = None  # the known text (demo scenes only)


class Source:
    """Base class: context management and a description; subclasses implement ``read``."""

    live = False  # a camera-like stream (drop stale frames, retry when lost)
    name = "source"

    def open(self) -> Source:
        return self

    def read(self) -> Frame | None:  # pragma: no cover - abstract
        raise NotImplementedError

    def close(self) -> None:
        pass

    def describe(self) -> str:
        return self.name

    def __enter__(self) -> Source:
        return self.open()

    def __exit__(self, *exc) -> None:
        if getattr(self, "hung", False):
            # A reader thread is still inside read(): releasing the device under it could crash
            # the driver. Leave it to process exit (the supervisor restarts us).
            return
        self.close()


class OpenCVCamera(Source):
    """A V4L2/USB camera (index or /dev/videoN) or a network stream, through OpenCV."""

    live = True

    def __init__(self, device: int | str, size: tuple[int, int] | None = None):
        self.device = device
        self.size = size
        self.name = f"camera {device}"
        self._capture = None
        self._index = 0

    def open(self) -> OpenCVCamera:
        capture = _quiet_capture(self.device)
        if not capture.isOpened():
            capture.release()
            hint = ("list cameras with `v4l2-ctl --list-devices` (or `ls /dev/video*`), and check that "
                    "this user is in the 'video' group")
            raise CameraError(f"camera {self.device!r} could not be opened: {hint}; with no camera, try "
                              f"--source demo or an image file. {camera_busy_hint()}")
        if self.size:
            capture.set(cv2.CAP_PROP_FRAME_WIDTH, self.size[0])
            capture.set(cv2.CAP_PROP_FRAME_HEIGHT, self.size[1])
        self._capture = capture
        return self

    def read(self) -> Frame:
        frame = _read_capture(self._capture, self._index, self.name)
        if frame is None:
            raise CameraError(f"camera {self.device!r} stopped delivering frames")
        self._index += 1
        return frame

    def close(self) -> None:
        _release(self)


def _read_capture(capture, index: int, name: str) -> Frame | None:
    """The next BGR frame of an OpenCV capture, or None when it delivers none."""
    started = time.perf_counter()
    ok, image = capture.read()
    if not ok or image is None:
        return None
    return Frame(image, "bgr", index, time.time(), name, (time.perf_counter() - started) * 1e3)


def _release(source) -> None:
    if source._capture is not None:
        source._capture.release()
        source._capture = None


def _quiet_capture(device: int | str):
    """cv2.VideoCapture without OpenCV's own WARN lines for a missing device: the CameraError
    raised by the caller says the same thing, with what to do about it."""
    logging = getattr(getattr(cv2, "utils", None), "logging", None)
    if logging is None:
        return cv2.VideoCapture(device)
    previous = logging.getLogLevel()
    logging.setLogLevel(logging.LOG_LEVEL_ERROR)
    try:
        return cv2.VideoCapture(device)
    finally:
        logging.setLogLevel(previous)


class VideoFileSource(Source):
    """Every frame of a video file, in order (nothing is dropped: a file is not a live camera)."""

    def __init__(self, path: Path):
        self.path = path
        self.name = str(path)
        self._capture = None
        self._index = 0

    def open(self) -> VideoFileSource:
        if not self.path.is_file():
            raise SourceError(f"video file {self.path} not found")
        capture = cv2.VideoCapture(str(self.path))
        if not capture.isOpened():
            capture.release()
            raise SourceError(f"{self.path} could not be opened as a video (unsupported codec or not a video)")
        width, height = (int(capture.get(prop)) for prop in (cv2.CAP_PROP_FRAME_WIDTH, cv2.CAP_PROP_FRAME_HEIGHT))
        if width * height > MAX_IMAGE_PIXELS:
            capture.release()
            raise SourceError(f"{self.path} has {width}x{height} frames, over the "
                              f"{MAX_IMAGE_PIXELS / 1e6:.0f} MP limit: scale it down first")
        self._capture = capture
        return self

    def read(self) -> Frame | None:
        frame = _read_capture(self._capture, self._index, self.name)
        if frame is not None:
            self._index += 1
        return frame

    def close(self) -> None:
        _release(self)


class ImageSource(Source):
    """One image file, or every image in a folder (sorted by name). Files that are not readable
    images are skipped with a warning; a single unreadable file is an error."""

    def __init__(self, path: Path, warn=None):
        self.path = path
        self.name = str(path)
        self._warn = warn or (lambda message: print(f"warning: {message}", file=sys.stderr))
        self._files: list[Path] = []
        self._position = 0
        self._index = 0
        self.skipped: list[Path] = []

    def open(self) -> ImageSource:
        if self.path.is_dir():
            self._files = sorted(p for p in self.path.iterdir() if p.is_file() and not p.name.startswith("."))
            if not self._files:
                raise SourceError(f"folder {self.path} has no files")
        elif self.path.is_file():
            self._files = [self.path]
        else:
            raise SourceError(f"{self.path} not found")
        return self

    def read(self) -> Frame | None:
        while self._position < len(self._files):
            path = self._files[self._position]
            self._position += 1
            started = time.perf_counter()
            try:  # the shared reader: size checked from the header before decoding, alpha flattened
                image = read_image(path)
            except ImageTooLargeError:
                if not self.path.is_dir():
                    raise
                self._warn(f"skipping {path}: over the {MAX_IMAGE_PIXELS / 1e6:.0f} MP limit")
                self.skipped.append(path)
                continue
            except ImageFileError:
                if not self.path.is_dir():
                    raise SourceError(f"{path} is not a readable image (supported: "
                                      f"{', '.join(sorted(IMAGE_SUFFIXES))})") from None
                self._warn(f"skipping {path}: not a readable image")
                self.skipped.append(path)
                continue
            if image.ndim == 2:
                image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
            frame = Frame(image, "bgr", self._index, time.time(), str(path),
                          (time.perf_counter() - started) * 1e3)
            self._index += 1
            return frame
        return None

    def describe(self) -> str:
        what = f"folder of {len(self._files)} file(s)" if self.path.is_dir() else "image"
        return f"{what} {self.path}"


class DemoSource(Source):
    """An endless stream of synthetic paper scenes (``edge.scenes``), paced like a camera."""

    live = True
    name = "demo"

    def __init__(self, seed: int = 0, fps: float = DEMO_FPS, size: tuple[int, int] = (640, 480),
                 hold_frames: int = 5):
        self.seed = seed
        self.interval = 1.0 / fps if fps > 0 else 0.0
        self.size = size
        self.hold_frames = hold_frames  # each scene is "held in front of the camera" this long
        self._stream = None
        self._scene = None
        self._index = 0
        self._next_time = 0.0
        self._rng = None

    def open(self) -> DemoSource:
        from edge.scenes import load_digit_pool, scene_stream

        self._stream = scene_stream(self.seed, load_digit_pool(), width=self.size[0], height=self.size[1])
        self._rng = np.random.default_rng(self.seed + 1)
        self._next_time = time.monotonic()
        return self

    def read(self) -> Frame:
        delay = self._next_time - time.monotonic()
        if delay > 0:  # pacing: a camera's frame interval, not capture work
            time.sleep(delay)
        self._next_time = max(self._next_time + self.interval, time.monotonic())
        started = time.perf_counter()
        if self._scene is None or self._index % self.hold_frames == 0:
            self._scene = next(self._stream)
        # A camera never sees the same frame twice: fresh sensor noise on every frame.
        noise = self._rng.normal(0, 2.0, self._scene.image.shape).astype(np.float32)
        image = np.clip(self._scene.image + noise, 0, 255).astype(np.uint8)
        frame = Frame(image, "bgr", self._index, time.time(), self.name,
                      (time.perf_counter() - started) * 1e3, truth=self._scene.text)
        self._index += 1
        return frame

    def describe(self) -> str:
        return f"demo: synthetic {self.size[0]}x{self.size[1]} paper scenes (seed {self.seed})"


def parse_source(spec: str, *, preview: bool = False, demo_fps: float = DEMO_FPS, seed: int = 0,
                 picamera=None) -> Source:
    """``--source`` text -> an unopened source. ``auto`` is resolved by :func:`resolve_auto`;
    ``picamera`` is an :class:`edge.cam.picam.PiCameraSettings` for ``--source picamera``."""
    if spec == "picamera":
        from edge.cam.picam import PiCameraSettings, PicameraSource

        return PicameraSource(picamera or PiCameraSettings(preview=preview))
    if spec == "demo":
        return DemoSource(seed=seed, fps=demo_fps)
    if spec.isdigit():
        return OpenCVCamera(int(spec))
    if spec.startswith("/dev/video") or "://" in spec:
        return OpenCVCamera(spec)
    path = Path(spec)
    if path.is_dir():
        return ImageSource(path)
    if path.suffix.lower() in VIDEO_SUFFIXES:
        return VideoFileSource(path)
    if path.suffix.lower() in IMAGE_SUFFIXES or path.exists():
        return ImageSource(path)
    raise SourceError(f"--source {spec!r} is not 'auto', 'picamera', 'demo', a camera index, /dev/videoN, "
                      "or an existing image, video or folder")


def resolve_auto(preview: bool = False, picamera=None) -> Source:
    """A Raspberry Pi camera module when picamera2 sees one, else OpenCV camera 0 (USB webcams,
    which picamera2 lists too, are opened there), else a clear error. A picamera2 that is installed
    but cannot load (numpy ABI clash) is an error, not a reason to look elsewhere."""
    from edge.cam.picam import PiCameraSettings, PicameraSource, import_failure, pi_modules

    reasons = []
    try:
        from picamera2 import Picamera2
    except ImportError:
        reasons.append("picamera2 is not installed")
    except Exception as error:  # ValueError: numpy.dtype size changed
        raise import_failure(error) from error
    else:
        try:
            cameras = Picamera2.global_camera_info()
        except Exception as error:  # libcamera can fail in many ways off a Pi
            cameras = []
            reasons.append(f"picamera2 failed: {error}")
        if pi_modules(cameras):
            return PicameraSource(picamera or PiCameraSettings(preview=preview))
        if cameras:
            reasons.append("picamera2 sees only USB webcams")
        elif not reasons:
            reasons.append("picamera2 sees no camera")
    camera = OpenCVCamera(0)
    try:
        camera.open().close()
        return OpenCVCamera(0)
    except CameraError:
        reasons.append("no OpenCV camera 0")
    raise CameraError(f"no camera found ({'; '.join(reasons)}). Try --source demo to see it work on "
                      "synthetic scenes, or --source PATH for an image, video or folder")
