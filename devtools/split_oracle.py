"""``python -m devtools.split_oracle``: are touching digits lost to the finder's cuts or the classifier?

For every wide box the finder offers cuts for (a :class:`~edge.preprocess.Lattice`) that holds two
or more drawn digits of a seeded scene, it asks whether some way through the cuts has pieces that
match those digits one by one (IoU at least ``--min-iou``) and, if so, whether the classifier reads
every such piece right. Each box lands in one row:

- ``no way``: no way through the cuts matches the digits -- better cuts are needed;
- ``misread``: a matching way exists, but the classifier misreads a piece of every one;
- ``read, scene wrong``: a matching way reads right, yet the scene's string is wrong (the
  recogniser chose another way, or the mistake is elsewhere in the scene);
- ``read, scene right``.

numpy/OpenCV/TFLite only, like :mod:`devtools.evaluate`.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Sequence

import numpy as np

from devtools.common import scene_kind
from devtools.evaluate import DEFAULT_SEED, iou
from edge import errors
from edge.clikit import positive_int, probability, run_main, seed
from edge.preprocess import Box, find_digits
from edge.recognizer import Recognizer
from edge.scenes import KINDS, Scene, load_digit_pool, render_scene

ROWS = ("no way", "misread", "read, scene wrong", "read, scene right")
HELD = 0.6  # a drawn digit is in a box when this share of its columns is


def matching_way(spans: Sequence[tuple[int, int]], boxes: Sequence[Box], truth: Sequence[Box], end: int,
                 min_iou: float, right: Sequence[bool] | None = None) -> bool:
    """Whether a way through a lattice (``spans`` between cuts 0 and ``end``, with piece ``boxes``)
    has one piece per ``truth`` box, left to right, each overlapping its digit by ``min_iou``;
    with ``right`` (per span), only pieces the classifier reads right count."""
    reached = {(0, 0)}  # (cut, digits matched so far)
    for k in sorted(range(len(spans)), key=lambda k: spans[k]):
        first, last = spans[k]
        if right is not None and not right[k]:
            continue
        for index, digit in enumerate(truth):
            if (first, index) in reached and iou(boxes[k], digit) >= min_iou:
                reached.add((last, index + 1))
    return (end, len(truth)) in reached


def held_digits(box: Box, scene: Scene) -> list:
    """The scene's drawn digits whose columns lie mostly within ``box``, left to right."""
    x, _, w, _ = box
    inside = [d for d in scene.digits
              if min(d.box[0] + d.box[2], x + w) - max(d.box[0], x) > HELD * d.box[2] and iou(d.box, box) > 0]
    return sorted(inside, key=lambda d: d.box[0])


def examine(recognizer: Recognizer, scene: Scene, min_iou: float) -> list[str]:
    """The row (one of :data:`ROWS`) of each lattice of ``scene`` that holds two or more digits."""
    found = find_digits(scene.image, config=recognizer.find_config)
    scene_right = None  # read only if a box gets that far: the read finds the digits again
    rows = []
    for lattice in found.splits:
        digits = held_digits(found.boxes[lattice.index], scene)
        if len(digits) < 2:
            continue
        truth = [d.box for d in digits]
        if not matching_way(lattice.spans, lattice.boxes, truth, lattice.cuts + 1, min_iou):
            rows.append(ROWS[0])
            continue
        labels = recognizer.classify(lattice.crops).argmax(axis=1)
        # A piece is read right when it reads as a digit it matches.
        right = [any(iou(piece, d.box) >= min_iou and int(label) == d.label for d in digits)
                 for piece, label in zip(lattice.boxes, labels, strict=True)]
        if not matching_way(lattice.spans, lattice.boxes, truth, lattice.cuts + 1, min_iou, right):
            rows.append(ROWS[1])
            continue
        if scene_right is None:
            scene_right = recognizer.read(scene.image).text == scene.text
        rows.append(ROWS[3] if scene_right else ROWS[2])
    return rows


def oracle(recognizer: Recognizer, kind: str, scenes: int, seed: int, min_iou: float) -> dict:
    """Counts of :data:`ROWS` over ``scenes`` seeded scenes of ``kind``."""
    pool = load_digit_pool()
    rng = np.random.default_rng(seed)
    counts: Counter = Counter()
    for _ in range(scenes):
        counts.update(examine(recognizer, render_scene(rng, pool, kind=kind), min_iou))
    return {"kind": kind, "scenes": scenes, "boxes": sum(counts.values()), **{row: counts[row] for row in ROWS}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.split_oracle", description=__doc__.splitlines()[0],
                                     epilog=errors.EPILOG)
    parser.add_argument("--model", help="TFLite model (default: the bundled int8 release model)")
    parser.add_argument("--kind", type=scene_kind, default="touching",
                        help=f"scenes to render: {', '.join(KINDS)} (default %(default)s)")
    parser.add_argument("--scenes", type=positive_int, default=150, help="number of scenes (default %(default)s)")
    parser.add_argument("--seed", type=seed, default=DEFAULT_SEED, help="scene seed (default %(default)s)")
    parser.add_argument("--min-iou", type=probability, default=0.6,
                        help="how well a piece must overlap its digit to match it (default %(default)s)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)
    if args.kind == "all":
        parser.error("--kind all is not supported here: name one kind")

    def body() -> None:
        result = oracle(Recognizer.from_path(args.model), args.kind, args.scenes, args.seed, args.min_iou)
        if args.json:
            print(json.dumps(result, indent=2))
            return
        print(f"{result['kind']}: {result['scenes']} scenes, {result['boxes']} boxes of two or more digits with cuts")
        for row in ROWS:
            print(f"  {row:<20}{result[row]:>6}")
        sys.stdout.flush()

    return run_main(body, prog=parser.prog)


if __name__ == "__main__":
    raise SystemExit(main())
