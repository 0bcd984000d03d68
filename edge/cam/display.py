"""``digit-cam --display``: a local OpenCV window (needs a desktop and non-headless OpenCV).

Kept apart so the GUI calls stay at the edge of the code; every failure says what to do instead.
"""

from __future__ import annotations

import contextlib
import os
import sys

from edge.errors import JobError

WINDOW = "digit-cam"
HINT = ("--display needs a desktop session and OpenCV with GUI support (pip install opencv-python "
        "instead of opencv-python-headless, or Raspberry Pi OS's python3-opencv). Without a screen, "
        "use --serve PORT and open the page in a browser (over an SSH tunnel from a laptop)")


class DisplayError(JobError, RuntimeError):
    """The preview window cannot be opened here; the message says what to use instead."""


def open_window() -> None:
    """Open the preview window, or raise :class:`DisplayError` explaining why it cannot be done."""
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        raise DisplayError(f"no display found (DISPLAY and WAYLAND_DISPLAY are unset). {HINT}")
    import cv2

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
