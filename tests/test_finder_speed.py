"""The finder's faster helpers give exactly what the slower code they replace gave."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from edge.preprocess import component_stats


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
