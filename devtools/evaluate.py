"""``python -m devtools.evaluate``: accuracy of the whole pipeline on synthetic scenes or real images.

With ``--images DIR`` it reads the labelled real images of ``DIR/labels.csv`` instead
(:mod:`devtools.realeval`). Without it:

Renders a fixed, seeded set of scenes of each ``--kind`` (default 500 plain-paper scenes at
640x480; ``--kind all`` for every kind of :data:`edge.scenes.KINDS`, each reported on its own) with
:func:`edge.scenes.render_scene`, reads each with a :class:`edge.recognizer.Recognizer`, and
reports digit-level accuracy (a ground-truth digit counts as read when exactly one detected box
overlaps it and its label is right) and whole-string accuracy (the reading's text equals the
scene's text exactly). numpy/OpenCV/TFLite only: runs on the Pi too.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from devtools.common import scene_kind
from edge import errors
from edge.clikit import positive_int, probability, run_main
from edge.constants import MIN_CONFIDENCE
from edge.interpreter import BackendError
from edge.recognizer import Reading, Recognizer
from edge.scenes import KINDS, Scene, load_digit_pool, render_scene, resolve_kind

DEFAULT_SEED = 2026
DEFAULT_SCENES = 500


@dataclass(frozen=True)
class SceneScore:
    digits: int  # ground-truth digits in the scene
    digits_correct: int
    detections: int  # boxes the recognizer reported
    string_correct: bool


@dataclass(frozen=True)
class EvaluationResult:
    kind: str  # which scenes (edge.scenes.KINDS)
    scenes: int
    digits: int
    digit_accuracy: float
    string_accuracy: float
    detection_precision: float  # detected boxes that match a real digit
    mean_preprocess_ms: float
    mean_inference_ms: float
    failures: list  # (scene index, expected text, read text) of the wrong strings


def iou(a, b) -> float:
    """Intersection over union of two (x, y, w, h) boxes; 0 when they do not overlap."""
    ax0, ay0, aw, ah = a
    bx0, by0, bw, bh = b
    ix = max(0, min(ax0 + aw, bx0 + bw) - max(ax0, bx0))
    iy = max(0, min(ay0 + ah, by0 + bh) - max(ay0, by0))
    inter = ix * iy
    return inter / float(aw * ah + bw * bh - inter) if inter else 0.0


def score_scene(scene: Scene, reading: Reading, min_iou: float = 0.5) -> SceneScore:
    """Match detections to ground truth one-to-one by IoU and count correct labels."""
    used = set()
    correct = 0
    for truth in scene.digits:
        best, best_iou = None, min_iou
        for index, found in enumerate(reading.digits):
            overlap = iou(truth.box, found.box)
            if index not in used and overlap >= best_iou:
                best, best_iou = index, overlap
        if best is not None:
            used.add(best)
            correct += reading.digits[best].value == truth.label
    return SceneScore(len(scene.digits), correct, len(reading.digits), reading.text == scene.text)


def evaluate(recognizer: Recognizer, *, scenes: int = DEFAULT_SCENES, seed: int = DEFAULT_SEED,
             width: int = 640, height: int = 480, ruled: bool = False, kind: str | None = None,
             progress=None) -> EvaluationResult:
    """Score ``recognizer`` on ``scenes`` seeded scenes of ``kind`` (default: plain, or ruled paper
    when ``ruled``). Every kind starts from the same ``seed``, so plain and ruled scenes are the
    ones they always were."""
    kind = resolve_kind(kind, ruled)
    pool = load_digit_pool()
    rng = np.random.default_rng(seed)
    scores, failures, pre, inf = [], [], [], []
    for index in range(scenes):
        scene = render_scene(rng, pool, width=width, height=height, kind=kind)
        reading = recognizer.read(scene.image)
        score = score_scene(scene, reading)
        scores.append(score)
        pre.append(reading.timings.preprocess_ms)
        inf.append(reading.timings.inference_ms)
        if not score.string_correct:
            failures.append((index, scene.text, reading.text))
        if progress is not None:
            progress(1)
    digits = sum(s.digits for s in scores)
    detections = sum(s.detections for s in scores)
    correct = sum(s.digits_correct for s in scores)
    return EvaluationResult(
        kind=kind, scenes=scenes, digits=digits, digit_accuracy=correct / max(1, digits),
        string_accuracy=sum(s.string_correct for s in scores) / max(1, scenes),
        detection_precision=correct / max(1, detections),
        mean_preprocess_ms=float(np.mean(pre)), mean_inference_ms=float(np.mean(inf)),
        failures=failures)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.evaluate", description=__doc__.splitlines()[0],
                                     epilog=errors.EPILOG)
    parser.add_argument("--model", help="TFLite model (default: the bundled int8 release model)")
    parser.add_argument("--scenes", type=positive_int, default=DEFAULT_SCENES, help="number of scenes (default 500)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"scene seed (default {DEFAULT_SEED})")
    parser.add_argument("--min-confidence", type=probability, default=MIN_CONFIDENCE,
                        help=f"reject threshold: digits below it read as '?' (default {MIN_CONFIDENCE})")
    parser.add_argument("--kind", action="append", type=scene_kind, metavar="KIND",
                        help=f"scenes to render, repeatable, each reported separately: {', '.join(KINDS)}, or all "
                             "(default plain)")
    parser.add_argument("--ruled", action="store_true", help="notebook paper: the same as --kind ruled")
    parser.add_argument("--images", type=Path, metavar="DIR",
                        help="evaluate on real images instead: DIR/labels.csv lists file,text,kind; reports "
                             "exact and digit accuracy overall and per kind, and the confusion matrix")
    parser.add_argument("--gallery", type=Path, metavar="OUT",
                        help="with --images: write OUT/index.html showing every failure (boxes, the crops the "
                             "model saw with their top-3, the truth)")
    parser.add_argument("--semeion", action="store_true",
                        help="evaluate on the held-out Semeion writers instead (train/semeion.py: real European "
                             "hands, three crops of each of 199 digits, the crops every training run reports); "
                             "needs the MNIST training files for the digits' proportions")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)
    if args.semeion and (args.images is not None or args.kind or args.ruled):
        parser.error("--semeion reads the held-out Semeion crops; it takes no --images, --kind or --ruled")
    if args.gallery is not None and args.images is None:
        parser.error("--gallery needs --images")
    if args.images is not None and (args.kind or args.ruled):
        parser.error("--kind and --ruled choose synthetic scenes; --images reads its kinds from labels.csv")
    return run_main(lambda: _run(args), prog="python -m devtools.evaluate",
                    exit_codes={BackendError: errors.INPUT})


def _run(args: argparse.Namespace) -> int:
    recognizer = Recognizer.from_path(args.model, min_confidence=args.min_confidence)
    if args.images is not None:
        return _evaluate_images(recognizer, args)
    if args.semeion:
        return _evaluate_semeion(recognizer, args)
    kinds = _requested_kinds(args.kind, args.ruled)
    results = [evaluate(recognizer, scenes=args.scenes, seed=args.seed, kind=kind) for kind in kinds]
    if args.json:
        print(json.dumps({result.kind: asdict(result) for result in results}, indent=2))
        return errors.OK
    print(f"{args.scenes} scenes per kind (seed {args.seed}; camera kinds 640x480, drawings 200-500 px, "
          "crops 28-96 px)")
    print(format_table(results))
    for result in results:
        for index, expected, read in result.failures[:15 if len(results) == 1 else 5]:
            print(f"  {result.kind} scene {index}: expected {expected!r}, read {read!r}")
    return errors.OK


def _requested_kinds(kinds: list[str] | None, ruled: bool) -> list[str]:
    """The kinds to report, in KINDS order, each once: ``--ruled`` adds ``ruled``, ``all`` every kind,
    nothing at all means plain paper."""
    wanted = set(kinds or [])
    if ruled:
        wanted.add("ruled")
    if "all" in wanted:
        return list(KINDS)
    return [kind for kind in KINDS if kind in wanted] or ["plain"]


def format_table(results: list[EvaluationResult]) -> str:
    """A Markdown table, one row per kind: what the README's figures are copied from."""
    lines = ["| kind | scenes | digits | digit accuracy | string accuracy | detection precision | ms per image |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in results:
        lines.append(f"| {r.kind} | {r.scenes} | {r.digits} | {r.digit_accuracy:.2%} | {r.string_accuracy:.2%} | "
                     f"{r.detection_precision:.2%} | {r.mean_preprocess_ms + r.mean_inference_ms:.2f} |")
    return "\n".join(lines)


def _evaluate_semeion(recognizer: Recognizer, args: argparse.Namespace) -> int:
    from train.mnist import load_mnist
    from train.semeion import held_out_crops, held_out_score, load_semeion

    mnist = load_mnist()
    crops = held_out_crops(load_semeion(), mnist.train.images, mnist.train.labels)
    predictions = recognizer.classify(crops.images).argmax(axis=1)
    wrong = Counter((int(t), int(p)) for t, p in zip(crops.labels, predictions, strict=True) if t != p)
    result = {**held_out_score(crops, predictions),
              "confusions": [{"truth": t, "read": p, "count": n} for (t, p), n in wrong.most_common()]}
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"held-out Semeion writers: {result['accuracy']:.2%} of {result['crops']} crops "
              f"({result['dropped']} renders not cut as one digit)")
        for item in result["confusions"][:8]:
            print(f"  {item['truth']} read as {item['read']}: {item['count']}")
    return errors.OK


def _evaluate_images(recognizer: Recognizer, args: argparse.Namespace) -> int:
    from devtools import realeval

    gallery = realeval.Gallery(args.gallery) if args.gallery else None
    scores = realeval.evaluate_images(recognizer, args.images, on_image=gallery.add if gallery else None)
    summary = realeval.summarize(scores)
    text = realeval.format_summary(summary)
    if gallery is not None:
        page = gallery.write(text)
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(f"{len(scores)} images in {args.images}")
        print(text)
        for failure in summary["failures"][:40]:
            print(f"  {failure['file']} ({failure['kind']}): expected {failure['truth']!r}, read {failure['read']!r}")
    if gallery is not None:
        print(f"gallery of {len(gallery.entries)} failures: {page}", file=sys.stderr)
    return errors.OK


if __name__ == "__main__":
    sys.exit(main())
