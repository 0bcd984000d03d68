"""edge.preprocess on notebook paper and with unusual pens: constructed grey pages with printed
rules, thick and hairline pens and faint pencil, checked step by step (ink_map, candidate_boxes)."""

from __future__ import annotations

import cv2
import numpy as np

from edge.preprocess import (
    FindConfig,
    candidate_boxes,
    erase_rules,
    find_rules,
    ink_mask,
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
