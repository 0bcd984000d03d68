"""``python -m devtools.finder_profile``: the digit finder's time, beside round 1's and step by step.

Issue 10's speed target: a 640x480 frame with 6 digits is found no slower than by the round-1
finder (``git show a259d60:edge/preprocess.py``), and every step's cost is known. This script:

1. renders ``--scenes`` seeded scenes of each ``--kind`` (default plain paper, 6 digits, 640x480)
   with :func:`edge.scenes.render_scene`;
2. times :func:`edge.preprocess.find_digits` and the round-1 finder on the same frames, interleaved
   frame by frame and round by round (the order alternates), so a change of load on a shared
   machine hits both sides; the claim is their ratio. The round-1 module is loaded from git into a
   temporary module; without git (or outside the repository) that part is skipped with a message.
   ``--against REV`` times the finder of another revision instead (the commit before a change);
3. times each step of the current finder by wrapping the module's functions for the duration of
   a separate pass (exclusive time: a step's own time, without the steps it calls). Nothing in
   :mod:`edge.preprocess` is changed, so the instrumentation costs nothing when this script is not
   running. Crops for boxes, joins and splits come from the same two functions; their time is
   shared out by crop count.

OpenCV runs on one thread (``cv2.setNumThreads(1)``), as on a Pi core. Prints a Markdown table, or
JSON with ``--json``. A script to run by hand, not a timed test.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

from devtools.common import cpu_name, scene_kind
from edge import preprocess
from edge.clikit import positive_int, run_main, seed
from edge.scenes import KINDS, SINGLE_KINDS, load_digit_pool, render_scene

REPO = Path(__file__).resolve().parents[1]
ROUND1_REV = "a259d60"  # the round-1 finder the speed target compares with
DEFAULT_SEED = 2026

# Functions of edge.preprocess timed as steps, in pipeline order: function name -> step name.
# A name missing from the module (renamed by a later change) is simply not timed; its time then
# shows up in its caller's row.
STEPS: dict[str, str] = {
    "find_digits": "glue (find_digits, ink_map, crops_of)",
    "ink_map": "glue (find_digits, ink_map, crops_of)",
    "_ink_and_lines": "glue (find_digits, ink_map, crops_of)",
    "to_gray": "grey",
    "crop_roi": "grey",
    "is_two_level": "two-level test",
    "two_level_polarity": "two-level test",
    "estimate_background": "background median",
    "page_background": "page edges",
    "page_area": "desk",
    "erase_cell_frames": "cell frames",
    "detect_polarity": "polarity",
    "ink_contrast": "contrast",
    "ink_mask": "threshold",
    "strip_frame": "border frames",
    "find_rules": "rule detection",
    "erase_rules": "rule erasing",
    "remove_ruled_lines": "rule erasing",
    "stroke_width": "stroke width",
    "pen_width": "stroke width",
    "has_blob": "blob test",
    "holds_blob": "blob test",
    "encloses_writing": "blob test",
    "candidate_boxes": "components + filters",
    "boxes_and_ink": "components + filters",
    "cell_frames": "cell frames",
    "border_huggers": "border huggers",
    "border_contact": "cut by edge",
    "_merge_broken_strokes": "merge broken strokes",
    "reading_order": "reading order",
    "page_skew": "reading order",
    "small_for_line": "reading order",
    "continue_lines": "reading order",
    "boxes_without_specks": "specks",
    "without_specks": "specks",
    "join_candidates": "join candidates",
    "split_lattice": "split candidates",
    "cut_paths": "split candidates",
    "span_ink": "split candidates",
    "digit_ink": "crops",
    "normalize_digit": "crops",
    "normalize_stroke": "crops",
    "level_ink": "crops",
}
CROP_STEP = "crops"


@dataclass(frozen=True)
class StepCost:
    step: str
    calls_per_frame: float
    ms_per_frame: float
    share: float  # of the instrumented find_digits time


@dataclass(frozen=True)
class KindProfile:
    kind: str
    frames: int
    rounds: int
    current_ms: float  # mean over frames of each frame's median time, uninstrumented
    against_ms: float | None  # the same for the finder compared with (--against); None when not loaded
    ratio: float | None  # current / against
    instrumented_ms: float  # find_digits with the step timers on (slightly slower)
    steps: list[StepCost]
    crops_per_frame: dict[str, float]  # boxes, joins, splits


def finder_label(rev: str) -> str:
    """How messages name the finder at ``rev``: the round-1 finder, or the finder at that revision."""
    return "round-1 finder" if rev == ROUND1_REV else f"finder at {rev}"


def load_finder(rev: str = ROUND1_REV, repo: Path = REPO) -> tuple[types.ModuleType | None, str]:
    """The ``edge/preprocess.py`` at ``rev`` (default round 1's) as a fresh module (not registered
    in ``sys.modules``), and a message; ``(None, why)`` when git, the revision or its finder is not
    available (an old finder may import what ``edge`` no longer has)."""
    label = finder_label(rev)
    if rev.startswith("-"):
        return None, f"{label} not loaded: a revision cannot start with '-'"
    try:
        source = subprocess.run(["git", "-C", str(repo), "show", f"{rev}:edge/preprocess.py"],
                                capture_output=True, text=True, check=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError) as error:
        detail = getattr(error, "stderr", "") or error
        return None, f"{label} not loaded (git show {rev}:edge/preprocess.py failed: {str(detail).strip()})"
    name = f"_finder_{rev}"
    module = types.ModuleType(name)
    module.__file__ = f"{rev}:edge/preprocess.py"
    sys.modules[name] = module  # dataclasses look their module up while the class is built
    try:
        exec(compile(source, module.__file__, "exec"), module.__dict__)  # noqa: S102 - our own history
    except Exception as error:  # noqa: BLE001 - any failure of old code is a message, not a traceback
        return None, f"{label} not loaded ({type(error).__name__} running {rev}:edge/preprocess.py: {error})"
    finally:
        del sys.modules[name]
    return module, f"{label} loaded from git ({rev})"


def render_frames(kind: str, scenes: int, seed_value: int, digits: int, width: int, height: int) -> list[np.ndarray]:
    """``scenes`` seeded frames of ``kind``; ``digits`` per frame where the kind takes a count."""
    pool = load_digit_pool()
    rng = np.random.default_rng(seed_value)
    count = None if kind in SINGLE_KINDS else digits
    return [render_scene(rng, pool, width=width, height=height, n_digits=count, kind=kind).image
            for _ in range(scenes)]


def side_by_side(frames: list[np.ndarray], finders: dict[str, Callable], rounds: int) -> dict[str, float]:
    """Mean over frames of each frame's median ms, per finder; the finders run on each frame one
    after the other, in an order that rotates with the frame and the round."""
    names = list(finders)
    for frame in frames:  # warm-up: first calls allocate
        for name in names:
            finders[name](frame)
    samples = {name: [[] for _ in frames] for name in names}
    for round_index in range(rounds):
        for index, frame in enumerate(frames):
            shift = (index + round_index) % len(names)
            for name in names[shift:] + names[:shift]:
                started = time.perf_counter()
                finders[name](frame)
                samples[name][index].append((time.perf_counter() - started) * 1e3)
    return {name: float(np.mean([statistics.median(times) for times in per_frame]))
            for name, per_frame in samples.items()}


class StepTimer:
    """Exclusive time per step of :mod:`edge.preprocess` while :meth:`installed` is active."""

    def __init__(self, module: types.ModuleType = preprocess, steps: dict[str, str] = STEPS):
        self.module = module
        self.steps = {name: step for name, step in steps.items() if callable(getattr(module, name, None))}
        self.ms: dict[str, float] = {}
        self.calls: dict[str, int] = {}
        self._stack: list[float] = []  # time spent in callees of each open call

    def _wrap(self, function: Callable, step: str) -> Callable:
        @functools.wraps(function)
        def timed(*args, **kwargs):
            self._stack.append(0.0)
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                elapsed = (time.perf_counter() - started) * 1e3
                inner = self._stack.pop()
                self.ms[step] = self.ms.get(step, 0.0) + elapsed - inner
                self.calls[step] = self.calls.get(step, 0) + 1
                if self._stack:
                    self._stack[-1] += elapsed
        return timed

    @contextmanager
    def installed(self) -> Iterator[StepTimer]:
        originals = {name: getattr(self.module, name) for name in self.steps}
        try:
            for name, step in self.steps.items():
                setattr(self.module, name, self._wrap(originals[name], step))
            yield self
        finally:
            for name, function in originals.items():
                setattr(self.module, name, function)


def step_costs(frames: list[np.ndarray], rounds: int) -> tuple[list[StepCost], float, dict[str, float]]:
    """Per-step cost of :func:`edge.preprocess.find_digits` on ``frames`` (``rounds`` passes):
    the steps in pipeline order, the instrumented total ms per frame, and crops per frame."""
    for frame in frames:  # warm-up
        preprocess.find_digits(frame)
    timer = StepTimer()
    counts = {"boxes": 0, "joins": 0, "splits": 0}
    with timer.installed():
        for _ in range(rounds):
            for frame in frames:
                found = preprocess.find_digits(frame)
                counts["boxes"] += len(found.boxes)
                counts["joins"] += sum(len(a.crops) for a in found.joins)
                counts["splits"] += sum(len(a.crops) for a in found.splits)
    runs = rounds * len(frames)
    total = sum(timer.ms.values())
    order = list(dict.fromkeys(timer.steps.values()))
    rows = []
    for step in order:
        if step not in timer.ms:
            continue
        if step == CROP_STEP and sum(counts.values()):
            crops = sum(counts.values())
            for source, count in counts.items():  # one crop costs the same whichever list it is for
                ms = timer.ms[step] * count / crops
                rows.append(StepCost(f"crops: {source}", count / runs, ms / runs, ms / total))
            continue
        rows.append(StepCost(step, timer.calls[step] / runs, timer.ms[step] / runs, timer.ms[step] / total))
    return rows, total / runs, {source: count / runs for source, count in counts.items()}


def profile_kind(kind: str, *, scenes: int, rounds: int, seed_value: int, digits: int, width: int, height: int,
                 against: types.ModuleType | None) -> KindProfile:
    frames = render_frames(kind, scenes, seed_value, digits, width, height)
    finders: dict[str, Callable] = {"current": preprocess.find_digits}
    if against is not None:
        finders["against"] = against.find_digits
    times = side_by_side(frames, finders, rounds)
    steps, instrumented, crops = step_costs(frames, max(1, rounds // 2))
    old = times.get("against")
    return KindProfile(kind, len(frames), rounds, times["current"], old,
                       times["current"] / old if old else None, instrumented, steps, crops)


def machine() -> dict:
    cpu = cpu_name()
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "numpy": np.__version__, "opencv": cv2.__version__, "opencv_threads": cv2.getNumThreads(),
            "load_average_at_start": [round(v, 2) for v in os.getloadavg()]}


def format_table(profiles: list[KindProfile], baseline: str = ROUND1_REV) -> str:
    """Markdown: the side-by-side line (against the finder at git revision ``baseline``) and the
    step table of each kind."""
    name = "round 1" if baseline == ROUND1_REV else baseline
    out = []
    for p in profiles:
        size = "" if p.kind in SINGLE_KINDS else " 640x480"
        head = f"**{p.kind}**{size}, {p.frames} scenes x {p.rounds} rounds: current {p.current_ms:.2f} ms/frame"
        if p.against_ms is not None:
            head += f", {name} {p.against_ms:.2f} ms/frame, ratio {p.ratio:.2f}"
        out += [head, "", "| step | calls/frame | ms/frame | share |", "| --- | ---: | ---: | ---: |"]
        out += [f"| {s.step} | {s.calls_per_frame:.1f} | {s.ms_per_frame:.3f} | {s.share:.1%} |" for s in p.steps]
        out += [f"| total (step timers on) | | {p.instrumented_ms:.3f} | 100% |", ""]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.finder_profile", description=__doc__.splitlines()[0])
    parser.add_argument("--kind", action="append", type=scene_kind, metavar="KIND",
                        help=f"scenes to profile, repeatable: {', '.join(KINDS)}, or all (default plain)")
    parser.add_argument("--scenes", type=positive_int, default=20, help="scenes per kind (default %(default)s)")
    parser.add_argument("--rounds", type=positive_int, default=10,
                        help="timed passes over the scenes; the step table takes half as many (default %(default)s)")
    parser.add_argument("--digits", type=positive_int, default=6,
                        help="digits per scene, for kinds that take a count (default %(default)s)")
    parser.add_argument("--width", type=positive_int, default=640, help="camera kinds' width (default %(default)s)")
    parser.add_argument("--height", type=positive_int, default=480, help="camera kinds' height (default %(default)s)")
    parser.add_argument("--seed", type=seed, default=DEFAULT_SEED, help="scene seed (default %(default)s)")
    parser.add_argument("--against", metavar="REV", default=ROUND1_REV,
                        help="time the finder of this git revision beside the current one, e.g. the commit "
                             f"before a change (default {ROUND1_REV}: round 1's, the speed target's reference)")
    parser.add_argument("--no-against", "--no-round1", action="store_true", help="time only the current finder")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)
    wanted = set(args.kind or ["plain"])
    kinds = list(KINDS) if "all" in wanted else [k for k in KINDS if k in wanted]

    def body() -> None:
        cv2.setNumThreads(1)
        host = machine()
        against, message = ((None, f"{finder_label(args.against)} not timed (--no-against)") if args.no_against
                            else load_finder(args.against))
        print(message, file=sys.stderr)
        profiles = [profile_kind(kind, scenes=args.scenes, rounds=args.rounds, seed_value=args.seed,
                                 digits=args.digits, width=args.width, height=args.height, against=against)
                    for kind in kinds]
        if args.json:
            print(json.dumps({"machine": host, "against": args.against if against else None,
                              "kinds": [asdict(p) for p in profiles]}, indent=2))
        else:
            print(format_table(profiles, args.against))

    return run_main(body, prog=parser.prog)


if __name__ == "__main__":
    raise SystemExit(main())
