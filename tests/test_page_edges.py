"""edge.preprocess where the photo shows more than paper: a page lying on a darker desk, a shadow
beside the writing, sensor noise on a fat marker. Constructed grey images, checked step by step."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from edge.preprocess import (
    DARK_INK_PRIOR,
    PAGE_PHOTO_PX,
    FindConfig,
    detect_polarity,
    encloses_writing,
    find_digits,
    has_blob,
    page_background,
    paper_noise_floor,
    stroke_width,
)

# The "desk" step crops a page with the desk showing all round (tests/test_desk.py); without it
# too, the page-edges step is what keeps the desk out of the ink.
WITHOUT_PAGE_EDGES = FindConfig(steps=FindConfig().steps - {"page-edges", "desk"})
ONLY_PAGE_EDGES = FindConfig(steps=FindConfig().steps - {"desk"})


def page_on_desk(desk: float = 90.0, page: tuple[int, int, int, int] = (120, 90, 400, 300), text: str = "2 5 8",
                 seed: int = 0) -> np.ndarray:
    """(480, 640) uint8: a sheet of paper (grey 205) with three printed digits, photographed on a
    darker, grainy desk that fills most of the frame around it."""
    rng = np.random.default_rng(seed)
    image = np.full((480, 640), desk, np.float32)
    image += cv2.GaussianBlur(rng.normal(0, 25, image.shape).astype(np.float32), (0, 0), 4)  # the desk's grain
    x, y, w, h = page
    image[y:y + h, x:x + w] = 205.0
    ink = np.zeros(image.shape, np.uint8)
    cv2.putText(ink, text, (x + 80, y + 190), cv2.FONT_HERSHEY_SIMPLEX, 3.0, 255, 6, cv2.LINE_AA)
    image -= (image - 50.0) * (ink / 255.0)
    image = cv2.GaussianBlur(image, (0, 0), 1.0) + rng.normal(0, 3, image.shape)
    return np.clip(image, 0, 255).astype(np.uint8)


def digit_boxes(text_x: int = 200, text_y: int = 280) -> list[tuple[int, int, int, int]]:
    """Where :func:`page_on_desk` draws its digits: one box per glyph, from the ink itself."""
    ink = np.zeros((480, 640), np.uint8)
    cv2.putText(ink, "2 5 8", (text_x, text_y), cv2.FONT_HERSHEY_SIMPLEX, 3.0, 255, 6, cv2.LINE_AA)
    count, _, stats, _ = cv2.connectedComponentsWithStats(ink)
    return sorted(tuple(int(v) for v in stats[i, :4]) for i in range(1, count))


def overlaps(a, b) -> bool:
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_page_on_a_darker_desk_yields_its_digits_and_nothing_of_the_desk(seed):
    with_desk = find_digits(page_on_desk(seed=seed))
    assert len(with_desk.boxes) == 3
    assert all(overlaps(a, b) for a, b in zip(sorted(with_desk.boxes), digit_boxes(), strict=True))
    found = find_digits(page_on_desk(seed=seed), config=ONLY_PAGE_EDGES)
    truth = digit_boxes()
    assert found.polarity == "dark"
    assert len(found.boxes) == len(truth) == 3
    for box, digit in zip(sorted(found.boxes), truth, strict=True):
        assert overlaps(box, digit)
    # Without the step, the page's corners against the desk come out as "digits" and the
    # digits themselves are lost.
    without = find_digits(page_on_desk(seed=seed), config=WITHOUT_PAGE_EDGES)
    assert without.boxes and not any(overlaps(box, digit) for box in without.boxes for digit in truth)


def two_sheets(gap: int = 80, seed: int = 0) -> np.ndarray:
    """(480, 640) uint8: two sheets side by side with the desk showing between them, a digit on
    each, under light falling off to one side."""
    rng = np.random.default_rng(seed)
    image = np.full((480, 640), 205.0, np.float32)
    image[:, 320 - gap // 2:320 + gap // 2] = 90.0
    ink = np.zeros(image.shape, np.uint8)
    cv2.putText(ink, "4", (150, 280), cv2.FONT_HERSHEY_SIMPLEX, 3.0, 255, 6, cv2.LINE_AA)
    cv2.putText(ink, "6", (430, 280), cv2.FONT_HERSHEY_SIMPLEX, 3.0, 255, 6, cv2.LINE_AA)
    image -= (image - 50.0) * (ink / 255.0)
    image *= np.linspace(0.75, 1.0, image.shape[1], dtype=np.float32)[None, :]
    image = cv2.GaussianBlur(image, (0, 0), 1.0) + rng.normal(0, 3, image.shape)
    return np.clip(image, 0, 255).astype(np.uint8)


def test_page_background_keeps_the_desk_between_two_sheets_and_removes_the_pen():
    gray = two_sheets()
    median = cv2.medianBlur(gray, 201)  # a median wider than the gap sees paper there
    background = page_background(gray, median, "dark", 48)
    gap = (slice(100, 380), slice(290, 350))
    assert float(np.mean(median[gap])) > float(np.mean(gray[gap])) + 60
    assert abs(float(np.mean(background[gap])) - float(np.mean(gray[gap]))) < 8
    # Over the digits the background is the paper, not the ink.
    assert float(np.min(background[200:290, 140:240])) > 150


def test_the_desk_between_two_sheets_is_no_digit():
    found = find_digits(two_sheets())
    assert len(found.boxes) == 2 and all(box[2] < 120 and box[3] < 150 for box in found.boxes)
    # Without the step the gap is a tall dark bar: a "1" between the two digits.
    without = find_digits(two_sheets(), config=WITHOUT_PAGE_EDGES)
    assert any(270 <= x <= 290 and h > 300 for x, _, _, h in without.boxes)


def test_page_background_leaves_small_images_alone():
    crop = np.full((PAGE_PHOTO_PX - 1, PAGE_PHOTO_PX - 1), 200, np.uint8)
    crop[:, :30] = 60
    median = np.full_like(crop, 200)
    assert page_background(crop, median, "dark", 15) is median


@pytest.mark.parametrize("thickness", [1, 2, 3, 5, 9])
def test_a_shadow_or_a_band_does_not_swamp_a_pen_of_any_width(thickness):
    writing = np.zeros((480, 640), np.uint8)
    for i in range(4):  # four 7s
        x = 80 + 120 * i
        cv2.line(writing, (x, 100), (x + 40, 100), 255, thickness)
        cv2.line(writing, (x + 40, 100), (x + 10, 190), 255, thickness)
    pen = stroke_width(writing)
    assert pen <= thickness + 3
    shadowed, banded = writing.copy(), writing.copy()
    cv2.rectangle(shadowed, (80, 260), (600, 460), 255, -1)  # a phone's shadow below the writing
    cv2.rectangle(banded, (0, 300), (639, 340), 255, -1)  # a dark band across the page
    assert stroke_width(shadowed) == pen and stroke_width(banded) == pen


def test_a_shadow_does_not_swamp_the_pen_width():
    mask = np.zeros((480, 640), np.uint8)
    cv2.putText(mask, "3 7 4", (60, 150), cv2.FONT_HERSHEY_SIMPLEX, 3.0, 255, 5)
    pen = stroke_width(mask)
    assert 0 < pen < 20
    shadowed = mask.copy()
    cv2.rectangle(shadowed, (80, 260), (600, 460), 255, -1)  # a phone's shadow below the writing
    assert stroke_width(shadowed) == pytest.approx(pen, abs=0.6)
    assert has_blob(shadowed) and not has_blob(mask)


def test_a_noisy_fat_marker_measures_fat_and_a_hairline_stays_thin():
    rng = np.random.default_rng(3)
    fat = np.zeros((600, 600), np.uint8)
    cv2.line(fat, (150, 80), (300, 520), 255, 41)
    cv2.line(fat, (300, 520), (450, 80), 255, 41)
    # Sensor noise at the threshold: burrs and bites all along the stroke's edge.
    edge = cv2.morphologyEx(fat, cv2.MORPH_GRADIENT, np.ones((5, 5), np.uint8)) > 0
    flip = edge & (rng.random(fat.shape) < 0.35)
    ragged = np.where(flip, 255 - fat, fat).astype(np.uint8)
    assert stroke_width(ragged) >= 30
    hairline = np.zeros((300, 300), np.uint8)
    cv2.line(hairline, (40, 40), (250, 260), 255, 1)
    cv2.line(hairline, (250, 40), (40, 260), 255, 1)
    assert stroke_width(hairline) <= 1.6


def test_the_noise_floor_ignores_a_flat_surround():
    rng = np.random.default_rng(5)
    paper = np.clip(rng.normal(0, 0.03, (480, 640)), 0, 1).astype(np.float32)
    framed = paper.copy()
    framed[:, :320] = 0.0  # a flat, noiseless surround: nothing to measure there
    assert paper_noise_floor(framed) == pytest.approx(paper_noise_floor(paper), rel=0.1)
    assert paper_noise_floor(paper) == pytest.approx(0.18, abs=0.03)  # six deviations of 0.03


def test_a_page_photo_needs_a_clear_majority_to_be_read_as_bright_ink():
    def strokes(size: int) -> np.ndarray:
        image = np.full((size, size), 128, np.uint8)
        unit = size // 20
        for i in range(5):  # five dark strokes ...
            image[2 * unit:18 * unit, (2 + 3 * i) * unit:(2 + 3 * i) * unit + unit // 2] = 40
        for i in range(6):  # ... and six bright ones: 1.2 x the pixels
            image[(2 + 3 * i) * unit // 1:(2 + 3 * i) * unit + unit // 2, 2 * unit:15 * unit] = 220
        return image
    image = strokes(400)
    paper = np.full_like(image, 128)
    assert detect_polarity(image, paper) == "bright"  # the majority decides ...
    assert detect_polarity(image, paper, dark_prior=DARK_INK_PRIOR) == "dark"  # ... unless it is a page photo
    # find_digits treats a photo at least PAGE_PHOTO_PX on its shorter side as a page photo.
    photo = cv2.GaussianBlur(image, (0, 0), 1.0)
    assert min(photo.shape) >= PAGE_PHOTO_PX and find_digits(photo).polarity == "dark"
    assert find_digits(photo, config=WITHOUT_PAGE_EDGES).polarity == "bright"


def test_a_page_smaller_than_the_desk_is_paper_not_ink():
    page = np.full((400, 600), 255, np.uint8)  # a clean image's minority level: the page, as "ink"
    page[:40], page[-40:], page[:, :60], page[:, -60:] = 0, 0, 0, 0
    holes = np.zeros_like(page)
    cv2.putText(holes, "3 9", (150, 260), cv2.FONT_HERSHEY_SIMPLEX, 4.0, 255, 7)
    page[holes > 0] = 0  # the writing: thin holes in the page
    assert encloses_writing(page, stroke_width(page))
    zero = np.zeros((200, 200), np.uint8)  # a drawn 0: its hole is wider than its stroke
    cv2.ellipse(zero, (100, 100), (60, 80), 0, 0, 360, 255, 25)
    assert not encloses_writing(zero, stroke_width(zero))
    pinholes = zero.copy()  # a marker's stroke with a few specks of paper in it: no writing inside
    pinholes[100, 30] = pinholes[30, 100] = pinholes[170, 100] = 0
    assert not encloses_writing(pinholes, stroke_width(pinholes))


def test_a_desk_all_around_the_image_is_a_blob_and_a_thin_canvas_frame_is_not():
    def framed(thickness: int) -> np.ndarray:
        mask = np.zeros((480, 640), np.uint8)
        cv2.rectangle(mask, (0, 0), (639, 479), 255, 2 * thickness)  # half of it falls outside
        cv2.putText(mask, "5", (250, 330), cv2.FONT_HERSHEY_SIMPLEX, 6.0, 255, 12)
        return mask
    assert has_blob(framed(70))  # a desk band far thicker than the pen
    assert not has_blob(framed(12))  # a frame drawn with the digit's own pen
