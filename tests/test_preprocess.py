"""edge.preprocess: each step on synthetic images, and property tests on arbitrary frames."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from edge.preprocess import (
    FindConfig,
    InvalidFrameError,
    candidate_boxes,
    detect_polarity,
    estimate_background,
    find_digits,
    normalize_digit,
    reading_order,
    remove_ruled_lines,
    to_gray,
)


def paper_with_strokes(height=240, width=320, ink=40, paper=210, gradient=0.0) -> np.ndarray:
    """Grey paper (optionally lit unevenly) with a '1'-like bar and a ring (a '0')."""
    xs = np.linspace(-0.5, 0.5, width, dtype=np.float32)
    image = np.tile(paper * (1 + gradient * xs), (height, 1))
    cv2.line(image, (80, 60), (80, 160), float(ink), 6)
    cv2.ellipse(image, (200, 110), (28, 48), 0, 0, 360, float(ink), 6)
    return np.clip(image, 0, 255).astype(np.uint8)


# --- to_gray ---------------------------------------------------------------------------------

def test_to_gray_reads_every_supported_format():
    bgr = np.zeros((4, 6, 3), np.uint8)
    bgr[..., 0] = 255  # pure blue in BGR
    gray_from_bgr = to_gray(bgr)
    assert gray_from_bgr.shape == (4, 6) and int(gray_from_bgr[0, 0]) == 29  # 0.114 * 255
    assert int(to_gray(bgr[..., ::-1].copy(), "rgb")[0, 0]) == 29
    bgra = np.dstack([bgr, np.full((4, 6), 7, np.uint8)])
    assert int(to_gray(bgra)[0, 0]) == 29 and int(to_gray(bgra, "xrgb")[0, 0]) == 29
    grey = np.full((4, 6), 99, np.uint8)
    assert to_gray(grey) is grey
    assert to_gray(grey[..., None]).shape == (4, 6)


def test_yuv420_uses_the_y_plane_directly():
    bgr = np.random.default_rng(0).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    yuv = cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV_I420)
    assert yuv.shape == (72, 64)
    y_plane = to_gray(yuv, "yuv420")
    np.testing.assert_array_equal(y_plane, yuv[:48])
    # OpenCV's I420 is BT.601 limited range: Y = 16 + 219/255 * grey (contrast-relative
    # thresholding does not care about the offset).
    expected = 16 + to_gray(bgr).astype(float) * 219 / 255
    assert np.abs(y_plane - expected).max() <= 2


@pytest.mark.parametrize("dtype,value,expected", [
    (np.uint16, 65535, 255), (np.float32, 1.0, 255), (np.float64, 0.5, 128), (np.bool_, True, 255),
])
def test_other_dtypes_are_scaled_to_uint8(dtype, value, expected):
    assert int(to_gray(np.full((3, 3), value, dtype))[0, 0]) == expected


@pytest.mark.parametrize("frame,fmt,message", [
    (np.zeros((4, 4, 2), np.uint8), "auto", "expected"),
    (np.zeros((4, 4, 5), np.uint8), "auto", "expected"),
    (np.zeros((4, 4), np.int64), "auto", "unsupported pixel type int64"),
    (np.zeros((4, 4), np.complex64), "auto", "unsupported pixel type"),
    (np.zeros((5, 4), np.uint8), "yuv420", "height divisible by 3"),
    (np.zeros((4, 4, 3), np.uint8), "gray", "not grey"),
    (np.zeros((4, 4, 3), np.uint8), "bgra", "does not have 3 channels"),
    (np.zeros((4, 4), np.uint8), "hsv", "unknown pixel format"),
    (np.zeros((2, 2, 2, 2), np.uint8), "auto", "expected"),
])
def test_invalid_frames_raise_a_clear_error(frame, fmt, message):
    with pytest.raises(InvalidFrameError, match=message):
        to_gray(frame, fmt)


# --- background, polarity, mask ----------------------------------------------------------------

def test_background_ignores_ink_and_follows_the_light():
    image = paper_with_strokes(gradient=0.4)
    background = estimate_background(image)
    paper_only = np.tile(210 * (1 + 0.4 * np.linspace(-0.5, 0.5, 320)), (240, 1))
    assert np.abs(background.astype(float) - paper_only).mean() < 6  # ink removed
    assert background[:, 300].mean() - background[:, 20].mean() > 60  # gradient kept


def test_polarity_is_detected_both_ways():
    dark_ink = paper_with_strokes()
    assert detect_polarity(dark_ink, estimate_background(dark_ink)) == "dark"
    bright_ink = 255 - dark_ink  # white strokes on black, like MNIST or a paint program
    assert detect_polarity(bright_ink, estimate_background(bright_ink)) == "bright"


@pytest.mark.parametrize("gradient", [0.0, 0.6])
@pytest.mark.parametrize("invert", [False, True])
def test_strokes_are_found_under_uneven_light_and_either_polarity(gradient, invert):
    image = paper_with_strokes(gradient=gradient)
    if invert:
        image = 255 - image
    found = find_digits(image)
    assert found.polarity == ("bright" if invert else "dark")
    assert len(found.boxes) == 2
    (x1, _, _, _), (x2, _, _, _) = found.boxes
    assert x1 < 100 < 150 < x2  # the bar, then the ring: left to right


def test_low_light_low_contrast_is_still_found():
    image = paper_with_strokes(ink=25, paper=60)
    noisy = np.clip(image + np.random.default_rng(1).normal(0, 3, image.shape), 0, 255).astype(np.uint8)
    assert len(find_digits(noisy).boxes) == 2


@pytest.mark.parametrize("value", [0, 255, 128])
def test_uniform_frames_have_no_digits(value):
    assert find_digits(np.full((480, 640), value, np.uint8)).boxes == []


def test_blank_noisy_paper_has_no_digits():
    rng = np.random.default_rng(2)
    paper = np.clip(rng.normal(200, 6, (480, 640)), 0, 255).astype(np.uint8)
    assert find_digits(paper).boxes == []


# --- candidate boxes ----------------------------------------------------------------------------

def mask_with(*shapes) -> np.ndarray:
    mask = np.zeros((200, 300), np.uint8)
    for draw in shapes:
        draw(mask)
    return mask


def test_lines_blobs_edges_and_specks_are_rejected_digits_kept():
    mask = mask_with(
        lambda m: cv2.rectangle(m, (20, 20), (280, 24), 255, -1),  # a ruled line
        lambda m: cv2.rectangle(m, (30, 60), (90, 120), 255, -1),  # a solid blob (shadow)
        lambda m: cv2.rectangle(m, (0, 130), (20, 190), 255, 3),  # cut by the frame edge
        lambda m: cv2.circle(m, (150, 150), 2, 255, -1),  # a speck
        lambda m: cv2.ellipse(m, (200, 100), (18, 30), 0, 0, 360, 255, 4),  # a '0'
    )
    boxes = candidate_boxes(mask)
    assert len(boxes) == 1
    x, y, w, h = boxes[0]
    assert abs(x + w / 2 - 200) <= 2 and abs(y + h / 2 - 100) <= 2


def test_a_broken_stroke_is_joined_into_one_digit():
    mask = mask_with(
        lambda m: cv2.line(m, (130, 60), (170, 60), 255, 4),  # the detached top bar of a 5
        lambda m: cv2.ellipse(m, (150, 110), (20, 30), 0, -90, 180, 255, 4),  # its belly
    )
    assert len(candidate_boxes(mask)) == 1


def test_thin_ones_are_kept():
    mask = mask_with(lambda m: cv2.line(m, (150, 50), (152, 150), 255, 5))
    assert len(candidate_boxes(mask)) == 1


def test_too_many_candidates_is_texture_not_digits():
    mask = np.zeros((400, 400), np.uint8)
    for row in range(8):
        for col in range(8):
            cv2.ellipse(mask, (25 + col * 48, 25 + row * 48), (8, 14), 0, 0, 360, 255, 2)
    assert candidate_boxes(mask, FindConfig(max_digits=32)) == []
    assert len(candidate_boxes(mask, FindConfig(max_digits=64))) == 64


# --- reading order ----------------------------------------------------------------------------

def test_reading_order_lines_top_to_bottom_each_left_to_right():
    # "20" on line 0 (written slightly uphill), "48" on line 1; given in scrambled order.
    boxes = [(200, 150, 30, 50), (40, 22, 30, 50), (90, 14, 30, 50), (140, 156, 30, 50)]
    ordered, lines = reading_order(boxes)
    assert ordered == [(40, 22, 30, 50), (90, 14, 30, 50), (140, 156, 30, 50), (200, 150, 30, 50)]
    assert lines == [0, 0, 1, 1]
    assert reading_order([]) == ([], [])


# --- MNIST normalisation --------------------------------------------------------------------

def test_normalize_digit_fits_20x20_keeps_aspect_and_centres_mass():
    tall = np.zeros((100, 30), np.float32)
    tall[:, 10:20] = 1.0  # a thick '1', 100 px tall
    crop = normalize_digit(tall)
    assert crop.shape == (28, 28) and crop.dtype == np.uint8
    ys, xs = np.nonzero(crop > 0)
    assert ys.max() - ys.min() + 1 == 20  # longest side fitted to 20
    assert xs.max() - xs.min() + 1 <= 4  # aspect kept: 10/100 of 20 = 2 px (+ anti-aliasing)
    weights = crop.astype(float)
    cy = (np.indices(crop.shape)[0] * weights).sum() / weights.sum()
    cx = (np.indices(crop.shape)[1] * weights).sum() / weights.sum()
    assert abs(cy - 14) <= 0.5 and abs(cx - 14) <= 0.5  # where MNIST puts it
    assert normalize_digit(np.zeros((5, 5))).max() == 0
    assert normalize_digit(np.zeros((0, 0))).shape == (28, 28)


def test_normalize_digit_reproduces_mnist_itself(mnist):
    # MNIST digits are already normalised; cropping one to its ink and normalising it again
    # must give (nearly) the same image.
    correlations = []
    for image in mnist.test.images[:200]:
        ys, xs = np.nonzero(image)
        again = normalize_digit(image[ys.min():ys.max() + 1, xs.min():xs.max() + 1])
        correlations.append(np.corrcoef(image.ravel(), again.ravel())[0, 1])
    assert np.median(correlations) > 0.97


def test_roi_limits_the_search_and_boxes_stay_in_frame_coordinates():
    image = paper_with_strokes()
    found = find_digits(image, roi=(150, 30, 160, 180))  # only the ring
    assert len(found.boxes) == 1
    x, y, w, h = found.boxes[0]
    assert 160 < x < 200 and 50 < y < 80
    with pytest.raises(InvalidFrameError, match="positive width and height"):
        find_digits(image, roi=(0, 0, 0, 10))
    assert find_digits(image, roi=(1000, 1000, 50, 50)).boxes == []  # outside: nothing, no error


# --- properties over arbitrary frames ----------------------------------------------------------

frame_shapes = st.tuples(st.integers(0, 160), st.integers(0, 160),
                         st.sampled_from([None, 1, 3, 4])).map(lambda s: s[:2] if s[2] is None else s)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(arrays(st.sampled_from([np.uint8, np.uint16, np.float32, np.float64, np.bool_]), frame_shapes,
              elements=st.integers(0, 1) | st.just(0)))
def test_find_digits_never_crashes_on_structured_frames(frame):
    check_segmentation(frame)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 200), st.integers(0, 200), st.sampled_from([None, 1, 3, 4]), st.integers(0, 2**32 - 1),
       st.sampled_from([np.uint8, np.uint16, np.float32]))
def test_find_digits_never_crashes_on_noise(height, width, channels, seed, dtype):
    rng = np.random.default_rng(seed)
    shape = (height, width) if channels is None else (height, width, channels)
    frame = rng.random(shape)
    if dtype != np.float32:
        frame = (frame * np.iinfo(dtype).max).astype(dtype)
    else:
        frame = frame.astype(dtype)
    check_segmentation(frame)


def check_segmentation(frame):
    found = find_digits(frame)
    assert found.crops.dtype == np.uint8 and found.crops.shape[1:] == (28, 28)
    assert len(found.crops) == len(found.boxes) == len(found.lines)
    height, width = frame.shape[:2]
    for x, y, w, h in found.boxes:
        assert x >= 0 and y >= 0 and x + w <= width and y + h <= height


@settings(max_examples=30, deadline=None)
@given(st.floats(allow_nan=True, allow_infinity=True, width=32))
def test_nan_and_inf_frames_do_not_crash(value):
    assert find_digits(np.full((64, 64), value, np.float32)).boxes == []


@pytest.mark.parametrize("shape", [(1, 1), (0, 0), (1, 5000), (3000, 4000, 3)])
def test_degenerate_and_huge_frames(shape):
    found = find_digits(np.full(shape, 200, np.uint8))
    assert found.boxes == []


# --- ruled paper ------------------------------------------------------------------------------

def test_rules_are_removed_and_digits_crossing_them_survive():
    mask = np.zeros((240, 320), np.uint8)
    for y in range(20, 240, 30):
        cv2.line(mask, (0, y), (319, y + 3), 255, 2)  # notebook rules, slightly sloped
    cv2.line(mask, (30, 0), (31, 239), 255, 2)  # margin line
    cv2.line(mask, (100, 45), (100, 125), 255, 4)  # a '1' crossing two rules
    cv2.ellipse(mask, (200, 85), (22, 38), 0, 0, 360, 255, 4)  # a '0' crossing rules
    cleaned = remove_ruled_lines(mask)
    assert cleaned[20:24, 150].max() == 0 and cleaned[200, 31].max() == 0  # rules and margin gone
    # The '1' is whole again where the rules crossed it (rows 50 and 80).
    assert cleaned[45:126, 98:103].max(axis=1).min() == 255
    boxes = candidate_boxes(cleaned)
    assert len(boxes) == 2


def test_digit_strokes_are_not_rules():
    # Pen strokes are ~5-12 % of a digit's height, so a '1' filling most of the frame is thick.
    mask = np.zeros((240, 320), np.uint8)
    cv2.line(mask, (150, 20), (150, 220), 255, 10)  # a '1' spanning 83 % of the frame height
    cv2.line(mask, (100, 70), (100, 160), 255, 3)  # a thinner, shorter '1'
    cv2.line(mask, (200, 60), (260, 60), 255, 8)  # a thick '7' bar
    cv2.line(mask, (260, 60), (225, 200), 255, 8)
    np.testing.assert_array_equal(remove_ruled_lines(mask), mask)


def test_upsample_small_only_touches_small_images():
    from edge.preprocess import SMALL_IMAGE_PX, upsample_small

    big = np.zeros((SMALL_IMAGE_PX, 300), np.uint8)
    same, factor = upsample_small(big)
    assert same is big and factor == 1.0
    small, factor = upsample_small(np.zeros((16, 32), np.uint8))
    assert small.shape == (SMALL_IMAGE_PX, 2 * SMALL_IMAGE_PX) and factor == SMALL_IMAGE_PX / 16


def test_shrink_large_only_touches_large_images():
    from edge.preprocess import LARGE_IMAGE_PX, shrink_large

    page = np.zeros((1000, LARGE_IMAGE_PX), np.uint8)
    same, factor = shrink_large(page)
    assert same is page and factor == 1.0
    photo, factor = shrink_large(np.zeros((3024, 4032), np.uint8))
    assert photo.shape == (1536, LARGE_IMAGE_PX) and factor == LARGE_IMAGE_PX / 4032


def test_a_phone_photo_is_read_shrunk_with_boxes_in_its_own_pixels(recognizer):
    """A 12-megapixel photo of '47' written with a marker: read at the working size, reported in
    the photo's own coordinates."""
    photo = np.full((3024, 4032), 205, np.uint8)
    cv2.line(photo, (1300, 900), (1000, 1700), 30, 60)  # a 4: diagonal, bar, stem
    cv2.line(photo, (1000, 1700), (1600, 1700), 30, 60)
    cv2.line(photo, (1450, 1100), (1450, 2200), 30, 60)
    cv2.line(photo, (2100, 1000), (2800, 1000), 30, 60)  # a 7
    cv2.line(photo, (2800, 1000), (2350, 2200), 30, 60)
    reading = recognizer.read(photo)
    assert reading.text == "47"
    x, y, w, h = reading.digits[1].box
    assert abs(x - 2070) < 40 and abs(y - 970) < 40 and abs(x + w - 2830) < 40 and abs(y + h - 2230) < 40


def test_a_huge_digit_has_its_pen_changed_at_a_working_size(monkeypatch):
    """A hairline digit 1,600 px tall is thickened like the same digit drawn 160 px tall: the pen
    is changed after shrinking (at full size the kernel is hundreds of pixels wide)."""
    import edge.preprocess as preprocess

    changed_at = []
    real_normalize_stroke = preprocess.normalize_stroke

    def spy(ink, stroke, scale):
        changed_at.append(ink.shape)
        return real_normalize_stroke(ink, stroke, scale)

    monkeypatch.setattr(preprocess, "normalize_stroke", spy)
    def ring(size: int, pen: int) -> np.ndarray:
        ink = np.zeros((size, size * 3 // 4), np.float32)
        cv2.ellipse(ink, (size * 3 // 8, size // 2), (size * 3 // 10, size * 9 // 20), 0, 0, 360, 1.0, pen)
        return ink

    big = normalize_digit(ring(1600, 10), stroke=10)
    small = normalize_digit(ring(160, 1), stroke=1)
    assert np.count_nonzero(big > 127) > 1.5 * np.count_nonzero(normalize_digit(ring(1600, 10)) > 127)
    overlap = np.count_nonzero((big > 127) & (small > 127)) / np.count_nonzero((big > 127) | (small > 127))
    assert overlap > 0.7
    assert max(changed_at[0]) <= preprocess.PEN_CHANGE_PX + 2  # shrunk first (+2: a pixel of border)


@pytest.mark.parametrize("side", [14, 16, 20])
def test_a_thumbnail_digit_is_found_with_boxes_in_its_own_pixels(pool, recognizer, side):
    """A 14-20 px crop with a margin (a USPS-size digit, a thumbnail) holds a digit only 7-10 px
    tall: it is upsampled before finding, and its box is reported in the thumbnail's own
    coordinates. Without the upsampling at most one of these ten is read."""
    read = 0
    for index in range(10):
        digit = pool.images[int(np.flatnonzero(pool.labels == index)[0])]
        digit = cv2.copyMakeBorder(digit, 8, 8, 8, 8, cv2.BORDER_CONSTANT, value=0)
        thumbnail = cv2.resize(255 - digit, (side, side), interpolation=cv2.INTER_AREA)
        found = find_digits(thumbnail)
        for x, y, w, h in found.boxes:
            assert x >= 0 and y >= 0 and x + w <= side and y + h <= side
        reading = recognizer.read(thumbnail)
        read += reading.text == str(index)
    assert read >= 8
