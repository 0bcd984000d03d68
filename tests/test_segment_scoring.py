"""How the recogniser chooses between ways to cut the ink: a wide box read whole or as its cut
pieces (the per-class width prior, edge.recognizer.DIGIT_ASPECT_LIMITS), and the pieces of a
broken stroke joined."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from devtools.ablation import ONE_WIDTH
from edge.constants import NUM_CLASSES
from edge.preprocess import FindConfig, find_digits, reading_order
from edge.recognizer import DIGIT_ASPECT_LIMITS, Recognizer, best_cut, piece_score


def _reading(digit: int, confidence: float) -> np.ndarray:
    probabilities = np.full(NUM_CLASSES, (1.0 - confidence) / (NUM_CLASSES - 1))
    probabilities[digit] = confidence
    return probabilities


def test_the_width_limits_are_mnists_99th_percentiles(mnist):
    """The limits are measured, not tuned: each is the 99th percentile of width / height of the
    ink box (pixels > 127) of that digit over MNIST's training set."""
    images = mnist.train.images.reshape(-1, 28, 28) > 127
    columns, rows = images.any(axis=1), images.any(axis=2)
    width = 28 - columns[:, ::-1].argmax(axis=1) - columns.argmax(axis=1)
    height = 28 - rows[:, ::-1].argmax(axis=1) - rows.argmax(axis=1)
    aspect = width / height
    measured = [float(np.quantile(aspect[mnist.train.labels == digit], 0.99)) for digit in range(NUM_CLASSES)]
    assert np.allclose(measured, DIGIT_ASPECT_LIMITS, atol=0.01), measured


def test_a_merged_pair_read_surely_as_one_narrow_digit_is_cut():
    """'48' written touching, 1.35 heights wide, read as an 8 at 0.99: wider than 99% of 8s, so
    its two pieces win, although one flat limit of 1.5 would have kept it whole."""
    whole = _reading(8, 0.99)
    pieces = [piece_score(_reading(4, 0.95), 60, 100), piece_score(_reading(8, 0.95), 75, 100)]
    spans = [(0, 1), (1, 2)]
    assert best_cut(piece_score(whole, 135, 100), 1, spans, pieces) == [0, 1]
    assert best_cut(piece_score(whole, 135, 100, ONE_WIDTH), 1, spans, pieces) is None


def test_a_digit_as_wide_as_its_class_allows_stays_whole():
    """A round 0 1.35 heights wide is an ordinary 0 (MNIST: 99% under 1.43): its two halves read as
    1s do not take it apart. The same width read as a 1 is far wider than any 1."""
    halves = [piece_score(_reading(1, 0.99), 67, 100)] * 2
    assert best_cut(piece_score(_reading(0, 0.99), 135, 100), 1, [(0, 1), (1, 2)], halves) is None
    assert piece_score(_reading(1, 0.99), 135, 100) < piece_score(_reading(0, 0.99), 135, 100) - 0.8


@pytest.mark.parametrize("limits", [(1.5,) * 9, (1.5,) * 9 + (0.0,), (1.5,) * 11])
def test_width_limits_are_checked(recognizer, limits):
    with pytest.raises(ValueError, match="width_limits"):
        Recognizer(recognizer.classifier, width_limits=limits)


def test_the_lower_piece_of_a_broken_stroke_stays_in_its_line():
    """A slanted 1 broken half-way: its lower piece is not level with the upper piece the line
    reached last, but it is with the 0 before it, so it stays in the line."""
    zero, upper, lower, next_zero = (0, 10, 60, 90), (100, 15, 9, 34), (111, 62, 13, 40), (140, 10, 60, 90)
    boxes, lines = reading_order([next_zero, lower, zero, upper])
    assert boxes == [zero, upper, lower, next_zero] and lines == [0, 0, 0, 0]
    # Two lines a line's height apart stay two lines.
    second = [(x, y + 110, w, h) for x, y, w, h in (zero, next_zero)]
    assert reading_order([zero, next_zero, *second])[1] == [0, 0, 1, 1]


def _paper_with_a_broken_one() -> np.ndarray:
    paper = np.full((200, 420), 230, np.uint8)
    cv2.ellipse(paper, (80, 100), (30, 45), 0, 0, 360, 40, 5)
    cv2.line(paper, (212, 56), (202, 92), 40, 5)  # a slanted 1 whose pen skipped half-way
    cv2.line(paper, (198, 110), (188, 146), 40, 5)
    cv2.ellipse(paper, (320, 100), (30, 45), 0, 0, 360, 40, 5)
    return paper


def test_two_small_pieces_that_make_a_digit_are_joined_however_sure_the_pieces_are(recognizer):
    """Each half of the broken 1 reads as a sure '1' on its own, so a join that needs a doubted
    piece would keep both: pieces each small for their line that together are digit-tall are
    offered as fragments, and the classifier joins them."""
    paper = _paper_with_a_broken_one()
    found = find_digits(paper)
    assert len(found.boxes) == 4 and found.optional == [False, True, True, False]
    assert [join.fragments for join in found.joins] == [True]
    assert recognizer.read(paper).text == "010"


def test_two_short_dashes_that_stay_small_together_are_no_fragments():
    """Two short dashes one above the other may be joined (close, no wider than tall), but
    together they are still small for the line: not the pieces of a digit."""
    paper = np.full((200, 420), 230, np.uint8)
    cv2.ellipse(paper, (80, 100), (30, 45), 0, 0, 360, 40, 5)
    cv2.line(paper, (200, 84), (200, 94), 40, 5)
    cv2.line(paper, (200, 104), (200, 114), 40, 5)
    cv2.ellipse(paper, (320, 100), (30, 45), 0, 0, 360, 40, 5)
    found = find_digits(paper)
    assert len(found.boxes) == 4 and found.optional == [False, True, True, False]
    assert len(found.joins) == 1 and not found.joins[0].fragments


def test_once_a_blob_is_cut_its_digits_are_counted_by_how_they_read():
    """Four touching digits too wide to be one: the way in four pieces that each read at 0.99
    beats three pieces where one is a merged pair read as one digit at 0.86, although it has a
    cut more (a full cut's cost per piece chose the three)."""
    spans = [(0, 1), (1, 2), (2, 3), (3, 4), (0, 2)]
    sure, merged = float(np.log(0.99)), float(np.log(0.86))
    assert best_cut(-np.inf, 3, spans, [sure, sure, sure, sure, merged]) == [0, 1, 2, 3]


def test_a_piece_that_reads_well_is_not_cut_again():
    """'40' too wide to be one digit: the 0's halves read as sure 1s, but 4 | 0 reads as well in
    fewer pieces."""
    spans = [(0, 1), (1, 3), (1, 2), (2, 3)]
    sure = float(np.log(0.99))
    assert best_cut(-np.inf, 2, spans, [sure] * 4) == [0, 1]


def test_a_cut_must_still_beat_a_plausible_whole_by_its_full_cost():
    """A 4 of ordinary width read at 0.88 stays whole against a '2' and a '1' read at 0.93 and 1.0."""
    whole = piece_score(_reading(4, 0.88), 120, 100)
    pieces = [piece_score(_reading(2, 0.93), 80, 100), piece_score(_reading(1, 1.0), 45, 100)]
    assert best_cut(whole, 1, [(0, 1), (1, 2)], pieces) is None


def test_a_cut_that_beats_the_whole_is_not_lost_to_a_finer_one_that_does_not():
    """Two pieces beat the whole by a cut's full cost; three (the second piece cut again) read
    a little better per piece but not by two cuts' cost. The two pieces are read, not the whole."""
    spans = [(0, 1), (1, 3), (1, 2), (2, 3)]
    assert best_cut(-0.17, 2, spans, [-0.06, -0.06, -0.03, -0.03]) == [0, 1]


def _line_with_a_broken_two(pool) -> np.ndarray:
    """(200, 520) uint8: MNIST digits "2345" in dark ink, the 2 a little smaller than the rest and
    broken across its middle (the pen skipped) into two pieces, each under half the line's height."""

    def digit(label: int, size: int, index: int = 2) -> np.ndarray:
        image = pool.images[int(np.flatnonzero(pool.labels == label)[index])].astype(np.float32) / 255
        return cv2.resize(image, (size, size), interpolation=cv2.INTER_LINEAR)

    page = np.full((200, 520), 210, np.float32)
    # The first 2 of the pool: the third, broken, reads as a 6 to models trained since round 8.
    two = digit(2, 64, index=0)
    rows = np.flatnonzero(two.max(axis=1) > 0.5)
    middle = (rows.min() + rows.max()) // 2
    two[middle - 3:middle + 3] = 0
    page[86:150, 30:94] -= 170 * two
    for index, label in enumerate((3, 4, 5)):
        page[66:150, 110 + 100 * index:194 + 100 * index] -= 170 * digit(label, 84)
    return np.clip(page, 0, 255).astype(np.uint8)


def test_two_stacked_pieces_of_a_broken_digit_stay_in_their_line_and_are_joined(pool, recognizer):
    """The two halves of the 2 are a third of the line's height each and not level with each
    other: the first would start a line of its own. Centres within half the page's median height
    are level, so both stay in the line, are offered as fragments, and read as one 2."""
    page = _line_with_a_broken_two(pool)
    found = find_digits(page)
    assert found.lines == [0] * 5 and found.optional[:2] == [True, True]
    assert [(join.index, join.fragments) for join in found.joins] == [(0, True)]
    assert recognizer.read(page).text == "2345"
    # Without the step, the lower half starts a line of its own.
    off = find_digits(page, config=FindConfig(steps=FindConfig().steps - {"level-lines"}))
    assert max(off.lines) >= 1
