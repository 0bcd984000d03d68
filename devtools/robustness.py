"""``python -m devtools.robustness``: the real-image dev set read again after changes that a
held-out set from other sources brings -- other resolutions, margins, tilt, perspective,
compression, focus, light, noise -- exact accuracy per kind for each.

A dev set tuned on long enough fits its own images; what it cannot show is how the recogniser
does on the next camera, scanner or drawing app. Perturbing the same labelled images is a cheap
stand-in: a step that only works at one scale or one margin shows up as a drop here. Writes
``docs/robustness.json`` and ``docs/robustness.md``. Takes a few minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Collection
from pathlib import Path

import cv2
import numpy as np

from devtools.common import DEV_SET, REPO_ROOT, percent_cell, write_report
from devtools.realeval import read_labels, score_image
from edge.clikit import run_main
from edge.preprocess import PAGE_PHOTO_PX
from edge.recognizer import Recognizer

Perturbation = Callable[[np.ndarray], np.ndarray]  # (H, W, 3) uint8 BGR -> (H', W', 3) uint8 BGR


def rescale(factor: float) -> Perturbation:
    """Another resolution: area averaging down (as a camera bins), bicubic up."""
    def apply(image: np.ndarray) -> np.ndarray:
        interpolation = cv2.INTER_AREA if factor < 1 else cv2.INTER_CUBIC
        height, width = image.shape[:2]
        size = (max(1, round(width * factor)), max(1, round(height * factor)))
        return cv2.resize(image, size, interpolation=interpolation)
    return apply


def paper_colour(image: np.ndarray) -> tuple[int, int, int]:
    """The median colour of the image's outermost pixels: what surrounds the writing."""
    border = np.concatenate([image[0], image[-1], image[:, 0], image[:, -1]])
    return tuple(int(v) for v in np.median(border, axis=0))


def rotate(degrees: float) -> Perturbation:
    """A tilted camera or page; the corners the turn uncovers are filled with the paper's colour."""
    def apply(image: np.ndarray) -> np.ndarray:
        height, width = image.shape[:2]
        matrix = cv2.getRotationMatrix2D((width / 2, height / 2), degrees, 1.0)
        return cv2.warpAffine(image, matrix, (width, height), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_CONSTANT, borderValue=paper_colour(image))
    return apply


def keystone(fraction: float) -> Perturbation:
    """A page tilted away from the camera: its top edge ``fraction`` of the width narrower on each
    side than its bottom (the uncovered corners in the paper's colour)."""
    def apply(image: np.ndarray) -> np.ndarray:
        height, width = image.shape[:2]
        corners = np.float32([[0, 0], [width, 0], [width, height], [0, height]])
        inset = fraction * width
        tilted = np.float32([[inset, 0], [width - inset, 0], [width, height], [0, height]])
        matrix = cv2.getPerspectiveTransform(corners, tilted)
        return cv2.warpPerspective(image, matrix, (width, height), flags=cv2.INTER_LINEAR,
                                   borderMode=cv2.BORDER_CONSTANT, borderValue=paper_colour(image))
    return apply


def out_of_focus(fraction: float) -> Perturbation:
    """A soft photo: Gaussian blur with a sigma of ``fraction`` of the shorter side (at least half
    a pixel), so a thumbnail and a 12-megapixel photo are blurred alike."""
    def apply(image: np.ndarray) -> np.ndarray:
        sigma = max(0.5, fraction * min(image.shape[:2]))
        return cv2.GaussianBlur(image, (0, 0), sigma)
    return apply


def margin(fraction: float) -> Perturbation:
    """More paper around the writing (a looser crop), in the paper's colour."""
    def apply(image: np.ndarray) -> np.ndarray:
        dy, dx = round(fraction * image.shape[0]), round(fraction * image.shape[1])
        return cv2.copyMakeBorder(image, dy, dy, dx, dx, cv2.BORDER_CONSTANT, value=paper_colour(image))
    return apply


def desk(fraction: float, shade: float = 0.45, seed: int = 0, sides: str = "top bottom left right") -> Perturbation:
    """The page lying on a darker, grainy desk that shows beyond it on ``sides`` (a looser photo of
    a sheet; two sides: the sheet off-centre, running out of the frame on the others).
    Images under :data:`edge.preprocess.PAGE_PHOTO_PX` on their shorter side -- crops and
    thumbnails, not photos of a page -- are left as they are."""
    shown = set(sides.split())
    if not shown or not shown <= {"top", "bottom", "left", "right"}:
        raise ValueError(f"sides must name some of top, bottom, left, right, got {sides!r}")

    def apply(image: np.ndarray) -> np.ndarray:
        if min(image.shape[:2]) < PAGE_PHOTO_PX:
            return image
        dy, dx = round(fraction * image.shape[0]), round(fraction * image.shape[1])
        top, left = dy * ("top" in shown), dx * ("left" in shown)
        height = image.shape[0] + top + dy * ("bottom" in shown)
        width = image.shape[1] + left + dx * ("right" in shown)
        rng = np.random.default_rng([seed, *image.shape])
        grain = cv2.GaussianBlur(rng.normal(0.0, 12.0, (height, width)).astype(np.float32), (0, 0), 3)
        colour = np.array(paper_colour(image), np.float32) * shade
        out = np.clip(colour[None, None, :] + grain[:, :, None], 0, 255).astype(np.uint8)
        out[top:top + image.shape[0], left:left + image.shape[1]] = image
        return out
    return apply


def squared_paper(pitch: float, depth: float = 0.25) -> Perturbation:
    """The writing on squared (graph) paper: printed lines every ``pitch`` x the shorter side,
    ``depth`` darker than what lies under them (so ink crossing a line stays darker than the line).
    Crops and thumbnails (under :data:`edge.preprocess.PAGE_PHOTO_PX`) are left as they are."""
    def apply(image: np.ndarray) -> np.ndarray:
        side = min(image.shape[:2])
        if side < PAGE_PHOTO_PX:
            return image
        # Lines at least 8 px apart (closer, they are texture, not squares), and as thick as a
        # printed line seen at this size: 1 px under 600 px, 2 under 1,000, and so on.
        step, thickness = max(8, round(pitch * side)), max(1, round(side / 400))
        lines = np.zeros(image.shape[:2], bool)
        for start in range(step // 2, image.shape[0], step):
            lines[start:start + thickness] = True
        for start in range(step // 2, image.shape[1], step):
            lines[:, start:start + thickness] = True
        shade = np.where(lines, np.float32(1.0 - depth), np.float32(1.0))[:, :, None]
        return np.clip(image.astype(np.float32) * shade, 0, 255).astype(np.uint8)
    return apply


def jpeg(quality: int) -> Perturbation:
    """A heavily compressed upload."""
    def apply(image: np.ndarray) -> np.ndarray:
        ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
        return cv2.imdecode(data, cv2.IMREAD_COLOR) if ok else image
    return apply


def dim(factor: float) -> Perturbation:
    """Less light: every pixel darker, contrast lower."""
    def apply(image: np.ndarray) -> np.ndarray:
        return np.clip(image.astype(np.float32) * factor, 0, 255).astype(np.uint8)
    return apply


def side_light(darkest: float) -> Perturbation:
    """Light falling off across the page, from ``darkest`` x on the left to full on the right."""
    def apply(image: np.ndarray) -> np.ndarray:
        ramp = np.linspace(darkest, 1.0, image.shape[1], dtype=np.float32)[None, :, None]
        return np.clip(image.astype(np.float32) * ramp, 0, 255).astype(np.uint8)
    return apply


def noise(sd: float, seed: int = 0) -> Perturbation:
    """Sensor noise, Gaussian with this standard deviation in grey levels, seeded per image size."""
    def apply(image: np.ndarray) -> np.ndarray:
        rng = np.random.default_rng([seed, *image.shape])
        return np.clip(image + rng.normal(0.0, sd, image.shape), 0, 255).astype(np.uint8)
    return apply


PERTURBATIONS: dict[str, Perturbation] = {
    "none": lambda image: image,
    "half size": rescale(0.5),
    "third size": rescale(0.35),
    "double size": rescale(2.0),
    "turned 5° left": rotate(5.0),
    "turned 8° right": rotate(-8.0),
    "tilted away (keystone 15%)": keystone(0.15),
    "30% more margin": margin(0.3),
    "on a dark desk": desk(0.15),
    "desk on two sides": desk(0.15, sides="top left"),
    "on squared paper": squared_paper(0.1),
    "JPEG quality 30": jpeg(30),
    "out of focus (blur 0.5%)": out_of_focus(0.005),
    "60% light": dim(0.6),
    "light falling off": side_light(0.55),
    "noise sd 12": noise(12.0),
}


def as_bgr(image: np.ndarray) -> np.ndarray:
    """Grey, BGR or BGRA (flattened by :func:`edge.images.read_image`) -> BGR."""
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    return image[:, :, :3] if image.shape[2] == 4 else image


def measure(recognizer: Recognizer, directory: Path, names: list[str], progress=None,
            kinds: Collection[str] | None = None) -> dict[str, dict]:
    """{perturbation: {kind: exact accuracy, "all": ..., "failures": [file, ...]}}, over the
    images of ``kinds`` only when given (the others are neither loaded nor read)."""
    from edge.images import read_image

    items = [item for item in read_labels(directory) if kinds is None or item.kind in kinds]
    images = [as_bgr(read_image(directory / item.file)) for item in items]
    results = {}
    for name in names:
        perturb = PERTURBATIONS[name]
        per_kind: dict[str, list[bool]] = {}
        failures = []
        for item, image in zip(items, images, strict=True):
            score = score_image(item, recognizer.read(perturb(image)), 0.0)
            per_kind.setdefault(item.kind, []).append(score.exact)
            if not score.exact:
                failures.append(item.file)
        row = {kind: float(np.mean(hits)) for kind, hits in sorted(per_kind.items())}
        row["all"] = float(np.mean([hit for hits in per_kind.values() for hit in hits]))
        results[name] = {**row, "failures": failures}
        if progress is not None:
            progress(f"{name}: {row['all']:.1%}")
    return results


def markdown(results: dict[str, dict], model: str) -> str:
    kinds = [k for k in next(iter(results.values())) if k != "failures"]
    lines = ["| image changed | " + " | ".join(kinds) + " |", "|" + " --- |" * (len(kinds) + 1)]
    base = results.get("none")
    for name, row in results.items():
        against = base if base and name != "none" else None
        cells = [percent_cell(row[kind], against and against[kind], hide_zero=True) for kind in kinds]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return (f"Generated by `python -m devtools.robustness` with {model}: the real-image dev set's "
            "exact accuracy per kind after each change to every image; in brackets, percentage "
            "points against the unchanged images.\n\n" + "\n".join(lines) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.robustness",
                                     description=__doc__.split("\n\n")[0].replace("``", ""))
    parser.add_argument("--model", help="TFLite model (default: the bundled int8 release model)")
    parser.add_argument("--images", type=Path, default=DEV_SET,
                        help="labelled real images (labels.csv: file,text,kind); default ../shared/data/realdigits-dev")
    parser.add_argument("--only", action="append", choices=list(PERTURBATIONS), metavar="NAME",
                        help="run only these changes, repeatable: " + ", ".join(PERTURBATIONS).replace("%", "%%"))
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "docs",
                        help="where robustness.json and robustness.md go (default docs/)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)

    def body() -> int:
        recognizer = Recognizer.from_path(args.model)
        results = measure(recognizer, args.images, args.only or list(PERTURBATIONS),
                          progress=lambda line: print(line, file=sys.stderr))
        model = args.model or "the release model"
        text = markdown(results, model)
        write_report(args.out, "robustness", {"model": model, "results": results},
                     "Robustness: the dev set, changed", text)
        print(json.dumps(results, indent=2) if args.json else text)
        return 0

    return run_main(body, prog="python -m devtools.robustness")


if __name__ == "__main__":
    sys.exit(main())
