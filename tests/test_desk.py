"""edge.preprocess's "desk" step: a page photographed on a darker desk is searched alone, as dark
ink on paper. Constructed grey images: a sheet on a grainy desk, showing on four sides or two, a
page under a soft shadow, a thin pen on grainy paper beside a lit strip, a white digit on a black
canvas."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from edge.preprocess import FindConfig, desk_sides, find_digits, page_area, quarter

WITHOUT_DESK = FindConfig(steps=FindConfig().steps - {"desk"})


def sheet_on_desk(page: tuple[int, int, int, int], size: tuple[int, int] = (480, 640), text: str = "2 5 8",
                  pen: int = 6, paper_grain: float = 3.0, seed: int = 0) -> np.ndarray:
    """(H, W) uint8: a sheet (grey 205) at ``page`` (x, y, w, h; it may run out of the frame) on a
    grainy desk (grey 90), three printed digits on the sheet 80 px in from its left side and
    60 px under its top, the whole blurred a little like a lens."""
    rng = np.random.default_rng(seed)
    image = np.full(size, 90.0, np.float32)
    image += cv2.GaussianBlur(rng.normal(0, 25, size).astype(np.float32), (0, 0), 4)
    x, y, w, h = page
    sheet = (slice(max(0, y), y + h), slice(max(0, x), x + w))
    image[sheet] = 205.0 + rng.normal(0, paper_grain, image[sheet].shape)
    ink = np.zeros(size, np.uint8)
    cv2.putText(ink, text, (x + 80, y + 160), cv2.FONT_HERSHEY_SIMPLEX, 3.0, 255, pen, cv2.LINE_AA)
    image -= (image - 50.0) * (ink / 255.0)
    return np.clip(cv2.GaussianBlur(image, (0, 0), 1.0), 0, 255).astype(np.uint8)


def glyph_boxes(page: tuple[int, int, int, int], size=(480, 640), text: str = "2 5 8", pen: int = 6):
    ink = np.zeros(size, np.uint8)
    cv2.putText(ink, text, (page[0] + 80, page[1] + 160), cv2.FONT_HERSHEY_SIMPLEX, 3.0, 255, pen, cv2.LINE_AA)
    count, _, stats, _ = cv2.connectedComponentsWithStats(ink)
    return sorted(tuple(int(v) for v in stats[i, :4]) for i in range(1, count))


def matches(found, truth) -> bool:
    """Each box found lies on one glyph (within 3 px), one box per glyph."""
    if len(found) != len(truth):
        return False
    return all(abs(a[0] - b[0]) <= 3 and abs(a[1] - b[1]) <= 3 and abs(a[2] - b[2]) <= 6 and abs(a[3] - b[3]) <= 6
               for a, b in zip(sorted(found), truth, strict=True))


def test_a_sheet_with_the_desk_on_every_side_is_cropped_just_inside_its_edges():
    page = (100, 80, 440, 320)
    area = page_area(sheet_on_desk(page))
    assert area is not None
    x, y, w, h = area
    # Inside the sheet, by at most two shrunk pixels (8 px) on each side.
    assert page[0] < x <= page[0] + 8 and page[1] < y <= page[1] + 8
    assert page[0] + page[2] - 8 <= x + w < page[0] + page[2] and page[1] + page[3] - 8 <= y + h < page[1] + page[3]


def test_a_sheet_running_out_of_the_frame_is_cropped_only_where_the_desk_shows():
    page = (120, 90, 600, 500)  # runs out at the right and the bottom
    assert desk_sides(quarter(sheet_on_desk(page)))[0] == [True, False, True, False]  # top, bottom, left, right
    x, y, w, h = page_area(sheet_on_desk(page))
    assert page[0] < x <= page[0] + 8 and page[1] < y <= page[1] + 8
    assert x + w == 640 and y + h == 480


@pytest.mark.parametrize("page", [(100, 80, 440, 320), (120, 90, 600, 500), (-50, 120, 600, 400)])
def test_the_digits_of_a_sheet_on_a_desk_come_back_in_frame_coordinates(page):
    image = sheet_on_desk(page)
    found = find_digits(image)
    assert found.polarity == "dark"
    assert matches(found.boxes, glyph_boxes(page))


def test_a_thin_pen_on_grainy_paper_beside_a_lit_strip_is_dark_ink():
    # The failure this step fixed on real photos: the pixel vote took a lit strip along the sheet's
    # side for bright ink, and the thin writing for its background.
    page = (100, 60, 440, 360)
    image = sheet_on_desk(page, pen=2, seed=1).astype(np.float32)
    image[60:420, 505:540] += 45.0  # a lit strip, 35 px wide, along the sheet's right side
    image = np.clip(image, 0, 255).astype(np.uint8)
    with_desk = find_digits(image)
    assert with_desk.polarity == "dark" and matches(with_desk.boxes, glyph_boxes(page, pen=2))
    without = find_digits(image, config=WITHOUT_DESK)
    assert without.polarity == "bright" and not matches(without.boxes, glyph_boxes(page, pen=2))


def soft_shadow_page(softness: float) -> np.ndarray:
    """(480, 640) uint8: a full-frame page (grey 205) whose four sides lie in a soft shadow (a
    vignette down to 40 % of the light), digits in the middle and one in the shadowed corner."""
    ys, xs = np.mgrid[0:480, 0:640].astype(np.float32)
    inside = np.minimum.reduce([xs, 639 - xs, ys, 479 - ys])  # distance to the nearest side
    light = 0.4 + 0.6 / (1 + np.exp(-(inside - 60) / softness))
    ink = np.zeros((480, 640), np.uint8)
    cv2.putText(ink, "2 5 8", (180, 260), cv2.FONT_HERSHEY_SIMPLEX, 3.0, 255, 6, cv2.LINE_AA)
    cv2.putText(ink, "7", (20, 460), cv2.FONT_HERSHEY_SIMPLEX, 2.0, 255, 5, cv2.LINE_AA)
    image = (205.0 - 155.0 * ink / 255.0) * light
    return np.clip(cv2.GaussianBlur(image, (0, 0), 1.0), 0, 255).astype(np.uint8)


def test_a_soft_shadow_round_the_sides_is_no_desk_and_its_writing_is_read():
    image = soft_shadow_page(softness=12.0)
    assert all(desk_sides(quarter(image))[0])  # every side is dark enough for a desk ...
    assert page_area(image) is None  # ... but the edge is soft: a shadow on the page
    assert len(find_digits(image).boxes) == 4  # the 7 in the shadowed corner too


@pytest.mark.parametrize("light", [0.55, 0.65])
def test_writing_under_a_soft_shadow_across_the_sheet_is_not_cut_off(light):
    # Three sharp edges of the sheet against the desk, and a hand's soft shadow over its lower
    # part, dark enough to fall outside the bright region: that side is not cut.
    page = (60, 40, 520, 400)
    image = sheet_on_desk(page).astype(np.float32)
    ink = np.zeros(image.shape, np.uint8)
    cv2.putText(ink, "3 4", (140, 390), cv2.FONT_HERSHEY_SIMPLEX, 3.0, 255, 6, cv2.LINE_AA)
    image -= (image - 50.0) * (ink / 255.0) * (image > 150)
    rows = np.arange(480, dtype=np.float32)[:, None]
    image *= light + (1 - light) / (1 + np.exp((rows - 300) / 15))
    image = np.clip(image, 0, 255).astype(np.uint8)
    area = page_area(image)
    assert area is None or area[1] + area[3] == 480  # never cut above the shadowed writing
    assert len(find_digits(image).boxes) == 5


def test_a_shadow_across_part_of_a_side_is_no_desk():
    image = np.full((480, 640), 205, np.uint8)
    image[400:, 150:] = 80  # a hard shadow along most of the bottom, not all of it
    assert desk_sides(quarter(image))[0] == [False, False, False, False]
    assert page_area(image) is None


def test_a_white_digit_on_a_black_canvas_is_no_page():
    rng = np.random.default_rng(2)
    canvas = np.zeros((300, 300), np.float32)
    cv2.circle(canvas, (150, 150), 90, 255.0, 70)  # a fat 0 that covers most of the middle
    noisy = np.clip(canvas + rng.normal(0, 8, canvas.shape), 0, 255).astype(np.uint8)
    assert page_area(noisy) is None
    assert find_digits(noisy).polarity == "bright"


def test_small_images_and_frames_without_a_desk_are_left_whole():
    assert page_area(np.full((100, 100), 200, np.uint8)) is None  # a crop: no page edge
    assert page_area(np.full((480, 640), 200, np.uint8)) is None
    crop = sheet_on_desk((10, 10, 80, 80), size=(100, 100))
    assert page_area(crop) is None
