"""``python -m devtools.collect_overhead``: the live loop's frame time with and without ``--collect``.

The issue's target is "with --collect on, the frame time stays within 5 % of without, measured side
by side". Both runs replay the same pre-rendered demo frames through :class:`edge.cam.live.Runner`
(``--emit all``: every frame's digits are collected, the worst case), in interleaved rounds
(off, on, off, on, ...) so a change of load on a shared machine hits both sides. The frame time
is what the loop spends per frame: recognition plus outputs (including ``Collector.offer``);
the writer thread's PNG work runs beside it, on the other core when there is one.
Prints one JSON object; a script to run by hand, not a timed test.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from edge.cam.live import Runner
from edge.cam.options import Options
from edge.cam.sources import DemoSource, Frame, Source
from edge.clikit import non_negative_float, positive_int, run_main


class Replay(Source):
    """The same frames every run: read as files are (every frame processed and reported) when
    ``fps`` is 0, else paced like a camera (a live source: readings reported when new and stable)."""

    name = "replay"

    def __init__(self, frames: list[Frame], fps: float = 0.0):
        self.frames = frames
        self.interval = 1.0 / fps if fps > 0 else 0.0
        self.live = fps > 0
        self._index = 0
        self._next_time = time.monotonic()

    def read(self) -> Frame | None:
        if self._index >= len(self.frames) and not self.live:
            return None
        if self.interval:
            time.sleep(max(0.0, self._next_time - time.monotonic()))
            self._next_time = max(self._next_time + self.interval, time.monotonic())
        frame = self.frames[min(self._index, len(self.frames) - 1)]  # a camera never ends
        self._index += 1
        return frame


class TimedRunner(Runner):
    """A Runner that records how long each frame's ``process`` took (ms)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.frame_ms: list[float] = []

    def process(self, *args, **kwargs) -> None:
        started = time.perf_counter()
        super().process(*args, **kwargs)
        self.frame_ms.append((time.perf_counter() - started) * 1e3)


def demo_frames(count: int, seed: int = 0) -> list[Frame]:
    with DemoSource(seed=seed, fps=0) as source:
        return [source.read() for _ in range(count)]


def one_run(frames: list[Frame], collect: str | None, fps: float) -> tuple[list[float], int]:
    """Per-frame ms of one pass over ``frames``, and the crops in the folder after it."""
    # A live run stops by frame count (a camera that ended would be reopened, as a lost one is).
    limit = len(frames) - 5 if fps > 0 else None
    options = Options(emit="changes", json=True, collect=collect, collect_max=10**9, frames=limit, retries=0)
    runner = TimedRunner(options, out=io.StringIO(), err=io.StringIO(),
                         open_source=lambda _o: Replay(frames, fps))
    runner.run()
    written = 0
    if collect:
        csv_path = Path(collect) / "collected.csv"
        written = max(0, len(csv_path.read_text().splitlines()) - 1) if csv_path.exists() else 0
    return runner.frame_ms[2:], written  # the first frames warm caches up


def measure(frames: int, rounds: int, fps: float) -> dict:
    """``fps`` 0: every frame reported and collected as fast as it can go (the worst case);
    else a camera's pace, where only new stable readings are reported and collected."""
    images = demo_frames(frames)
    off: list[float] = []
    on: list[float] = []
    written = 0
    with tempfile.TemporaryDirectory() as folder:
        for _ in range(rounds):
            off += one_run(images, None, fps)[0]
            times, written = one_run(images, str(Path(folder) / "crops"), fps)
            on += times
    median_off, median_on = statistics.median(off), statistics.median(on)
    return {"fps": fps, "frames_per_run": frames, "rounds": rounds,
            "median_frame_ms_without": round(median_off, 3), "median_frame_ms_with": round(median_on, 3),
            "mean_frame_ms_without": round(float(np.mean(off)), 3), "mean_frame_ms_with": round(float(np.mean(on)), 3),
            "ratio_median": round(median_on / median_off, 4), "crops_written_total": written}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.collect_overhead", description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=positive_int, default=150, help="frames per run (default %(default)s)")
    parser.add_argument("--rounds", type=positive_int, default=4, help="off/on pairs (default %(default)s)")
    parser.add_argument("--fps", type=non_negative_float, default=15.0,
                        help="camera pace; 0 = every frame reported and collected, unpaced (default %(default)s)")
    args = parser.parse_args(argv)

    def body() -> None:
        print(json.dumps(measure(args.frames, args.rounds, args.fps), indent=2))

    return run_main(body, prog=parser.prog)


if __name__ == "__main__":
    raise SystemExit(main())
