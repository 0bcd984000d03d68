"""Where ``digit-cam``'s readings go: stdout lines, ``--save`` files, ``--serve`` and ``--display``.

:class:`edge.cam.live.Runner` hands every processed frame to ``Outputs.deliver``; nothing here
decides *whether* a reading is worth reporting (that is the loop's :class:`Stabilizer`), only
how it is shown. GUI and HTTP code is imported only when its flag is given.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TextIO

import numpy as np

from edge.cam.collect import Collector
from edge.cam.options import Options
from edge.cam.record import ReadingRecord
from edge.cam.server import LiveState, StreamingServer
from edge.cam.sources import Frame, Source, VideoFileSource
from edge.errors import DigitEdgeError, JobError
from edge.recognizer import Reading

JPEG_QUALITY = 80  # the --serve stream: small enough for Wi-Fi, digits still crisp


class OutputError(JobError):
    """An output cannot be set up: the --save folder cannot be made, the --serve port is taken."""


def encode_jpeg(image: np.ndarray, quality: int = JPEG_QUALITY) -> bytes | None:
    """BGR (H, W, 3) uint8 -> JPEG bytes, or None when OpenCV cannot encode it."""
    import cv2

    ok, buffer = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    return buffer.tobytes() if ok else None


def scaled(reading: Reading, sx: float, sy: float) -> Reading:
    """``reading`` with its boxes scaled by (sx, sy): lores-stream boxes drawn on the preview."""
    digits = tuple(replace(d, box=(round(d.box[0] * sx), round(d.box[1] * sy), round(d.box[2] * sx),
                                   round(d.box[3] * sy))) for d in reading.digits)
    return replace(reading, digits=digits)


def saved_name(frame: Frame, source: Source) -> str:
    """The file name ``--save`` gives the annotated picture of ``frame``."""
    if source.live:
        return f"frame-{frame.index:06d}.jpg"
    stem = Path(frame.name).stem if frame.name != source.name else "frame"
    if isinstance(source, VideoFileSource):
        return f"{stem}-{frame.index:06d}.annotated.png"
    # The whole file name: a.png and a.jpg in one folder must not overwrite each other's result.
    name = Path(frame.name).name if frame.name != source.name else "frame"
    return f"{name}.annotated.png"


class Outputs:
    """The outputs of one ``digit-cam`` session, set up by :meth:`start`, released by :meth:`stop`."""

    def __init__(self, options: Options, *, out: TextIO, log: Callable[[str], None],
                 state: LiveState | None = None):
        self.options = options
        self.out = out
        self.log = log
        self.state = state if state is not None else LiveState()  # what --serve shows
        self.server: StreamingServer | None = None
        self.window = False  # an OpenCV window
        self.source_window = False  # the source's own window (picamera2's preview) with an overlay
        self.emitted = 0
        self.collector: Collector | None = None  # --collect

    @property
    def wants_picture(self) -> bool:
        """Whether frames need annotating (drawing costs a few ms a frame, so only when shown)."""
        return self.server is not None or self.window or bool(self.options.save)

    def start(self, source: Source | None = None) -> None:
        """Make the --save folder, start the --serve server, open the --display window (or use
        ``source``'s own, which it opens with the camera)."""
        options = self.options
        try:
            if options.save:
                Path(options.save).mkdir(parents=True, exist_ok=True)
            if options.collect:
                self.collector = Collector(Path(options.collect), below=options.collect_below,
                                           max_files=options.collect_max, log=self.log)
                self.collector.start()
            if options.serve:
                from edge.cam.labeling import LabelStore
                from edge.cam.server import start_server

                labels = (LabelStore(self.collector.directory, self.collector.lock)
                          if self.collector is not None else None)
                self.server = start_server(options.serve, self.state, allow_remote=options.allow_remote,
                                           token=options.token, labels=labels)
                host, port = self.server.server_address[:2]
                self.log(f"serving http://{host}:{port}/ (stream, /reading, /healthz"
                         + (", /label" if labels is not None else "") + ")")
            if options.display and getattr(getattr(source, "settings", None), "window", False):
                self.source_window = True
            elif options.display:
                from edge.cam.display import open_window

                open_window()
                self.window = True
        except OSError as error:
            self.stop()
            raise OutputError(str(error)) from error
        except DigitEdgeError:
            self.stop()
            raise

    def stop(self) -> None:
        if self.collector is not None:
            self.collector.stop()
            self.log(self.collector.summary())
            self.collector = None
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None
        if self.window:
            from edge.cam.display import close_window

            close_window()
            self.window = False

    def deliver(self, frame: Frame, record: ReadingRecord, source: Source, *, emit: bool,
                fps: float | None) -> bool:
        """Show one processed frame everywhere it should go; ``emit`` also prints (and saves) it.
        True when the user closed the window (or pressed q), i.e. asked to stop."""
        annotated = self.annotate(frame, record.reading, fps) if self.wants_picture else None
        jpeg = encode_jpeg(annotated) if self.server is not None else None
        data = record.to_dict()
        self.state.publish(jpeg, data)
        if emit:
            line = json.dumps(data) if self.options.json else record.human_line()
            print(line, file=self.out, flush=True)
            self.emitted += 1
            if self.options.save:
                self.save(frame, annotated, source)
            if self.collector is not None:
                self.collector.offer(frame.image, frame.pixel_format, record.reading, source=record.name,
                                     frame=frame.index, timestamp=frame.timestamp)
        if self.window:
            from edge.cam.display import show

            return show(annotated)
        if self.source_window and hasattr(source, "show_overlay"):
            from edge.cam.display import overlay_rgba

            source.show_overlay(overlay_rgba(record.reading, record.reading.frame_size))
        return False

    def annotate(self, frame: Frame, reading: Reading, fps: float | None) -> np.ndarray:
        """The frame with boxes and digits drawn on it: BGR (H, W, 3) uint8."""
        from edge.overlay import draw_reading

        if frame.preview is not None:  # boxes are in lores coordinates: scale them to the preview
            image = frame.preview
            reading = scaled(reading, image.shape[1] / reading.frame_size[0],
                             image.shape[0] / reading.frame_size[1])
            return draw_reading(image, reading, fps=fps)
        return draw_reading(frame.image, reading, pixel_format=frame.pixel_format, fps=fps,
                            roi=self.options.roi)

    def save(self, frame: Frame, annotated: np.ndarray, source: Source) -> None:
        import cv2

        path = Path(self.options.save) / saved_name(frame, source)
        if not cv2.imwrite(str(path), annotated):
            self.log(f"warning: could not write {path}")
