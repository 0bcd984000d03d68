"""The scene kinds of ``edge.scenes`` (``python -m devtools.evaluate --kind KIND``): seeded, with
exact ground truth, and each with the property that makes it the kind it claims to be."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from devtools.evaluate import main
from edge import errors
from edge.scenes import KINDS, Scene, _thin, render_scene

SEEDS = range(12)


@pytest.fixture(scope="module")
def scenes(pool):
    """Twelve seeded scenes of every kind, rendered once for the module."""
    return {kind: [render_scene(np.random.default_rng(seed), pool, kind=kind) for seed in SEEDS] for kind in KINDS}


def _ink(scene: Scene) -> np.ndarray:
    """(H, W) bool: pixels far from the image's background level, either polarity."""
    gray = cv2.cvtColor(scene.image, cv2.COLOR_BGR2GRAY).astype(np.int16)
    return np.abs(gray - int(np.median(gray))) > 60


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_is_seeded_and_its_ground_truth_is_consistent(kind, pool, scenes):
    again = render_scene(np.random.default_rng(SEEDS[0]), pool, kind=kind)
    np.testing.assert_array_equal(again.image, scenes[kind][0].image)
    assert again.digits == scenes[kind][0].digits
    for scene in scenes[kind]:
        height, width = scene.image.shape[:2]
        assert scene.image.ndim == 3 and scene.image.shape[2] == 3 and scene.image.dtype == np.uint8
        assert len(scene.digits) >= 1
        assert scene.text.replace(" ", "") == "".join(str(d.label) for d in scene.digits)
        for digit in scene.digits:
            x, y, w, h = digit.box
            assert x >= 0 and y >= 0 and x + w <= width and y + h <= height and w >= 1 and h >= 4
            assert digit.label == pool.labels[digit.pool_index]


def test_plain_and_ruled_are_the_original_scenes(pool):
    # kind=None and kind="plain" (and ruled=True / kind="ruled") draw the same numbers in the same
    # order, so figures measured before the kinds existed stay comparable.
    for seed in range(3):
        for legacy, kind in (({}, "plain"), ({"ruled": True}, "ruled")):
            old = render_scene(np.random.default_rng(seed), pool, **legacy)
            new = render_scene(np.random.default_rng(seed), pool, kind=kind)
            np.testing.assert_array_equal(old.image, new.image)
            assert old.digits == new.digits


def test_unknown_kinds_and_impossible_counts_say_what_is_valid(pool):
    with pytest.raises(ValueError, match="did you mean drawing"):
        render_scene(np.random.default_rng(0), pool, kind="drawng")
    with pytest.raises(ValueError, match="cannot be combined"):
        render_scene(np.random.default_rng(0), pool, kind="long", ruled=True)
    with pytest.raises(ValueError, match="n_digits must be 1-1"):
        render_scene(np.random.default_rng(0), pool, kind="crop", n_digits=2)
    assert len(render_scene(np.random.default_rng(0), pool, kind="long", n_digits=12).digits) == 12


def test_a_drawing_is_one_thick_noiseless_digit_filling_a_canvas(scenes):
    polarities = set()
    for scene in scenes["drawing"]:
        height, width = scene.image.shape[:2]
        assert 200 <= height <= 500 and 200 <= width <= 500
        (digit,) = scene.digits
        assert digit.box[3] >= 0.55 * height  # fills the canvas
        gray = cv2.cvtColor(scene.image, cv2.COLOR_BGR2GRAY)
        # Two levels plus anti-aliased edges, no noise: nearly every pixel is pure black or white.
        assert np.isin(gray, (0, 255)).mean() > 0.9
        polarities.add(int(np.median(gray)))
        # Thick: the brush is at least 6 % of the digit's height (distance transform = half width).
        ink = (gray != np.median(gray)).astype(np.uint8)
        assert cv2.distanceTransform(ink, cv2.DIST_L2, 5).max() * 2 >= 0.06 * digit.box[3]
    assert polarities == {0, 255}


def test_crops_are_small_single_digits_of_either_polarity(scenes):
    polarities, tight, at_border = set(), 0, 0
    for scene in scenes["crop"]:
        height, width = scene.image.shape[:2]
        assert 28 <= height <= 96 and 28 <= width <= 96
        (digit,) = scene.digits
        x, y, w, h = digit.box
        assert h >= 0.5 * height
        tight += h >= height - 2
        at_border += x == 0 or y == 0 or x + w == width or y + h == height
        polarities.add(np.median(scene.image) > 127)
    assert polarities == {False, True} and tight >= 1 and at_border >= 2


def test_a_long_line_has_8_to_12_digits_of_uneven_heights(scenes):
    for scene in scenes["long"]:
        assert 8 <= len(scene.digits) <= 12 and " " not in scene.text
        heights = np.array([d.box[3] for d in scene.digits])
        # Some digit is at most ~0.7x the line's typical (median) height.
        assert heights.min() <= 0.78 * np.median(heights)
        xs = [d.box[0] for d in scene.digits]
        assert xs == sorted(xs)  # ground truth in reading order


def test_touching_digits_touch_or_overlap(scenes):
    for scene in scenes["touching"]:
        assert 2 <= len(scene.digits) <= 4 and " " not in scene.text
        for left, right in zip(scene.digits, scene.digits[1:], strict=False):
            assert left.box[0] + left.box[2] >= right.box[0]  # boxes overlap or abut
        # The ink is one connected blob (after the threshold the ground truth uses).
        ink = _ink(scene).astype(np.uint8)
        count, labels, stats, _ = cv2.connectedComponentsWithStats(ink)
        biggest = stats[1:, cv2.CC_STAT_AREA].argmax() + 1
        x, y, w, h = (stats[biggest, i] for i in range(4))
        first, last = scene.digits[0].box, scene.digits[-1].box
        assert x <= first[0] + 2 and x + w >= last[0] + last[2] - 2


def _stroke_widths(scene: Scene) -> list[float]:
    """Each digit's stroke width in px: its ink's area over its centre line's length, the ink being
    the pixels darker than the local paper by half the digit's contrast or more (a full width at
    half maximum, blur included)."""
    gray = cv2.cvtColor(scene.image, cv2.COLOR_BGR2GRAY).astype(np.float32)
    contrast = cv2.dilate(gray, np.ones((15, 15), np.uint8)) - gray  # paper level minus ink
    widths = []
    for x, y, w, h in (digit.box for digit in scene.digits):
        patch = contrast[y:y + h, x:x + w]
        ink = patch > 0.5 * np.percentile(patch, 99)
        widths.append(ink.sum() / max(1, _thin(np.pad(ink, 1)).sum()))
    return widths


def test_ballpoint_strokes_are_thin_and_plain_ones_are_not(scenes):
    ballpoint = [np.median(_stroke_widths(scene)) for scene in scenes["ballpoint"]]
    plain = [np.median(_stroke_widths(scene)) for scene in scenes["plain"]]
    assert max(ballpoint) <= 4.0 and np.median(ballpoint) <= 3.0  # 1-2 px pens, plus the lens blur
    assert np.median(plain) >= 2 * np.median(ballpoint)


def test_pencil_is_grey_and_low_contrast(scenes):
    def darkest_ink(scene: Scene) -> float:
        gray = cv2.cvtColor(scene.image, cv2.COLOR_BGR2GRAY).astype(np.float32)
        paper = np.median(gray)
        return min(np.percentile(gray[y:y + h, x:x + w], 2) for x, y, w, h in (d.box for d in scene.digits)) / paper

    pencil = np.median([darkest_ink(s) for s in scenes["pencil"]])
    plain = np.median([darkest_ink(s) for s in scenes["plain"]])
    assert pencil > plain + 0.15  # the darkest pencil ink is much nearer the paper's level
    for scene in scenes["pencil"]:  # graphite is grey: no channel of its ink leans towards blue
        x, y, w, h = scene.digits[0].box
        patch = scene.image[y:y + h, x:x + w].reshape(-1, 3).astype(np.float32)
        dark = patch[patch.sum(axis=1) <= np.percentile(patch.sum(axis=1), 5)].mean(axis=0)
        assert dark.max() - dark.min() < 0.25 * dark.mean() + 12


def test_shadow_pages_have_a_strong_light_gradient(scenes):
    def light_range(scene: Scene) -> float:
        """Darkest over brightest paper: a max filter on a quarter-size copy removes the ink."""
        gray = cv2.resize(cv2.cvtColor(scene.image, cv2.COLOR_BGR2GRAY), None, fx=0.25, fy=0.25,
                          interpolation=cv2.INTER_AREA)
        paper = cv2.dilate(gray, np.ones((15, 15), np.uint8)).astype(np.float32)
        return np.percentile(paper, 2) / np.percentile(paper, 98)

    shadow = [light_range(s) for s in scenes["shadow"]]
    plain = [light_range(s) for s in scenes["plain"]]
    assert max(shadow) < 0.65 and np.median(shadow) < 0.6  # a plain page's gradient is gentler
    assert np.median(plain) > 0.7


def test_form_pages_hold_each_digit_in_a_printed_box(scenes):
    def printed(scene: Scene) -> int:
        """Ink outside the digits' boxes: the boxes' printed lines (the paper's grain is fainter)."""
        gray = cv2.GaussianBlur(cv2.cvtColor(scene.image, cv2.COLOR_BGR2GRAY), (0, 0), 1.0).astype(np.int16)
        ink = gray < cv2.dilate(gray, np.ones((9, 9), np.uint8)).astype(np.int16) - 12
        for digit in scene.digits:
            x, y, w, h = digit.box
            ink[y:y + h, x:x + w] = False
        return int(ink.sum())

    def share(scene: Scene) -> float:  # against the digits' outlines (a box's is longer)
        return printed(scene) / sum(2 * (d.box[2] + d.box[3]) for d in scene.digits)

    assert min(share(scene) for scene in scenes["form"]) >= 1.0
    assert np.median([share(scene) for scene in scenes["plain"]]) < 0.5


def test_evaluate_cli_reports_each_kind_separately(capsys):
    assert main(["--kind", "all", "--scenes", "2", "--seed", "3", "--json"]) == errors.OK
    report = json.loads(capsys.readouterr().out)
    assert list(report) == list(KINDS)
    for kind, result in report.items():
        assert result["kind"] == kind and result["scenes"] == 2 and result["digits"] >= 2
        assert 0 <= result["string_accuracy"] <= 1 and result["mean_preprocess_ms"] > 0
    assert report["long"]["digits"] >= 16 and report["crop"]["digits"] == 2


def test_evaluate_cli_table_kind_flags_and_ruled_alias(capsys):
    assert main(["--kind", "crop", "--kind", "drawing", "--ruled", "--scenes", "1"]) == errors.OK
    out = capsys.readouterr().out
    rows = [line.split("|")[1].strip() for line in out.splitlines() if line.startswith("| ") and "---" not in line]
    assert rows == ["kind", "ruled", "drawing", "crop"]
    with pytest.raises(SystemExit):
        main(["--kind", "pencl"])
    assert "did you mean pencil" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--kind", "crop", "--images", "."])
