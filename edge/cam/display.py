"""``digit-cam --display``: a local preview window (needs a desktop).

An OpenCV window when OpenCV has GUI support; the ``edge`` extra installs the headless OpenCV (the
Pi service needs no GUI libraries), so there ``--source picamera`` shows picamera2's own Qt window
with the boxes and digits as an overlay (:func:`overlay_rgba`), and other sources say what to do.
Kept apart so the GUI calls stay at the edge of the code; every failure says what to do instead.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import sys

import numpy as np

from edge.errors import JobError

WINDOW = "digit-cam"
HINT = ("--display needs a desktop session and either --source picamera (picamera2's own preview window) or "
        "OpenCV with GUI support (pip uninstall opencv-python-headless && pip install 'opencv-python<4.12' in "
        "the virtualenv, 'opencv-python' on trixie). Without a screen, use --serve PORT and open the page in "
        "a browser (over an SSH tunnel from a laptop)")


class DisplayError(JobError, RuntimeError):
    """The preview window cannot be opened here; the message says what to use instead."""


def gui_backend(build_information: str) -> str | None:
    """The GUI backend named in ``cv2.getBuildInformation()`` ("GTK3", "QT5"...), None when headless."""
    match = re.search(r"^\s*GUI:\s*(\S+)", build_information, re.M)
    if match is None or match.group(1).upper() == "NONE":
        return None
    return match.group(1)


@functools.cache
def opencv_has_gui() -> bool:
    """Whether this OpenCV can open windows (opencv-python-headless cannot)."""
    import cv2

    return gui_backend(cv2.getBuildInformation()) is not None


def require_display() -> None:
    """Raise :class:`DisplayError` when there is no desktop session to open a window on."""
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        raise DisplayError(f"no display found (DISPLAY and WAYLAND_DISPLAY are unset). {HINT}")


def overlay_rgba(reading, size: tuple[int, int]) -> np.ndarray:
    """Boxes, digits and the text of ``reading`` on a transparent (H, W, 4) RGBA canvas of ``size``
    (the frame's (width, height)), for picamera2's preview window, which scales it to fit."""
    from edge.overlay import draw_reading

    width, height = size
    drawn = draw_reading(np.zeros((height, width, 3), np.uint8), reading)  # BGR on black
    alpha = np.where(drawn.any(axis=2), 255, 0).astype(np.uint8)  # black stays see-through
    return np.dstack([drawn[..., ::-1], alpha])


def open_window() -> None:
    """Open the OpenCV preview window, or raise :class:`DisplayError` explaining why it cannot be done."""
    require_display()
    import cv2

    if not opencv_has_gui():
        raise DisplayError(f"this OpenCV is headless (no GUI support). {HINT}")

    try:
        cv2.namedWindow(WINDOW, cv2.WINDOW_NORMAL)
    except cv2.error as error:
        raise DisplayError(f"OpenCV cannot open a window ({str(error).strip().splitlines()[-1]}). {HINT}") from error


def show(image) -> bool:
    """Show ``image``; True when the user pressed q/Esc or closed the window."""
    import cv2

    cv2.imshow(WINDOW, image)
    key = cv2.waitKey(1) & 0xFF
    closed = cv2.getWindowProperty(WINDOW, cv2.WND_PROP_VISIBLE) < 1
    return key in (ord("q"), 27) or closed


def close_window() -> None:
    import cv2

    with contextlib.suppress(cv2.error):
        cv2.destroyWindow(WINDOW)
