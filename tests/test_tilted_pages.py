"""A page photographed turned a few degrees: its lines are followed along the measured skew
(edge.preprocess.page_skew), its digits are turned back level before the fit (level_ink), and an
unreadable shape cut by the frame's edge is dropped rather than read as '?' (edge.recognizer)."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from edge.constants import NUM_CLASSES
from edge.preprocess import FindConfig, cut_by_frame, find_digits, level_ink, page_skew, reading_order
from edge.recognizer import Recognizer


def _turned(points: list[tuple[float, float]], degrees: float, centre=(320.0, 240.0)) -> list[tuple[float, float]]:
    """``points`` turned ``degrees`` clockwise on screen (image rows grow downwards) about ``centre``."""
    angle = math.radians(degrees)
    cx, cy = centre
    return [(cx + (x - cx) * math.cos(angle) - (y - cy) * math.sin(angle),
             cy + (x - cx) * math.sin(angle) + (y - cy) * math.cos(angle)) for x, y in points]


def _grid_boxes(degrees: float, size: int = 40) -> list[tuple[int, int, int, int]]:
    """Nine digit boxes in three lines of three, the digits four heights apart (a sheet of
    practice digits), the page turned ``degrees``; listed line by line, left to right."""
    centres = [(160.0 + 160.0 * column, 80.0 + 160.0 * row) for row in range(3) for column in range(3)]
    return [(round(x - size * 0.35), round(y - size / 2), round(size * 0.7), size)
            for x, y in _turned(centres, degrees)]


@pytest.mark.parametrize("degrees", [-10.0, -6.0, 6.0, 10.0])
def test_the_skew_of_a_turned_page_is_measured(degrees):
    skew = page_skew(_grid_boxes(degrees))
    assert math.degrees(math.atan(skew)) == pytest.approx(degrees, abs=1.0)


def test_a_level_page_and_too_few_pairs_have_no_skew():
    assert page_skew(_grid_boxes(0.0)) == pytest.approx(0.0, abs=1e-9)
    assert page_skew([]) == 0.0
    assert page_skew([(10, 10, 20, 30)]) == 0.0
    # One digit on each of two lines, the second diagonally below the first: one pair, which says
    # nothing about the page (it must not make the two lines one).
    two_lines = [(100, 100, 28, 40), (180, 150, 28, 40)]
    assert page_skew(two_lines) == 0.0
    assert reading_order(two_lines)[1] == [0, 1]


def test_pairs_that_disagree_give_no_skew():
    """Neighbours at +18, -18, +18 and +2 degrees: their median (10) is a slope no pair shows."""
    rise = round(100 * math.tan(math.radians(18.0)))
    centres = [(100, 200), (200, 200 + rise), (300, 200), (400, 200 + rise), (500, 204 + rise)]
    boxes = [(x - 14, y - 20, 28, 40) for x, y in centres]
    assert page_skew(boxes) == 0.0


@pytest.mark.parametrize("degrees", [-8.0, 8.0, 12.0])
def test_the_lines_of_a_turned_page_stay_lines(degrees):
    """Widely spaced digits of one line, turned 8-12 degrees, are more than half a height apart
    from one neighbour to the next: level tests alone break each line into single digits."""
    boxes = _grid_boxes(degrees)
    ordered, lines = reading_order(boxes)
    assert lines == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    assert ordered == boxes
    _, level_only = reading_order(boxes, skew=0.0)
    assert max(level_only) > 2  # the same boxes without the skew: more than three lines


def test_a_digit_of_a_turned_page_is_turned_back_level():
    """A bar drawn along a line 10 degrees off level comes out level (as tall as the pen)."""
    skew = math.tan(math.radians(10.0))
    ink = np.zeros((60, 120), np.float32)
    cv2.line(ink, (10, 20), (110, 20 + round(100 * skew)), 1.0, 3, cv2.LINE_AA)
    rows = np.flatnonzero(ink.max(axis=1) > 0.5)
    assert rows.max() - rows.min() > 15
    level = level_ink(ink, skew)
    level_rows = np.flatnonzero(level.max(axis=1) > 0.5)
    assert level_rows.max() - level_rows.min() <= 5
    assert level.shape[1] > 95  # cut to the bar, which is as long as before


def test_a_nearly_level_page_leaves_the_ink_alone():
    ink = np.random.default_rng(0).random((30, 20)).astype(np.float32)
    assert level_ink(ink, math.tan(math.radians(2.0))) is ink


def _digit_page(pool, text: str, degrees: float) -> np.ndarray:
    """(480, 640) uint8: MNIST digits as dark ink on grey paper, one line per word of ``text``,
    each digit 3.5 heights from the next, the whole page then turned ``degrees``."""
    page = np.full((480, 640), 200, np.float32)
    for row, word in enumerate(text.split()):
        for column, char in enumerate(word):
            # The second of each digit in the pool: the first 5, turned, reads as a 6 however it is found.
            digit = pool.images[int(np.flatnonzero(pool.labels == int(char))[1])].astype(np.float32) / 255
            digit = cv2.resize(digit, (56, 56), interpolation=cv2.INTER_LINEAR)
            x, y = 130 + 150 * column, 60 + 140 * row
            page[y:y + 56, x:x + 56] -= 170 * digit
    matrix = cv2.getRotationMatrix2D((320, 240), -degrees, 1.0)  # OpenCV turns anticlockwise
    turned = cv2.warpAffine(page, matrix, (640, 480), flags=cv2.INTER_LINEAR, borderValue=200)
    return np.clip(turned, 0, 255).astype(np.uint8)


@pytest.mark.parametrize("degrees", [-9.0, 9.0])
def test_a_turned_page_of_spaced_digits_reads_line_by_line(pool, recognizer, degrees):
    text = "012 345 678"
    page = _digit_page(pool, text, degrees)
    assert recognizer.read(page).text == text
    without = Recognizer(recognizer.classifier, find_config=FindConfig(steps=FindConfig().steps - {"level-lines"}))
    assert without.read(page).text != text


class _Unsure:
    """A classifier that is sure of nothing: every crop reads 1/10 for each digit."""

    def probabilities(self, crops: np.ndarray) -> np.ndarray:
        return np.full((len(crops), NUM_CLASSES), 1.0 / NUM_CLASSES, np.float32)


def _blobs_inside_and_at_the_edge() -> np.ndarray:
    frame = np.full((240, 320), 210, np.uint8)
    cv2.putText(frame, "8", (130, 150), cv2.FONT_HERSHEY_SIMPLEX, 2.5, 30, 6, cv2.LINE_AA)  # inside
    cv2.putText(frame, "5", (-25, 110), cv2.FONT_HERSHEY_SIMPLEX, 2.5, 30, 6, cv2.LINE_AA)  # cut by the left side
    return frame


def test_an_unreadable_shape_cut_by_the_frame_is_dropped_not_read_as_unknown():
    frame = _blobs_inside_and_at_the_edge()
    reading = Recognizer(_Unsure()).read(frame)
    assert reading.text == "?"
    assert all(box[0] > 0 for box in (digit.box for digit in reading.digits))
    kept = Recognizer(_Unsure(), find_config=FindConfig(steps=FindConfig().steps - {"unsure-at-edge"})).read(frame)
    assert kept.text in ("??", "? ?")


def test_the_edge_of_a_region_of_interest_counts_as_the_frames():
    frame = _blobs_inside_and_at_the_edge()
    wide = np.full((240, 420), 210, np.uint8)
    wide[:, 100:] = frame
    reading = Recognizer(_Unsure()).read(wide, roi=(100, 0, 320, 240))
    assert reading.text == "?"


def test_a_region_of_interest_past_the_frame_is_clipped_before_its_edges_count():
    frame = _blobs_inside_and_at_the_edge()
    assert Recognizer(_Unsure()).read(frame, roi=(-10, -10, 400, 300)).text == "?"


def test_the_one_digit_of_a_tight_crop_stays_unknown_rather_than_vanishing():
    """A digit that touches the sides of its crop and spans most of it is what the crop holds:
    unsure, it reads '?' (the caller still learns a digit is there)."""
    crop = np.full((60, 44), 230, np.uint8)
    cv2.putText(crop, "8", (-2, 58), cv2.FONT_HERSHEY_SIMPLEX, 2.4, 30, 6, cv2.LINE_AA)
    assert Recognizer(_Unsure()).read(crop).text == "?"


@pytest.mark.parametrize(("box", "cut"), [
    ((0, 50, 30, 40), True),  # on the left side
    ((280, 50, 40, 40), True),  # reaches the right side
    ((100, 50, 30, 40), False),  # inside
    ((100, 197, 30, 40), False),  # 3 px short of the bottom
    ((100, 200, 30, 40), True),  # on the bottom
    ((0, 0, 200, 100), False),  # wider than half the frame: the crop's own digit
])
def test_cut_by_frame(box, cut):
    assert cut_by_frame(box, (0, 0, 320, 240)) is cut


def test_a_shape_cut_by_the_bottom_of_a_shrunk_photo_reaches_its_bottom():
    """4096x1641 is shrunk to 2048x820 for finding: 820 / 0.5 falls a pixel short of 1641, but a
    box on the shrunk image's bottom is on the frame's, so the cut-off shape is dropped."""
    frame = np.full((1641, 4096), 210, np.uint8)
    cv2.putText(frame, "8", (1900, 1100), cv2.FONT_HERSHEY_SIMPLEX, 20, 30, 60, cv2.LINE_AA)
    cv2.putText(frame, "5", (3000, 1750), cv2.FONT_HERSHEY_SIMPLEX, 20, 30, 60, cv2.LINE_AA)
    boxes = find_digits(frame).boxes
    assert any(y + h == 1641 for _, y, _, h in boxes)
    assert Recognizer(_Unsure()).read(frame).text == "?"
