"""One ``digit-cam`` reading as a typed record: ``ReadingRecord.of(frame, reading, source, stable)``.

:class:`edge.cam.outputs.Outputs` prints it (``to_dict()`` as JSON for ``--json``,
:meth:`ReadingRecord.human_line` otherwise) and publishes ``to_dict()`` to the ``--serve`` page.
``to_dict`` is the documented format, ``docs/reading.schema.json``: its key order and rounding
are part of the contract, so a consumer diffing two runs sees only real changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edge.cam.sources import Frame
from edge.recognizer import Reading

SCHEMA_VERSION = 1  # bump when a field of to_dict() changes meaning or goes away


@dataclass(frozen=True)
class Latency:
    """Milliseconds spent on one frame, rounded to microseconds as they are printed."""

    capture: float
    preprocess: float
    inference: float
    total: float  # capture + preprocess + inference


@dataclass(frozen=True)
class ReadingRecord:
    """A reading of one frame, with where and when the frame came from."""

    source: str  # the source's name for cameras, its description for files and folders
    name: str  # the file the frame came from; the source's name for cameras
    frame: int  # 0-based index in the stream
    timestamp: float  # capture time, seconds since the epoch, rounded to ms
    stable: bool  # unchanged for --stable-frames frames (always True for files)
    reading: Reading
    latency: Latency
    truth: str | None = None  # the digits really shown (demo scenes only)

    @classmethod
    def of(cls, frame: Frame, reading: Reading, source: str, stable: bool) -> ReadingRecord:
        timings = reading.timings
        latency = Latency(
            capture=round(frame.capture_ms, 3),
            preprocess=round(timings.preprocess_ms, 3),
            inference=round(timings.inference_ms, 3),
            # The total adds the capture to the rounded recognition total, as it always has.
            total=round(frame.capture_ms + round(timings.total_ms, 3), 3),
        )
        return cls(source=source, name=frame.name, frame=frame.index, timestamp=round(frame.timestamp, 3),
                   stable=stable, reading=reading, latency=latency, truth=frame.truth)

    @property
    def text(self) -> str:
        return self.reading.text

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of ``docs/reading.schema.json`` (schema 1), keys in documented order."""
        data = self.reading.to_dict()
        record: dict[str, Any] = {
            "schema": SCHEMA_VERSION,
            "source": self.source,
            "name": self.name,
            "frame": self.frame,
            "timestamp": self.timestamp,
            "text": data["text"],
            "stable": self.stable,
            "digits": data["digits"],
            "polarity": data["polarity"],
            "frame_size": data["frame_size"],
            "latency_ms": {"capture": self.latency.capture, "preprocess": self.latency.preprocess,
                           "inference": self.latency.inference, "total": self.latency.total},
        }
        if self.truth is not None:
            record["truth"] = self.truth
        return record

    def human_line(self) -> str:
        """One line of ``digit-cam``'s text output, e.g. ``[page1.png #0] 42   (2 digits, …)``."""
        where = f"[{Path(self.name).name} #{self.frame}]"
        digits = self.reading.digits
        if not digits:
            return f"{where} no digits"
        lowest = min(round(d.confidence, 4) for d in digits)  # the printed (rounded) confidences
        line = (f"{where} {self.text}   ({len(digits)} digit{'s' * (len(digits) != 1)}, lowest confidence "
                f"{lowest:.0%}, {self.latency.total:.1f} ms)")
        if self.truth is not None:
            line += "  ✓" if self.truth == self.text else f"  (shown: {self.truth})"
        return line
