"""``digit-cam --source picamera``: the Raspberry Pi camera through picamera2.

``with PicameraSource(PiCameraSettings(lens_position=4.0)) as camera: frame = camera.read()``.
picamera2 (and libcamera) come from Raspberry Pi OS's apt and are imported only in ``open``. The
pure helpers below hold what was learnt from picamera2's own code and the hardware:

* ``Picamera2.global_camera_info()`` also lists USB webcams (with ``/usb`` in the ``Id``), sorted
  after the CSI modules; they cannot give the YUV420 'lores' stream, so they are opened with OpenCV.
* The ISP crops the sensor to the *main* stream's aspect ratio and scales that same crop to the
  lores size without keeping its aspect, so both streams must have one aspect ratio or digits are
  squashed (a 4:3 lores under a 16:9 main is 0.75x as wide).
* The video configuration pins ``FrameDurationLimits`` at 33.3 ms, which caps exposure; recognition
  runs at ~10 fps, so frames may be longer.
* Only autofocus modules (Camera Module 3) have the ``AfMode`` control, and they stay at their
  default lens position until asked: continuous autofocus, or a fixed ``LensPosition`` in dioptres.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from edge.cam.sources import CameraError, Frame, Source, camera_busy_hint
from edge.errors import DigitEdgeError, UsageError

PICAMERA_HINT = ("picamera2 comes from Raspberry Pi OS's apt, not PyPI: sudo apt install -y python3-picamera2, "
                 "and create the virtualenv with --system-site-packages so it is visible")
NUMPY_ABI_HINT = ("pip put a numpy into the virtualenv that apt's picamera2 helpers (simplejpeg, libcamera) "
                  "were not built for. Reinstall with apt's numpy pinned: sudo deploy/install.sh (it uses "
                  "deploy/constraints-bookworm.txt or constraints-trixie.txt), or by hand: "
                  "pip install -c deploy/constraints-bookworm.txt --force-reinstall 'numpy<2'")
LORES_WIDTH = 640  # recognition's frame width: digits 20+ px tall at 30 cm, ~10 ms a frame on a Pi 4
MAIN_WIDTH = 1280  # the preview stream (--serve/--save/--display), only read when one is wanted
MIN_FRAME_US = 33_333  # at most 30 fps: the shortest frame the video configuration asks for
# libcamera's AfModeEnum values (libcamera/control_ids_core.yaml); picamera2 accepts the ints.
AF_MANUAL, AF_CONTINUOUS = 0, 2
USB_ID_MARK = "/usb"  # in libcamera's Id of a UVC webcam: ".../usb1/1-1/1-1.2/1-1.2:1.0-046d:0825"


class LensPositionError(UsageError, ValueError):
    """``--lens-position`` is outside what this camera's lens can do."""


@dataclass(frozen=True)
class PiCameraSettings:
    """What ``digit-cam`` asks of a Pi camera module, from its flags."""

    lens_position: float | None = None  # dioptres (1/metres); None: continuous autofocus if present
    max_frame_ms: float = 100.0  # longest frame, i.e. the exposure cap in dim light
    preview: bool = False  # also read the full-size main stream (for --serve/--save/--display)
    window: bool = False  # show picamera2's own preview window (--display without GUI OpenCV)
    camera: int = 0  # which of the Pi camera modules (USB webcams not counted)


@dataclass(frozen=True)
class StreamSizes:
    """(width, height) of the main and lores streams; both have the sensor's aspect ratio."""

    main: tuple[int, int]
    lores: tuple[int, int]


def is_usb(info: dict) -> bool:
    """Whether one ``global_camera_info()`` entry is a USB webcam rather than a CSI module."""
    return USB_ID_MARK in str(info.get("Id", ""))


def pi_modules(cameras: Sequence[dict]) -> list[int]:
    """Positions in ``global_camera_info()`` (what ``Picamera2(n)`` takes) of the CSI modules."""
    return [position for position, info in enumerate(cameras) if not is_usb(info)]


def _even(value: float) -> int:
    return max(2, int(round(value / 2)) * 2)  # YUV420 needs even sizes


def stream_sizes(sensor: tuple[int, int], lores_width: int = LORES_WIDTH, main_width: int = MAIN_WIDTH) -> StreamSizes:
    """Main and lores sizes with the sensor's full field of view: 16:9 sensors (Camera Module 3,
    4608x2592) get 1280x720 + 640x360; 4:3 ones (v2, HQ, Global Shutter) 1280x960 + 640x480."""
    width, height = sensor
    aspect = width / height
    return StreamSizes(main=(main_width, _even(main_width / aspect)), lores=(lores_width, _even(lores_width / aspect)))


def frame_controls(settings: PiCameraSettings, camera_controls: dict[str, Any]) -> dict[str, Any]:
    """The libcamera controls to start with: longer frames allowed, and focus when the lens moves.

    ``camera_controls`` is ``Picamera2.camera_controls`` (name -> (min, max, default)). Raises
    :class:`LensPositionError` for a lens position the lens cannot reach."""
    max_us = max(MIN_FRAME_US, round(settings.max_frame_ms * 1000))
    controls: dict[str, Any] = {"FrameDurationLimits": (MIN_FRAME_US, max_us)}
    if "AfMode" not in camera_controls:
        return controls  # a fixed-focus module: focus is turned by hand
    if settings.lens_position is None:
        controls["AfMode"] = AF_CONTINUOUS
        return controls
    low, high = (float(v) for v in camera_controls.get("LensPosition", (0.0, 32.0, None))[:2])
    if not low <= settings.lens_position <= high:
        raise LensPositionError(f"--lens-position {settings.lens_position:g} is outside this lens's range "
                                f"{low:g}-{high:g} dioptres (1/distance in metres: 4 = 25 cm)")
    controls.update(AfMode=AF_MANUAL, LensPosition=float(settings.lens_position))
    return controls


def focus_words(controls: dict[str, Any]) -> str:
    if controls.get("AfMode") == AF_CONTINUOUS:
        return "continuous autofocus"
    if "LensPosition" in controls:
        return f"lens at {controls['LensPosition']:g} dioptres ({100 / max(controls['LensPosition'], 1e-3):.0f} cm)"
    return "fixed focus"


def import_failure(error: Exception) -> CameraError:
    """The error to report when ``import picamera2`` fails: a missing package, or apt's compiled
    helpers meeting a pip numpy they were not built for (``ValueError: numpy.dtype size changed``)."""
    text = f"{type(error).__name__}: {error}"
    if "numpy" in text.lower() or "dtype size changed" in text:
        return CameraError(f"picamera2 cannot load ({text}): {NUMPY_ABI_HINT}")
    return CameraError(f"picamera2 is not installed ({error}). {PICAMERA_HINT}")


def load_picamera2():
    """The ``Picamera2`` class; :class:`CameraError` saying how to fix it when it cannot load."""
    try:
        from picamera2 import Picamera2
    except ImportError as error:
        raise import_failure(error) from error
    except Exception as error:  # a numpy ABI clash raises ValueError from inside the import
        raise import_failure(error) from error
    return Picamera2


class PicameraSource(Source):
    """Raspberry Pi camera via picamera2: recognition on a small YUV420 'lores' stream (its Y
    plane is grey for free), the full-size 'main' stream only when a preview is wanted."""

    live = True
    name = "picamera"

    def __init__(self, settings: PiCameraSettings | None = None, warn: Callable[[str], None] | None = None):
        self.settings = settings or PiCameraSettings()
        self.preview = self.settings.preview
        self.camera_number = self.settings.camera
        self.sizes = stream_sizes((4, 3))  # replaced by the sensor's at open()
        self.controls: dict[str, Any] = {}
        self.model = ""
        self._warn = warn or (lambda message: print(f"warning: {message}", file=sys.stderr))
        self._camera = None
        self._index = 0

    @property
    def lores_size(self) -> tuple[int, int]:
        return self.sizes.lores

    def open(self) -> PicameraSource:
        picamera2 = load_picamera2()
        cameras = picamera2.global_camera_info()
        modules = pi_modules(cameras)
        if not modules:
            if cameras:
                raise CameraError("picamera2 sees only USB webcam(s), no Raspberry Pi camera module: open a "
                                  "webcam with --source 0 (or /dev/videoN), or --source auto")
            raise CameraError("no Raspberry Pi camera detected: check the ribbon cable (contacts facing "
                              "the right way, latch closed) and that `rpicam-hello --list-cameras` lists it")
        if self.camera_number >= len(modules):
            raise CameraError(f"there is no Raspberry Pi camera {self.camera_number} ({len(modules)} found)")
        position = modules[self.camera_number]
        self.model = str(cameras[position].get("Model", ""))
        camera = None
        try:
            camera = picamera2(position)
            self.sizes = stream_sizes(tuple(camera.sensor_resolution))
            self.controls = frame_controls(self.settings, camera.camera_controls)
            if self.settings.lens_position is not None and "LensPosition" not in self.controls:
                self._warn(f"{self.model or 'this camera'} has fixed focus: --lens-position is ignored (turn "
                           "the lens by hand)")
            config = camera.create_video_configuration(
                main={"size": self.sizes.main, "format": "RGB888"},  # RGB888 is BGR in numpy order
                lores={"size": self.sizes.lores, "format": "YUV420"},
                controls=self.controls)
            camera.configure(config)
            if self.settings.window:
                self._start_window(camera)
            camera.start()
        except DigitEdgeError:  # a lens position out of range, no preview window: said as they are
            self._release(camera)
            raise
        except Exception as error:  # libcamera raises RuntimeError, OSError, IndexError...
            self._release(camera)  # opened but not started: release it, or every retry finds it busy
            raise CameraError(f"the Raspberry Pi camera could not be started: {_chain(error)}. "
                              f"{camera_busy_hint(_chain(error))}") from error
        self._camera = camera
        return self

    @staticmethod
    def _release(camera) -> None:
        if camera is not None:
            with contextlib.suppress(Exception):
                camera.close()

    @staticmethod
    def _start_window(camera) -> None:
        """picamera2's own Qt/OpenGL window (it draws the main stream; no GUI OpenCV needed)."""
        from edge.cam.display import DisplayError, require_display

        require_display()
        try:
            from picamera2 import Preview

            camera.start_preview(Preview.QTGL)
        except Exception as error:
            raise DisplayError(f"picamera2's preview window cannot open ({error}): on Raspberry Pi OS "
                               "Desktop install its GUI parts with sudo apt install -y python3-pyqt5 "
                               "python3-opengl, or use --serve PORT and a browser") from error

    def show_overlay(self, overlay: np.ndarray) -> None:
        """Draw an RGBA (H, W, 4) overlay over picamera2's preview window (scaled to fit it)."""
        if self._camera is not None:
            self._camera.set_overlay(overlay)

    def read(self) -> Frame:
        started = time.perf_counter()
        try:
            request = self._camera.capture_request()
            try:
                lores = request.make_array("lores")
                main = request.make_array("main") if self.preview else None
            finally:
                request.release()
        except Exception as error:
            raise CameraError(f"the Raspberry Pi camera stopped delivering frames: {error}") from error
        frame = Frame(lores, "yuv420", self._index, time.time(), self.name,
                      (time.perf_counter() - started) * 1e3, preview=main)
        self._index += 1
        return frame

    def close(self) -> None:
        if self._camera is not None:
            try:
                self._camera.stop()
            finally:
                self._camera.close()
                self._camera = None

    def describe(self) -> str:
        width, height = self.lores_size
        what = f"{self.model} " if self.model else ""
        extra = f", {focus_words(self.controls)}" if self.controls else ""
        limit = self.controls.get("FrameDurationLimits")
        if limit:
            extra += f", frames up to {limit[1] / 1000:.0f} ms"
        return f"Raspberry Pi camera {self.camera_number} {what}(lores {width}x{height} YUV420{extra})"


def _chain(error: BaseException) -> str:
    """An exception's message with its causes: picamera2 wraps "Failed to acquire camera: Device or
    resource busy" in "Camera __init__ sequence did not complete."."""
    parts, seen = [], set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if str(error) and str(error) not in parts:
            parts.append(str(error))
        error = error.__cause__ or error.__context__
    return ": ".join(parts)
