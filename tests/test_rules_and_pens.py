"""edge.preprocess on notebook paper and with unusual pens: constructed grey pages with printed
rules, thick and hairline pens and faint pencil, checked step by step (ink_map, candidate_boxes)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from edge.preprocess import (
    FindConfig,
    candidate_boxes,
    erase_rules,
    find_rules,
    ink_map,
    ink_mask,
    ink_over_rules,
    paper_noise_floor,
    pen_opening,
    rule_width,
)

PAPER = 200.0


def ruled_page(height: int = 480, width: int = 640, spacing: int = 30, rule: float = 140.0,
               thickness: int = 2) -> np.ndarray:
    """(H, W) float32 grey paper with printed rules every ``spacing`` px (anti-aliased, a slight
    slope) at grey ``rule``: a notebook's pale blue lines seen in grey."""
    page = np.full((height, width), PAPER, np.float32)
    for y in range(spacing // 2, height, spacing):
        cv2.line(page, (0, y), (width - 1, y + 4), rule, thickness, cv2.LINE_AA)
    return page


def photographed(page: np.ndarray, blur: float = 0.8, noise: float = 3.0, seed: int = 0) -> np.ndarray:
    """A camera's view of ``page``: lens blur and sensor noise, as uint8."""
    image = cv2.GaussianBlur(page, (0, 0), blur)
    image = image + np.random.default_rng(seed).normal(0, noise, image.shape).astype(np.float32)
    return np.clip(image + 0.5, 0, 255).astype(np.uint8)


def rules_mask(height: int = 480, width: int = 640, spacing: int = 30) -> np.ndarray:
    """(H, W) 0/255 mask of sloping rules 3 px thick: a 1 px printed line once blurred and thresholded."""
    mask = np.zeros((height, width), np.uint8)
    for y in range(spacing // 2, height, spacing):
        cv2.line(mask, (0, y), (width - 1, y + 4), 255, 1)
    return cv2.dilate(mask, np.ones((3, 1), np.uint8))


def test_a_thick_pen_over_the_rules_does_not_keep_the_rules():
    # A 5-6 px pen measured at 5.5 px: an opening of 0.6 x the pen (3 px) no longer erases the
    # 3 px rules, and keeping "the pen" over them kept every rule (the page read as one box).
    mask = rules_mask()
    cv2.line(mask, (250, 200), (330, 200), 255, 5)
    cv2.line(mask, (330, 200), (280, 290), 255, 5)
    cleaned = erase_rules(mask, find_rules(mask), stroke=5.5)
    assert cleaned[:, :200].max() == 0 and cleaned[:, 400:].max() == 0
    assert len(candidate_boxes(cleaned, FindConfig(), stroke=5.5)) == 1


@pytest.mark.parametrize(("size", "cuts", "axis"), [
    (176, [0, 44, 60, 100, 116, 140, 156, 176], 1),  # 16-44 px pieces; a horizontal rule is >= 60
    (300, [0, 95, 105, 200, 210, 300], 0),  # 90-95 px pieces; a vertical rule spans >= 180
])
def test_the_lines_of_squared_paper_cut_by_a_big_digit_are_rules(size, cuts, axis):
    """A digit filling a photo of squared paper cuts every line it crosses into pieces shorter
    than any one rule test allows: on one line, together they reach across the frame, and on a
    page whose other lines are whole rules they are rules too. (Vertical pieces under a third of
    the frame's height are no runs at all.)"""
    mask = np.zeros((size, size), np.uint8)
    for start in range(8, size, 17):
        whole = start < 20 or start > size - 20  # the lines beyond the digit
        for left, right in [(0, size)] if whole else zip(cuts[::2], cuts[1::2], strict=True):
            if axis == 1:
                mask[start:start + 2, left:right] = 255
            else:
                mask[left:right, start:start + 2] = 255
    rules = find_rules(mask)
    assert rules is not None
    assert cv2.countNonZero(cv2.bitwise_and(mask, cv2.bitwise_not(rules))) == 0


def test_a_long_stroke_broken_by_a_thin_pen_is_no_rule():
    """The stem of a 9 filling a small photo, drawn with a hairline pen that skipped: two thin
    vertical pieces on one column reaching down the frame. On a page without rules they are
    the digit's."""
    mask = np.zeros((110, 82), np.uint8)
    cv2.circle(mask, (40, 25), 20, 255, 1)
    mask[5:42, 60] = 255
    mask[52:96, 60] = 255
    assert find_rules(mask) is None


def test_collinear_pieces_need_to_reach_across_and_cover_their_line():
    """Two short thin bars on one row, far apart, are not a rule: they reach across the frame
    but cover little of it (two dashes of a 7 and a 4 on one line)."""
    mask = np.zeros((120, 400), np.uint8)
    mask[10:12, :] = 255  # a whole rule elsewhere: a ruled page, where pieces are looked for
    mask[60:62, 20:60] = 255
    mask[60:62, 340:380] = 255
    rules = find_rules(mask)
    assert rules is not None and rules[11, 200] and not rules[61, 30] and not rules[61, 350]
    mask[60:62, 100:300] = 255  # ... with a rule's middle between them they are its pieces
    mask[60:62, 170:200] = 0
    rules = find_rules(mask)
    assert rules is not None and rules[61, 30] and rules[61, 350]


def test_the_pen_opening_is_wider_than_the_rules_or_not_used():
    assert pen_opening(3.0, 3.5) == 0  # a thin pen: told from the rules by contrast, not width
    assert pen_opening(10.0, 3.5) == 7  # 0.6 x the pen is wider than the rules already
    assert pen_opening(7.0, 3.5) == 5  # wider than the rules, narrower than the pen
    assert pen_opening(5.0, 3.5) == 0  # as wide as the pen: nothing can be told apart


def test_rule_width_is_measured_on_the_mask_and_capped_at_a_printed_line():
    page = ruled_page()
    gray = photographed(page)
    contrast = np.clip((PAPER - gray.astype(np.float32)) / PAPER, 0, 1)
    mask = ink_mask(contrast, 0.18)
    rules = find_rules(mask)
    assert rules is not None
    assert 1.5 <= rule_width(mask, rules) <= 4.0
    # A digit's straight bar taken for a rule is as wide as the pen: capped, it does not pose as one.
    bar = np.zeros((480, 640), np.uint8)
    cv2.line(bar, (100, 240), (400, 240), 255, 15)
    assert rule_width(bar, bar) <= 4.0


def seven_on_a_rule(pen: int) -> np.ndarray:
    """A '7' whose top bar runs along a rule of a notebook page (the rule at y 195-200 there)."""
    page = ruled_page()
    cv2.line(page, (250, 198), (330, 198), 40.0, pen)
    cv2.line(page, (330, 198), (280, 290), 40.0, pen)
    return photographed(page)


def test_a_ballpoint_bar_along_a_rule_is_kept():
    # A 2 px pen is no wider than the rules: only its darkness tells its bar from the rule under it.
    _, mask, _, stroke, _ = ink_map(seven_on_a_rule(pen=2))
    assert mask[196:201, 255:325].max(axis=0).min() == 255  # the bar, whole
    assert mask[:, :200].max() == 0  # the rules, gone
    boxes = candidate_boxes(mask, FindConfig(), stroke=stroke)
    assert len(boxes) == 1
    x, y, w, h = boxes[0]
    assert x <= 252 and y <= 198 and x + w >= 330  # the bar is part of the digit


def test_ink_as_pale_as_the_rules_is_not_kept_over_them():
    mask = rules_mask()
    contrast = np.where(mask > 0, 0.3, 0.0).astype(np.float32)
    contrast[mask.shape[0] // 2:] *= 1.2  # a little darker in places: still a rule
    rules = find_rules(mask)
    assert not ink_over_rules(mask, rules, contrast).any()
    contrast[105:110, 100:200] = 0.8  # a stroke along the rule at y ~ 106
    kept = ink_over_rules(mask, rules, contrast)
    assert kept[105:110, 100:200].any(axis=0).all() and not kept[:, 210:].any()


def test_a_margin_darker_than_the_rules_is_not_ink():
    # A red margin line is darker in grey than pale blue rules: judged against the rules' level it
    # would be "ink over the rules" and its pieces read as 1s.
    mask = rules_mask()
    cv2.line(mask, (60, 0), (62, 479), 255, 3)
    contrast = np.where(mask > 0, 0.22, 0.0).astype(np.float32)
    contrast[:, 58:66] *= 1.8  # the margin, 0.4
    contrast[105:110, 100:200] = 0.8  # a stroke along a rule
    rules = find_rules(mask)
    kept = ink_over_rules(mask, rules, contrast)
    assert not kept[:, 50:70].any()
    assert kept[105:110, 100:200].any(axis=0).all()


def pencil_page(darkness: float = 0.14, noise: float = 2.0, seed: int = 0) -> np.ndarray:
    """A faint pencil '4' (ink ``darkness`` x the paper darker than it, 3 px) on paper lit unevenly."""
    width, height = 640, 480
    light = 1.0 + 0.3 * np.linspace(-0.5, 0.5, width, dtype=np.float32)
    stroke = np.zeros((height, width), np.float32)
    cv2.line(stroke, (300, 180), (280, 250), 1.0, 3)
    cv2.line(stroke, (280, 250), (340, 250), 1.0, 3)
    cv2.line(stroke, (325, 190), (325, 290), 1.0, 3)
    page = PAPER * light[None, :] * (1.0 - darkness * stroke)
    return photographed(page, noise=noise, seed=seed)


def test_a_faint_pencil_digit_on_a_gradient_is_found():
    # 14 % darker than the paper: below the fixed 0.18 floor, far above the paper's noise.
    _, mask, _, stroke, _ = ink_map(pencil_page())
    boxes = candidate_boxes(mask, FindConfig(), stroke=stroke)
    assert len(boxes) == 1
    x, y, w, h = boxes[0]
    assert x <= 282 and y <= 182 and x + w >= 325 and y + h >= 288
    # Without the noise floor the same digit is lost to the fixed threshold.
    plain = FindConfig(steps=FindConfig().steps - {"noise-floor"})
    _, mask, _, stroke, _ = ink_map(pencil_page(), plain)
    assert candidate_boxes(mask, plain, stroke=stroke) == []


def test_the_noise_floor_follows_the_paper_noise_and_keeps_blank_pages_blank():
    rng = np.random.default_rng(1)
    quiet, noisy = (np.clip(np.abs(rng.normal(0, sigma, (480, 640))) * (rng.random((480, 640)) < 0.5), 0, 1)
                    .astype(np.float32) for sigma in (0.005, 0.03))
    assert paper_noise_floor(quiet) == pytest.approx(0.07)  # clean paper: the faint-ink minimum
    assert paper_noise_floor(noisy) == pytest.approx(0.18, abs=0.03)  # six deviations
    for seed, noise in enumerate((1.0, 2.0, 3.0)):
        # Paper with a mottled texture (fibres, uneven coating) under little sensor noise.
        mottle = cv2.GaussianBlur(np.random.default_rng(seed).normal(0, 30, (480, 640)).astype(np.float32), (0, 0), 3)
        blank = photographed(PAPER + mottle, noise=noise, seed=seed)
        _, mask, _, stroke, _ = ink_map(blank)
        assert candidate_boxes(mask, FindConfig(), stroke=stroke) == []


# --- a big digit's own strokes are no rules (step digit-strokes) ---------------------------------

# Digits as pen strokes in unit coordinates (x right, y down, height 1), each with the long straight
# stroke a rule test would take: the 7's bar, the 4's crossbar and stem, the 2's base, the 1 itself.
BIG_DIGITS = {
    "1": [[(0.5, 0.0), (0.47, 1.0)]],
    "7": [[(0.05, 0.02), (0.75, 0.0), (0.35, 1.0)]],
    "4": [[(0.55, 0.0), (0.05, 0.65), (0.8, 0.65)], [(0.6, 0.25), (0.6, 1.0)]],
    "2": [[(0.05, 0.25), (0.3, 0.0), (0.6, 0.05), (0.65, 0.3), (0.05, 1.0), (0.8, 0.98)]],
}


def write(page: np.ndarray, digit: str, left: float, top: float, size: float, pen: int = 2) -> None:
    """Draw ``digit`` of :data:`BIG_DIGITS` ``size`` px tall at (``left``, ``top``) on ``page``, in place."""
    for stroke in BIG_DIGITS[digit]:
        points = np.array([(left + x * size, top + y * size) for x, y in stroke], np.int32)
        cv2.polylines(page, [points], False, 60.0, pen, cv2.LINE_AA)


def thin_pen_photo(digit: str, height: int = 480, width: int = 640, share: float = 0.65,
                   pen: int = 2, page: np.ndarray | None = None) -> np.ndarray:
    """A photo of ``digit`` written ``share`` of the frame tall with a ``pen`` px ballpoint, centred."""
    page = np.full((height, width), PAPER, np.float32) if page is None else page.copy()
    size = share * height
    write(page, digit, width / 2 - 0.4 * size, (height - size) / 2, size, pen)
    return photographed(page)


@pytest.mark.parametrize("shape", [(480, 640), (640, 480), (300, 300), (720, 1280)])
@pytest.mark.parametrize(("digit", "share"), [("7", 0.65), ("4", 0.65), ("2", 0.65), ("1", 0.8)])
def test_a_big_digit_in_a_thin_pen_keeps_its_long_strokes(digit, share, shape):
    # Written big with a ballpoint, a 7's bar, a 2's base or a 4's stem is a straight run 12-60% of
    # the frame long and a printed rule's thickness: taken for a rule, the 7 and the 4 read as 1s
    # and the 2 as a 7 (and a 1 most of a square frame tall as two short 1s).
    image = thin_pen_photo(digit, *shape, share=share)
    _, mask, _, _, _ = ink_map(image)
    assert find_rules(mask) is None
    boxes = candidate_boxes(mask)
    assert len(boxes) == 1
    assert boxes[0][3] >= 0.9 * share * shape[0]
    _, without, _, _, _ = ink_map(image, FindConfig(steps=FindConfig().steps - {"digit-strokes"}))
    # The slanting 1 is straight runs long enough for a rule only in the square frame. (Even and odd
    # frame sizes both: an opening by an even-length line shifts the runs a pixel off the ink.)
    if digit != "1" or shape == (300, 300):
        assert cv2.countNonZero(without) < 0.8 * cv2.countNonZero(mask)


@pytest.mark.parametrize("digit", ["1", "7", "4", "2"])
def test_a_big_digit_in_a_thin_pen_reads(recognizer, digit):
    assert recognizer.read(thin_pen_photo(digit)).text == digit


def test_a_big_thin_digit_on_ruled_paper_does_not_keep_the_rules():
    # On a ruled page the rules not touching the digit are lines on their own: every run stays a
    # rule, the digit's bar among them (ink-over-rules keeps the darker pen).
    image = thin_pen_photo("7", page=ruled_page(spacing=60))
    _, mask, _, _, _ = ink_map(image)
    assert mask[:, :120].max() == 0 and mask[:, 520:].max() == 0


def test_a_margin_line_down_the_whole_page_is_still_a_rule():
    page = np.full((480, 640), PAPER, np.float32)
    cv2.line(page, (80, 0), (81, 479), 120.0, 2, cv2.LINE_AA)
    image = thin_pen_photo("7", page=page)
    _, mask, _, _, _ = ink_map(image)
    assert mask[:, 70:92].max() == 0
    assert len(candidate_boxes(mask)) == 1


@pytest.mark.parametrize("shape", [(480, 640), (640, 480), (480, 480), (300, 300)])
def test_a_line_across_the_page_on_its_own_is_still_a_rule(shape):
    # A dash or an underline with nothing written on it: a rule's test as before, whatever its length.
    mask = np.zeros(shape, np.uint8)
    width = shape[1]
    cv2.line(mask, (width // 4, shape[0] // 2), (3 * width // 4, shape[0] // 2), 255, 2)
    assert find_rules(mask) is not None
    assert find_rules(mask, digit_strokes=False) is not None


def small_digits_beside(page: np.ndarray) -> np.ndarray:
    """``page`` with "724" written 75 px tall in a ballpoint, centred: the writing a margin stands beside."""
    height, width = page.shape
    for digit, left in zip("724", (width // 2 - 120, width // 2 - 30, width // 2 + 60), strict=True):
        write(page, digit, left, height / 2 - 37, 75)
    return photographed(page)


@pytest.mark.parametrize("margins", [(60,), (60, 580)])
def test_a_margin_line_stopping_short_of_the_frame_is_still_a_rule(recognizer, margins):
    # A line down the page on its own would pass for a big 1, but it is several times taller than
    # the writing beside it (and two such lines on a page are margins).
    page = np.full((480, 640), PAPER, np.float32)
    for x in margins:
        cv2.line(page, (x, 25), (x, 455), 120.0, 2, cv2.LINE_AA)
    image = small_digits_beside(page)
    _, mask, _, _, _ = ink_map(image)
    for x in margins:
        assert mask[:, x - 6:x + 7].max() == 0
    assert recognizer.read(image).text == "724"


def test_a_margin_line_on_a_ruled_page_inside_the_frame_is_still_a_rule(recognizer):
    # The rules across make the page a ruled one: a line down it is its margin, whatever its piece looks like.
    page = np.full((480, 640), PAPER, np.float32)
    for y in range(40, 440, 40):
        cv2.line(page, (40, y), (600, y), 150.0, 1, cv2.LINE_AA)
    cv2.line(page, (90, 25), (90, 455), 120.0, 2, cv2.LINE_AA)
    image = small_digits_beside(page)
    _, mask, _, _, _ = ink_map(image)
    assert mask[:, 84:97].max() == 0
    assert recognizer.read(image).text == "724"


@pytest.mark.parametrize("shape", [(480, 640), (640, 480)])
def test_two_big_thin_digits_side_by_side_keep_their_bars(shape):
    # Each across-the-page run judged on its own digit's ink: the 7's bar and the 2's base.
    page = np.full(shape, PAPER, np.float32)
    size = shape[1] * 0.38
    for digit, left in (("7", 0.1 * shape[1]), ("2", 0.55 * shape[1])):
        write(page, digit, left, 100, size)
    _, mask, _, _, _ = ink_map(photographed(page))
    assert find_rules(mask) is None
    assert len(candidate_boxes(mask)) == 2


def test_a_printed_box_round_a_big_digit_is_still_rules():
    # A box's top and bottom are two runs in one piece of ink: a form's cell, not a digit's strokes
    # (a 7 spilling out over both sides of its cell made it digit-shaped).
    mask = np.zeros((480, 640), np.uint8)
    cv2.rectangle(mask, (200, 150), (330, 330), 255, 2)
    cv2.line(mask, (170, 200), (360, 190), 255, 8)  # a fat bar running out over both walls
    assert find_rules(mask) is not None
