"""``python -m devtools.collect_overhead``: the live loop's frame time with and without ``--collect``.

The issue's target is "with --collect on, the frame time stays within 5 % of without, measured side
by side". Both runs replay the same pre-rendered demo frames through :class:`edge.cam.live.Runner`
at each ``--fps`` (0: every frame read as a file is, all its digits collected, unpaced: the worst
case), in rounds of an off and an on run whose order alternates (off/on, on/off, ...), so a change
of load on a shared machine, or a cost of going second, hits both sides alike. Each round gives
the ratio of its two median frame times; the result is the median of those ratios (one noisy
round cannot move it), with their spread. The frame time is what the loop spends per frame:
recognition plus outputs (including ``Collector.offer``), wall clock; the loop thread's own CPU
time per frame is reported beside it. The writer thread's PNG work runs beside the loop, on the
other core when there is one; crops it dropped (queue full) are counted, so a fast result cannot
come from collecting less. Prints one JSON object (``--out`` also writes it, e.g.
docs/collect-overhead.json); a script to run by hand, not a timed test.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
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
    """A Runner that records how long each frame's ``process`` took (ms): wall clock, and CPU
    time of the loop's own thread (which waiting for the CPU or the GIL does not count)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.frame_ms: list[float] = []
        self.frame_cpu_ms: list[float] = []

    def process(self, *args, **kwargs) -> None:
        started, cpu = time.perf_counter(), time.thread_time()
        super().process(*args, **kwargs)
        self.frame_ms.append((time.perf_counter() - started) * 1e3)
        self.frame_cpu_ms.append((time.thread_time() - cpu) * 1e3)


@dataclass(frozen=True)
class RunResult:
    """One pass over the frames."""

    frame_ms: list[float]  # wall clock per frame, warm-up frames left out
    frame_cpu_ms: list[float]  # the loop thread's CPU time per frame
    written: int  # crops in the folder after the run (all runs so far)
    dropped: int  # crops the collector dropped in this run (queue full)


WARMUP_FRAMES = 2  # the first frames warm caches up
DROPPED = re.compile(r"(\d+) dropped")


def demo_frames(count: int, seed: int = 0) -> list[Frame]:
    with DemoSource(seed=seed, fps=0) as source:
        return [source.read() for _ in range(count)]


def one_run(frames: list[Frame], collect: str | None, fps: float) -> RunResult:
    """One pass over ``frames`` with or without collecting into the folder ``collect``."""
    # A live run stops by frame count (a camera that ended would be reopened, as a lost one is).
    limit = len(frames) - 5 if fps > 0 else None
    options = Options(emit="changes", json=True, collect=collect, collect_max=10**9, frames=limit, retries=0)
    err = io.StringIO()
    runner = TimedRunner(options, out=io.StringIO(), err=err, open_source=lambda _o: Replay(frames, fps))
    runner.run()
    written = dropped = 0
    if collect:
        csv_path = Path(collect) / "collected.csv"
        written = max(0, len(csv_path.read_text().splitlines()) - 1) if csv_path.exists() else 0
        dropped = sum(int(n) for n in DROPPED.findall(err.getvalue()))
    return RunResult(runner.frame_ms[WARMUP_FRAMES:], runner.frame_cpu_ms[WARMUP_FRAMES:], written, dropped)


def ratio_summary(ratios: list[float]) -> dict:
    """Median of per-round ratios, and their spread (quartiles when there are enough rounds)."""
    quartiles = statistics.quantiles(ratios, n=4) if len(ratios) >= 2 else [ratios[0]] * 3
    return {"median": round(statistics.median(ratios), 4), "q1": round(quartiles[0], 4),
            "q3": round(quartiles[2], 4), "min": round(min(ratios), 4), "max": round(max(ratios), 4)}


def measure(frames: int, rounds: int, fps: float) -> dict:
    """``fps`` 0: every frame reported and collected as fast as it can go (the worst case);
    else a camera's pace, where only new stable readings are reported and collected."""
    images = demo_frames(frames)
    off: list[float] = []
    on: list[float] = []
    ratios: list[float] = []
    cpu_ratios: list[float] = []
    written = dropped = 0
    with tempfile.TemporaryDirectory() as folder:
        for round_number in range(rounds):
            order = (False, True) if round_number % 2 == 0 else (True, False)
            runs = {collect: one_run(images, str(Path(folder) / "crops") if collect else None, fps)
                    for collect in order}
            without, with_ = runs[False], runs[True]
            off += without.frame_ms
            on += with_.frame_ms
            ratios.append(statistics.median(with_.frame_ms) / statistics.median(without.frame_ms))
            cpu_ratios.append(statistics.median(with_.frame_cpu_ms) / statistics.median(without.frame_cpu_ms))
            written, dropped = with_.written, dropped + with_.dropped
    median_off, median_on = statistics.median(off), statistics.median(on)
    return {"fps": fps, "frames_per_run": frames, "rounds": rounds,
            "median_frame_ms_without": round(median_off, 3), "median_frame_ms_with": round(median_on, 3),
            "mean_frame_ms_without": round(float(np.mean(off)), 3), "mean_frame_ms_with": round(float(np.mean(on)), 3),
            "ratio": ratio_summary(ratios), "loop_cpu_ratio": ratio_summary(cpu_ratios),
            "crops_written_total": written, "crops_dropped_total": dropped}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.collect_overhead", description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=positive_int, default=150, help="frames per run (default %(default)s)")
    parser.add_argument("--rounds", type=positive_int, default=12,
                        help="off/on pairs, alternating order (default %(default)s)")
    parser.add_argument("--fps", type=non_negative_float, action="append",
                        help="camera pace, repeatable; 0 = every frame reported and collected, unpaced "
                             "(default: 15 and 0)")
    parser.add_argument("--out", type=Path, help="also write the JSON here (e.g. docs/collect-overhead.json)")
    args = parser.parse_args(argv)

    def body() -> None:
        load = os.getloadavg() if hasattr(os, "getloadavg") else None
        result = {"command": " ".join([parser.prog, *(sys.argv[1:] if argv is None else argv)]),
                  "cpu_count": os.cpu_count(), "load_average_before": load and [round(x, 2) for x in load],
                  "scenarios": [measure(args.frames, args.rounds, fps) for fps in (args.fps or [15.0, 0.0])]}
        text = json.dumps(result, indent=2)
        print(text)
        if args.out:
            args.out.write_text(text + "\n")

    return run_main(body, prog=parser.prog)


if __name__ == "__main__":
    raise SystemExit(main())
