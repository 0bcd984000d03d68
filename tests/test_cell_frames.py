"""edge.preprocess's "cell-frames" step: boxes printed or drawn round digits (a form's cells) are
taken out of the ink, and the digits in them read. Constructed masks and pages."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from edge.preprocess import FindConfig, _rules_of, candidate_boxes, cell_frames, component_stats, erase_cell_frames
from edge.recognizer import Recognizer

WITHOUT_CELL_FRAMES = FindConfig(steps=FindConfig().steps - {"cell-frames"})


def _mask_with(draw) -> np.ndarray:
    mask = np.zeros((240, 320), np.uint8)
    draw(mask)
    return mask


def _seven(mask: np.ndarray, x: int = 125, y: int = 150, thickness: int = 6) -> None:
    cv2.putText(mask, "7", (x, y), cv2.FONT_HERSHEY_SIMPLEX, 2.5, 255, thickness)


def test_a_thin_box_round_a_digit_is_erased_and_the_digit_kept():
    digit = _mask_with(_seven)
    boxed = digit.copy()
    cv2.rectangle(boxed, (95, 60), (205, 180), 255, 2)
    erased = erase_cell_frames(boxed)
    assert np.array_equal(erased, digit)


def test_a_digit_touching_its_box_keeps_all_but_where_it_meets_the_lines():
    digit = _mask_with(lambda m: _seven(m, x=120, y=178))  # the 7's foot reaches the bottom line
    boxed = digit.copy()
    cv2.rectangle(boxed, (95, 60), (205, 180), 255, 3)
    assert cv2.connectedComponents(boxed)[0] == 2  # one component: the box and the digit
    erased = erase_cell_frames(boxed)
    assert not erased[60:64, 95:206].any() and not erased[60:181, 95:99].any()  # the lines are gone
    kept = np.count_nonzero(erased & digit) / np.count_nonzero(digit)
    assert kept > 0.85 and np.count_nonzero(erased & ~digit) == 0


@pytest.mark.parametrize("spill", [((150, 122), (240, 122)), ((150, 122), (235, 40)), ((65, 160), (145, 160))])
def test_a_digit_running_out_over_its_box_does_not_hide_the_box(spill):
    # A stroke of the digit runs out past the right wall (or over the top line too, or past the
    # left wall): the component's box is no longer the frame's, whose sides lie inside it.
    def draw(mask):
        _seven(mask, x=120, y=170)
        cv2.line(mask, *spill, 255, 6)
    digit = _mask_with(draw)
    boxed = digit.copy()
    cv2.rectangle(boxed, (95, 60), (205, 180), 255, 2)
    assert cv2.connectedComponents(boxed)[0] == 2  # one component: the box and the digit
    erased = erase_cell_frames(boxed)
    lines = np.zeros_like(boxed)
    cv2.rectangle(lines, (95, 60), (205, 180), 255, 2)
    assert np.count_nonzero(erased & lines & ~digit) == 0  # the lines are gone ...
    kept = np.count_nonzero(erased & digit) / np.count_nonzero(digit)
    assert kept > 0.85  # ... and the digit stays, all but where it crosses them


def test_a_row_of_cells_loses_its_walls_too():
    digits = np.zeros((240, 480), np.uint8)
    for i, char in enumerate("2580"):
        cv2.putText(digits, char, (40 + 100 * i, 150), cv2.FONT_HERSHEY_SIMPLEX, 2.0, 255, 5)
    row = digits.copy()
    cv2.rectangle(row, (20, 60), (420, 180), 255, 2)
    for wall in (120, 220, 320):
        cv2.line(row, (wall, 60), (wall, 180), 255, 2)
    assert np.array_equal(erase_cell_frames(row), digits)


def test_a_row_of_cells_across_the_whole_frame_loses_its_walls_too():
    digits = np.zeros((200, 640), np.uint8)
    for i, char in enumerate("47361"):
        cv2.putText(digits, char, (26 + 120 * i, 130), cv2.FONT_HERSHEY_SIMPLEX, 2.0, 255, 5)
    row = digits.copy()
    cv2.rectangle(row, (10, 40), (610, 170), 255, 2)  # 94% of the frame's width
    for wall in (130, 250, 370, 490):
        cv2.line(row, (wall, 40), (wall, 170), 255, 2)
    assert np.array_equal(erase_cell_frames(row), digits)


def test_a_grid_across_the_frame_is_squared_paper_not_cells():
    grid = np.zeros((240, 320), np.uint8)
    for step in range(0, 320, 32):
        cv2.line(grid, (step, 0), (step, 239), 255, 1)
    for step in range(0, 240, 32):
        cv2.line(grid, (0, step), (319, step), 255, 1)
    _, labels, stats = component_stats(grid)
    assert cell_frames(labels, stats) == []  # left to find_rules, which keeps the ink over its lines


def test_on_squared_paper_the_grid_is_left_to_the_rules_before_any_frame_is_looked_for():
    # A grid finer than a cell (squares of 23 px) across a wide strip: as one component, it would
    # pass for a box, and erasing its lines would take the ink of the digit crossing them.
    grid = np.zeros((235, 1600), np.uint8)
    grid[:, 5::23] = 255
    grid[5::23, :] = 255
    digit = np.zeros_like(grid)
    cv2.putText(digit, "7", (300, 170), cv2.FONT_HERSHEY_SIMPLEX, 4.0, 255, 8)
    page = grid | digit
    kept, rules, _ = _rules_of(page, FindConfig())
    assert rules is not None and np.count_nonzero(kept & digit) == np.count_nonzero(digit)


def test_a_thick_stroke_from_line_to_line_is_no_wall():
    boxed = _mask_with(lambda m: cv2.rectangle(m, (95, 60), (205, 190), 255, 2))
    cv2.line(boxed, (150, 62), (148, 188), 255, 6)  # a 1 that fills its cell, in a pen thicker than the box
    stroke = _mask_with(lambda m: cv2.line(m, (150, 62), (148, 188), 255, 6))
    erased = erase_cell_frames(boxed)
    assert np.count_nonzero(erased & stroke) > 0.9 * np.count_nonzero(stroke)
    assert np.count_nonzero(erased & ~stroke) < 0.05 * np.count_nonzero(boxed & ~stroke)


def test_a_box_on_a_page_turned_four_degrees_is_erased():
    boxed = _mask_with(_seven)
    cv2.rectangle(boxed, (95, 60), (205, 180), 255, 2)
    turn = cv2.getRotationMatrix2D((150, 120), 4.0, 1.0)
    turned = cv2.warpAffine(boxed, turn, (320, 240), flags=cv2.INTER_NEAREST)
    digit = cv2.warpAffine(_mask_with(_seven), turn, (320, 240), flags=cv2.INTER_NEAREST)
    erased = erase_cell_frames(turned)
    assert np.count_nonzero(erased & ~digit) < 0.1 * np.count_nonzero(turned & ~digit)  # specks at the corners
    assert np.count_nonzero(erased & digit) > 0.9 * np.count_nonzero(digit)
    (box,) = candidate_boxes(erased, stroke=6)  # the digit alone
    x, y, w, h = cv2.boundingRect(digit)
    assert abs(box[0] - x) <= 2 and abs(box[1] - y) <= 2 and abs(box[2] - w) <= 4 and abs(box[3] - h) <= 4


@pytest.mark.parametrize("size", [40, 80, 160])
def test_a_square_zero_drawn_with_a_pen_is_no_frame(size):
    zero = _mask_with(lambda m: cv2.rectangle(m, (60, 40), (60 + size * 3 // 4, 40 + size), 255, max(4, size // 9)))
    _, labels, stats = component_stats(zero)
    assert cell_frames(labels, stats) == []
    assert erase_cell_frames(zero) is zero


def test_a_fat_eight_filling_the_bands_along_its_sides_is_no_frame():
    eight = _mask_with(lambda m: cv2.putText(m, "8", (110, 170), cv2.FONT_HERSHEY_SIMPLEX, 4.0, 255, 22))
    _, labels, stats = component_stats(eight)
    assert cell_frames(labels, stats) == []


def test_an_empty_printed_cell_is_erased_and_ink_without_long_runs_is_left_alone():
    empty = _mask_with(lambda m: cv2.rectangle(m, (95, 60), (205, 180), 255, 2))
    assert not erase_cell_frames(empty).any()
    digits = _mask_with(_seven)
    assert erase_cell_frames(digits) is digits  # no box: the same array, nothing labelled


def _form(pool, text: str, thickness: int, shade: int, touching: bool = False) -> np.ndarray:
    """(480, 640) uint8: MNIST digits written in a row of printed boxes on grey paper, each box
    110x130 px, the digits 84 px (or, ``touching``, 120 px: they run into the lines)."""
    rng = np.random.default_rng(len(text) + thickness)
    page = np.full((480, 640), 215, np.float32)
    size, offset = (120, 5) if touching else (84, 23)
    for k, char in enumerate(text):
        x0, y0 = 80 + k * 130, 170
        cv2.rectangle(page, (x0, y0), (x0 + 110, y0 + 130), shade, thickness)
        digit = pool.images[int(np.flatnonzero(pool.labels == int(char))[2])].astype(np.float32) / 255
        digit = cv2.resize(digit, (size, size), interpolation=cv2.INTER_LINEAR)
        left = x0 + (110 - size) // 2
        page[y0 + offset:y0 + offset + size, left:left + size] -= 170 * digit
    page = np.clip(page + rng.normal(0, 4, page.shape), 0, 255)
    return cv2.GaussianBlur(page, (0, 0), 1.0).astype(np.uint8)


@pytest.mark.parametrize(("thickness", "shade", "touching"),
                         [(2, 60, False), (3, 30, False), (2, 60, True), (3, 30, True)])
def test_digits_written_in_printed_boxes_read(pool, recognizer, thickness, shade, touching):
    page = _form(pool, "4736", thickness, shade, touching)
    assert recognizer.read(page).text == "4736"
    without = Recognizer(recognizer.classifier, find_config=WITHOUT_CELL_FRAMES)
    assert without.read(page).text != "4736"


def test_digits_running_along_the_bottom_line_do_not_hide_the_frame():
    # Two flat loops (the bottom of a 6, a 0) lie on the bottom line for a fifth of the row each:
    # there the ink's middle is off the line, but the line runs on under the pen.
    digits = np.zeros((240, 480), np.uint8)
    for centre in (170, 370):
        cv2.ellipse(digits, (centre, 166), (46, 15), 0, 0, 360, 255, 5)
    row = digits.copy()
    cv2.rectangle(row, (20, 60), (420, 180), 255, 2)
    for wall in (120, 220, 320):
        cv2.line(row, (wall, 60), (wall, 180), 255, 2)
    erased = erase_cell_frames(row)
    assert not erased[62:150].any(axis=0)[[20, 21, 120, 121, 220, 221, 320, 321, 419, 420]].any()  # walls gone
    kept = np.count_nonzero(erased & digits) / np.count_nonzero(digits)
    assert kept > 0.85


@pytest.mark.parametrize("pen", [3, 5])
def test_a_boxy_zero_drawn_with_a_fine_pen_is_no_frame(pen):
    # A squarish 0 (a superellipse): straight along most of its sides, its corners rounded. Its
    # ink runs on near the lines fitted to its sides, but the middles of its corners' columns lie
    # off them -- and it holds nothing, so it must be straight by those too.
    angle = np.linspace(0, 2 * np.pi, 600)
    x = np.sign(np.cos(angle)) * np.abs(np.cos(angle)) ** (2 / 6) * 75
    y = np.sign(np.sin(angle)) * np.abs(np.sin(angle)) ** (2 / 6) * 95
    zero = np.zeros((300, 360), np.uint8)
    cv2.polylines(zero, [np.stack([180 + x, 150 + y], 1).round().astype(np.int32)], True, 255, pen)
    _, labels, stats = component_stats(zero)
    assert cell_frames(labels, stats) == []
