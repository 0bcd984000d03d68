"""Newest-frame reading of a live ``digit-cam`` source: ``with LatestFrame(camera) as reader: reader.read()``.

A camera keeps producing frames while a frame is being recognised; reading them in order would
make the output lag further and further behind. A background thread keeps only the newest one,
and a source that goes silent for ``timeout`` seconds counts as a lost camera.
"""

from __future__ import annotations

import threading
import time

from edge.cam.sources import FRAME_TIMEOUT_S, CameraError, Frame, Source, SourceError


class LatestFrame:
    """Reads a live source on a background thread and hands out only the newest frame, so a
    slow consumer always works on the present rather than a growing backlog."""

    def __init__(self, source: Source, timeout: float = FRAME_TIMEOUT_S):
        self.source = source
        self.timeout = timeout
        self.dropped = 0
        self._frame: Frame | None = None
        self._error: BaseException | None = None
        self._condition = threading.Condition()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="frame-grabber", daemon=True)

    def __enter__(self) -> LatestFrame:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        with self._condition:
            self._stopping = True
            self._condition.notify_all()
        self._thread.join(timeout=max(2.0, self.timeout))
        if self._thread.is_alive():
            self.source.hung = True  # see edge.cam.sources.Source.__exit__

    def _run(self) -> None:
        while True:
            with self._condition:
                if self._stopping:
                    return
            try:
                frame = self.source.read()
            except BaseException as error:  # handed to the consumer thread, which decides
                with self._condition:
                    self._error = error
                    self._condition.notify_all()
                return
            with self._condition:
                if self._frame is not None:
                    self.dropped += 1
                self._frame = frame
                self._condition.notify_all()
                if frame is None:
                    return

    def read(self) -> Frame | None:
        """The newest frame not yet handed out; CameraError when none comes within ``timeout``."""
        with self._condition:
            deadline = time.monotonic() + self.timeout
            while self._frame is None and self._error is None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise CameraError(f"{self.source.describe()}: no frame for {self.timeout:.0f} s")
                self._condition.wait(remaining)
            if self._frame is not None:
                frame, self._frame = self._frame, None
                return frame
            error = self._error
        if isinstance(error, (CameraError, SourceError)):
            raise error
        raise CameraError(f"{self.source.describe()}: {error}") from error
