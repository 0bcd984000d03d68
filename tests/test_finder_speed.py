"""The finder's faster helpers give exactly what the slower code they replace gave."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from edge.preprocess import (
    component_stats,
    find_rules,
    ink_contrast,
    ink_distance,
    ink_mask,
    long_runs,
    normalize_digit,
    percentile,
    stroke_width,
)


def opencv_stats(binary: np.ndarray) -> tuple[int, np.ndarray, np.ndarray]:
    count, labels, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
    return count, labels, stats


def assert_same(got: tuple, expected: tuple) -> None:
    assert got[0] == expected[0]
    for mine, theirs in zip(got[1:], expected[1:], strict=True):
        assert mine.dtype == theirs.dtype and mine.shape == theirs.shape
        np.testing.assert_array_equal(mine, theirs)


@settings(max_examples=200, deadline=None)
@given(arrays(np.uint8, st.tuples(st.integers(1, 40), st.integers(1, 40)),
              elements=st.sampled_from([0, 0, 0, 0, 1, 255])))
def test_component_stats_matches_opencv_on_any_mask(binary):
    assert_same(component_stats(binary), opencv_stats(binary))


@pytest.mark.parametrize("fill", [0.0, 0.02, 0.3, 1.0])  # blank, sparse ink, dense (OpenCV's path), all ink
def test_component_stats_matches_opencv_on_frames(fill):
    rng = np.random.default_rng(7)
    binary = cv2.dilate((rng.random((120, 160)) < fill / 9).astype(np.uint8) * 255, np.ones((3, 3), np.uint8))
    if fill == 1.0:
        binary[:] = 255
    assert_same(component_stats(binary), opencv_stats(binary))


def test_component_stats_background_box_is_where_the_zeros_are():
    binary = np.zeros((40, 40), np.uint8)
    binary[:3] = 255  # a frame along the top and the left side: the paper starts inside it
    binary[:, 0] = 255
    count, _, stats = component_stats(binary)  # 157 of 1,600 pixels: the sparse path
    assert count == 2
    assert tuple(stats[0]) == (1, 3, 39, 37, 1600 - 157)
    assert tuple(stats[1]) == (0, 0, 40, 40, 157)
    assert_same(component_stats(binary), opencv_stats(binary))


masks = arrays(np.uint8, st.tuples(st.integers(1, 50), st.integers(1, 50)), elements=st.sampled_from([0, 0, 255]))


@settings(max_examples=300, deadline=None)
@given(masks, st.integers(1, 80), st.sampled_from([0, 1]))
def test_long_runs_is_opencvs_line_opening(binary, length, axis):
    # Lengths beyond the image included: OpenCV counts its outside as set, so runs from an edge survive.
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (length, 1) if axis == 1 else (1, length))
    expected = cv2.morphologyEx(binary, cv2.MORPH_OPEN, kernel)
    got = long_runs(binary, length, axis)
    if got is None:
        assert not expected.any()
    else:
        np.testing.assert_array_equal(got, expected)


def test_long_runs_finds_a_rule_and_skips_a_page_without_one():
    page = np.zeros((60, 200), np.uint8)
    cv2.putText(page, "2048", (10, 45), cv2.FONT_HERSHEY_SIMPLEX, 1.2, 255, 3)
    assert long_runs(page, 100, 1) is None and long_runs(page, 40, 0) is None
    page[50:52, 5:195] = 255  # a rule under the digits
    runs = long_runs(page, 100, 1)
    assert runs is not None and np.count_nonzero(runs[50:52]) == 2 * 190 and not runs[:50].any()


def reference_distance(mask: np.ndarray) -> np.ndarray:
    ink = cv2.copyMakeBorder((mask > 0).astype(np.uint8), 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=0)
    return cv2.distanceTransform(ink, cv2.DIST_L2, cv2.DIST_MASK_5)


@settings(max_examples=200, deadline=None)
@given(masks.filter(lambda m: m.any()), st.integers(1, 9))
def test_ink_distance_is_the_whole_frames_over_the_ink_box(binary, pen):
    binary = cv2.dilate(binary, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (pen, pen)))
    full = reference_distance(binary)
    x, y, w, h = cv2.boundingRect(binary)
    got = ink_distance(binary)
    np.testing.assert_array_equal(got, full[y:y + h + 2, x:x + w + 2])
    full[y:y + h + 2, x:x + w + 2] = 0
    assert not full.any()  # nothing outside the box but paper


def test_stroke_width_of_a_small_digit_is_the_same_in_a_large_frame():
    frame = np.zeros((480, 640), np.uint8)
    cv2.circle(frame, (500, 100), 30, 255, 7)  # a '0' in one corner of the frame
    alone = frame[60:141, 460:541]  # the same '0' with a few pixels of paper around it
    assert stroke_width(frame) == stroke_width(alone)
    assert 6.0 <= stroke_width(frame) <= 9.0  # cv2.circle's 7 px ring is about 8 px wide


@settings(max_examples=300, deadline=None)
@given(arrays(np.float32, st.integers(1, 300), elements=st.floats(0, 1, width=32)),
       st.sampled_from([0, 25, 50, 75, 90, 100, 33.3]))
def test_percentile_is_numpys_bit_for_bit(values, q):
    assert percentile(values, q) == float(np.percentile(values, q))


@pytest.mark.parametrize("count", range(2, 200))
@pytest.mark.parametrize("q", [10, 25, 33.3, 50, 75, 90])
def test_percentile_virtual_index_has_no_rounding_error(count, q):
    """31 values at q=90 once gave 3.6e-15 instead of 0: the virtual index must be numpy's own
    (n - 1) * q, not the general formula, whose rounding lands just past a whole index."""
    values = np.zeros(count, np.float32)
    values[: max(1, count // 10)] = 1.0
    assert percentile(values, q) == float(np.percentile(values, q))


def test_percentile_with_ties_and_one_value():
    assert percentile(np.array([0.5], np.float32), 75) == 0.5
    values = np.array([0.1, 0.1, 0.9, 0.9, 0.9], np.float32)
    assert percentile(values, 75) == float(np.percentile(values, 75)) == pytest.approx(0.9)


@settings(max_examples=100, deadline=None)
@given(arrays(np.float32, st.tuples(st.integers(2, 60), st.integers(2, 60)), elements=st.sampled_from([0.0, 0.4, 1.0])),
       st.floats(0.5, 12.0))
def test_normalize_digit_pads_with_paper_as_np_pad_did(ink, stroke):
    from edge.preprocess import MNIST_DIGIT_BOX, normalize_stroke

    scale = MNIST_DIGIT_BOX / max(ink.shape)
    expected = normalize_stroke(np.pad(ink, 1), stroke, scale)[1:-1, 1:-1]
    padded = cv2.copyMakeBorder(ink, 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=0)
    np.testing.assert_array_equal(normalize_stroke(padded, stroke, scale)[1:-1, 1:-1], expected)
    assert normalize_digit(ink, stroke).shape == (28, 28)


@pytest.mark.parametrize("polarity", ["dark", "bright"])
@pytest.mark.parametrize("min_contrast", [0.0, 0.18, 0.6])
def test_ink_mask_is_the_float_comparison(polarity, min_contrast):
    grey = np.tile(np.arange(256, dtype=np.uint8), (256, 1))  # every grey level on every paper
    contrast = ink_contrast(grey, np.ascontiguousarray(grey.T), polarity)
    otsu, _ = cv2.threshold((contrast * 255).astype(np.uint8), 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    threshold = min(max(otsu / 255.0, min_contrast), 0.5)
    mask = ink_mask(contrast, min_contrast)
    assert mask.dtype == np.uint8
    np.testing.assert_array_equal(mask, (contrast > threshold).astype(np.uint8) * 255)


def test_find_rules_finds_a_rule_anywhere_in_the_frame():
    page = np.zeros((240, 320), np.uint8)
    cv2.putText(page, "17", (40, 120), cv2.FONT_HERSHEY_SIMPLEX, 3, 255, 9)
    assert find_rules(page) is None
    for row in (5, 130, 236):  # near the top, under the digits, at the bottom
        ruled = page.copy()
        ruled[row:row + 2, :] = 255
        rules = find_rules(ruled)
        assert rules is not None and rules[row:row + 2].all()
        assert not rules[20:row - 2].any() and not rules[row + 4:].any()  # only the rule, grown by a pixel
