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
