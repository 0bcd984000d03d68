"""Reading real handwriting: each new finder step on constructed images, the evaluator's maths,
and the real-image dev set (../shared/data/realdigits-dev) gated at its measured level."""

from __future__ import annotations

import csv
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from devtools.realeval import align_digits, confusion_matrix, evaluate_images, read_labels, score_image, summarize
from edge.errors import InputError
from edge.images import ImageFileError, flatten_alpha, read_image
from edge.preprocess import (
    PATH_STEP,
    candidate_boxes,
    cut_paths,
    find_digits,
    ink_map,
    is_two_level,
    normalize_digit,
    split_lattice,
    stroke_width,
)
from edge.recognizer import Recognizer, best_cut, cuts_through_ink, piece_score
from tests.conftest import REPO_ROOT

DEV_SET = REPO_ROOT.parent / "shared" / "data" / "realdigits-dev"


def mnist_digit(pool, label: int, index: int = 0) -> np.ndarray:
    return pool.images[np.flatnonzero(pool.labels == label)[index]]


# --- stroke width and the two-level test -------------------------------------------------------

@pytest.mark.parametrize("width", [2, 5, 12, 30])
def test_stroke_width_is_measured_whatever_the_digit_size(width):
    mask = np.zeros((400, 400), np.uint8)
    cv2.line(mask, (200, 40), (200, 360), 255, width)
    cv2.ellipse(mask, (100, 200), (60, 100), 0, 0, 360, 255, width)
    drawn = np.count_nonzero(mask[200, 180:220])  # OpenCV's real line width for that thickness
    assert stroke_width(mask) == pytest.approx(drawn, rel=0.25, abs=1.0)


def test_a_drawing_is_two_level_and_a_shadowed_photo_is_not():
    drawing = np.full((200, 200), 255, np.uint8)
    cv2.putText(drawing, "7", (50, 160), cv2.FONT_HERSHEY_SIMPLEX, 5, 0, 12)
    assert is_two_level(drawing)
    shadow = (np.linspace(90, 230, 200)[None, :] * np.ones((200, 1))).astype(np.uint8)
    photo = np.minimum(shadow, drawing // 2 + 40)
    assert not is_two_level(photo)


# --- frame-filling, tiny and border-touching digits ---------------------------------------------

def test_a_frame_filling_digit_stays_solid():
    """A fat paint-program stroke filling the canvas: the ink is the whole stroke, not its rims."""
    canvas = np.zeros((280, 280), np.uint8)
    cv2.line(canvas, (140, 10), (140, 270), 255, 40)
    _, mask, polarity, stroke, _ = ink_map(canvas)
    assert polarity == "bright"
    inside = mask[20:260, 125:156]  # the middle of the 40 px stroke
    assert np.count_nonzero(inside) / inside.size > 0.98
    assert stroke == pytest.approx(40, rel=0.25)


def test_a_frame_filling_photo_digit_stays_solid_under_a_gradient():
    light = (np.linspace(150, 235, 600)[None, :] * np.ones((600, 1))).astype(np.float32)
    image = light.copy()
    cv2.ellipse(image, (300, 300), (200, 270), 0, 0, 360, 40.0, 50)  # a '0' almost as big as the photo
    image = np.clip(image + np.random.default_rng(0).normal(0, 4, image.shape), 0, 255).astype(np.uint8)
    found = find_digits(image)
    assert len(found.boxes) == 1
    x, y, w, h = found.boxes[0]
    assert h > 500 and w > 380
    crop = found.crops[0]
    assert crop[14, 14] < 60 and crop[14, 6:22].max() > 200  # a ring, not two outlines


@pytest.mark.parametrize("invert", [False, True])
def test_a_28x28_mnist_style_crop_reads(recognizer, pool, invert):
    for label in range(10):
        digit = mnist_digit(pool, label)
        image = 255 - digit if invert else digit
        reading = recognizer.read(image)
        assert reading.text == str(label), (label, invert, reading.text)


def test_a_digit_touching_the_crop_border_reads(recognizer, pool):
    digit = mnist_digit(pool, 7)
    rows, cols = np.nonzero(digit > 30)
    tight = 255 - digit[rows.min():rows.max() + 1, cols.min():cols.max() + 1]  # dark on white, no margin
    big = cv2.resize(tight, None, fx=4, fy=4, interpolation=cv2.INTER_LINEAR)
    assert recognizer.read(big).text == "7"


def test_a_canvas_frame_is_not_a_digit(recognizer, pool):
    canvas = cv2.resize(mnist_digit(pool, 3), (200, 200), interpolation=cv2.INTER_LINEAR)
    cv2.rectangle(canvas, (0, 0), (199, 199), 255, 3)  # the drawing app's border, in the ink's colour
    assert recognizer.read(canvas).text == "3"


@pytest.mark.parametrize("side", [45, 60])
def test_a_small_canvas_with_a_grey_border_keeps_its_polarity(recognizer, pool, side):
    # A saved canvas's 1-px grey border, shrunk: grey levels, so no global threshold, and a median
    # background repeats the border inward, where black paper then looked like dark ink.
    for label in range(10):
        canvas = np.zeros((90, 90), np.uint8)
        canvas[15:75, 15:75] = cv2.resize(mnist_digit(pool, label), (60, 60), interpolation=cv2.INTER_LINEAR)
        canvas[:, [0, -1]] = 120
        small = cv2.resize(canvas, (side, side), interpolation=cv2.INTER_AREA)
        assert recognizer.read(small).text == str(label), label


# --- small digits, splits, joins and stroke normalisation ---------------------------------------

def test_a_small_zero_beside_tall_digits_is_kept(recognizer, pool):
    paper = np.full((200, 420), 235, np.uint8)
    for left, label, size in ((20, 7, 120), (150, 0, 55), (240, 9, 120)):
        digit = cv2.resize(mnist_digit(pool, label, 3), (size, size), interpolation=cv2.INTER_LINEAR)
        top = 170 - size  # bottoms aligned, as written on a line
        region = paper[top:top + size, left:left + size]
        np.minimum(region, 255 - digit, out=region)
    assert recognizer.read(paper).text == "709"


def test_specks_beside_digits_are_dropped_not_read_as_unknown(recognizer, pool):
    paper = np.full((200, 300), 235, np.uint8)
    digit = cv2.resize(mnist_digit(pool, 4), (120, 120), interpolation=cv2.INTER_LINEAR)
    paper[40:160, 40:160] = np.minimum(paper[40:160, 40:160], 255 - digit)
    cv2.circle(paper, (220, 150), 5, 30, -1)  # a blot at the digit's foot
    cv2.line(paper, (200, 100), (215, 100), 30, 3)  # a dash
    assert recognizer.read(paper).text == "4"


def test_two_touching_digits_are_split(recognizer, pool):
    pair = np.zeros((28, 40), np.uint8)
    pair[:, :28] = mnist_digit(pool, 2, 1)
    np.maximum(pair[:, 12:], mnist_digit(pool, 5, 1), out=pair[:, 12:])  # overlapping: one component
    pair = cv2.dilate(pair, np.ones((2, 2), np.uint8))
    image = 255 - cv2.resize(pair, None, fx=5, fy=5, interpolation=cv2.INTER_LINEAR)
    image = cv2.copyMakeBorder(image, 40, 40, 40, 40, cv2.BORDER_CONSTANT, value=255)
    found = find_digits(image)
    assert len(found.boxes) == 1 and found.splits
    assert recognizer.read(image).text == "25"


def test_the_cuts_pass_through_the_thinnest_column():
    mask = np.zeros((60, 130), np.uint8)
    cv2.circle(mask, (35, 30), 25, 255, 4)
    cv2.circle(mask, (95, 30), 25, 255, 4)
    cv2.line(mask, (58, 30), (72, 30), 255, 2)  # the ligature between them
    paths, spans = split_lattice(mask, (8, 3, 115, 54), stroke=4)
    # Some cut runs down between the two rings (box-relative columns 50-64) and crosses only the ligature.
    assert any(np.all((path >= 48) & (path <= 66)) for path in paths)
    assert all(np.all(a <= b) for a, b in zip(paths, paths[1:], strict=False))  # cuts never cross
    assert (0, len(paths) + 1) not in spans  # the whole box is the found box itself
    assert split_lattice(mask, (8, 3, 50, 54)) == ([], [])  # not wider than a digit: no cut


def reference_cut_path(ink: np.ndarray, centre: int, reach: int) -> np.ndarray:
    """The fewest-ink path near ``centre`` by the plain per-row recurrence, one cut at a time,
    ties going to the left-most column: what ``cut_paths`` computes for many cuts at once."""
    height, width = ink.shape
    lo, hi = max(0, centre - reach), min(width, centre + reach + 1)
    cost = ink[:, lo:hi].astype(np.float64)
    step = PATH_STEP
    total = [cost[0, k] + step * abs(lo + k - centre) for k in range(hi - lo)]
    came = np.zeros((height, hi - lo), np.int64)
    for row in range(1, height):
        previous, total = total, []
        for k in range(hi - lo):
            options = [(previous[k + d] + (step if d else 0.0), d) for d in (-1, 0, 1) if 0 <= k + d < hi - lo]
            best, move = min(options, key=lambda option: option[0])  # min keeps the first of equals
            total.append(best + cost[row, k])
            came[row, k] = move
    column = min(range(hi - lo), key=lambda k: total[k] + step * abs(lo + k - centre))
    path = np.empty(height, np.int64)
    for row in range(height - 1, -1, -1):
        path[row] = lo + column
        column += came[row, column]
    return path


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 2**31 - 1), st.integers(1, 40), st.integers(1, 90), st.integers(1, 20), st.integers(0, 6))
@example(seed=0, height=1, width=1, reach=1, count=2)  # one pixel: every window reaches past the box
@example(seed=1, height=30, width=3, reach=20, count=3)  # a reach far wider than the box
def test_all_cuts_of_a_box_at_once_are_the_cuts_one_at_a_time(seed, height, width, reach, count):
    rng = np.random.default_rng(seed)
    ink = rng.random((height, width)) < rng.uniform(0.0, 0.7)
    centres = [int(c) for c in rng.integers(0, width, size=count)]
    paths = cut_paths(ink, centres, reach)
    assert len(paths) == count
    for centre, path in zip(centres, paths, strict=True):
        np.testing.assert_array_equal(path, reference_cut_path(ink, centre, reach))
        assert np.all((path >= max(0, centre - reach)) & (path <= min(width - 1, centre + reach)))
        assert np.all(np.abs(np.diff(path)) <= 1)  # at most a column per row


def test_a_dense_blob_wider_than_a_digit_is_kept_but_an_underline_is_not():
    mask = np.zeros((120, 400), np.uint8)
    for k in range(4):  # four touching rings: aspect about 3
        cv2.circle(mask, (60 + 70 * k, 50), 36, 255, 6)
    cv2.line(mask, (20, 110), (380, 110), 255, 6)  # an underline, just as wide
    boxes = candidate_boxes(mask, stroke=6)
    assert len(boxes) == 1 and boxes[0][2] > 2.5 * boxes[0][3]


def test_the_best_cut_beats_a_confident_whole_only_when_it_reads_better():
    certain, likely, doubtful = np.eye(10)[8] * 0.99 + 0.001, np.eye(10)[3] * 0.95 + 0.005, np.eye(10)[1] * 0.4 + 0.06
    spans = [(0, 1), (1, 2), (0, 2)]  # one cut: left piece, right piece, (and a span ending at the cut)
    # A pair 1.7 heights wide read as one 8 at 0.99 is still two digits when both halves read well...
    whole = piece_score(certain, 170, 100)
    assert best_cut(whole, 1, spans[:2], [piece_score(likely, 80, 100)] * 2) == [0, 1]
    # ...but a digit of ordinary width read surely stays whole, however well its halves read.
    assert best_cut(piece_score(certain, 118, 100), 1, spans[:2], [piece_score(likely, 55, 100)] * 2) is None
    # A whole too wide to be a digit is cut even when its pieces read poorly (they may read as '?').
    assert best_cut(-np.inf, 1, spans[:2], [piece_score(doubtful, 80, 100)] * 2) == [0, 1]


def test_a_cut_through_no_ink_costs_nothing():
    """Two shapes apart, joined only by the closing that bridges broken strokes, are read apart
    when the pieces read better than the whole, however surely the whole reads."""
    fifteen_as_five = np.eye(10)[5] * 0.98 + 0.002
    one, five = np.eye(10)[1] * 0.99 + 0.001, np.eye(10)[5] * 0.99 + 0.001
    whole = piece_score(fifteen_as_five, 120, 100)  # 1.2 heights wide: within a 5's width
    spans, scores = [(0, 1), (1, 2)], [piece_score(one, 30, 100), piece_score(five, 80, 100)]
    assert best_cut(whole, 1, spans, scores) is None  # a cut through ink must earn its place
    assert best_cut(whole, 1, spans, scores, free=[True]) == [0, 1]


def test_a_way_crosses_ink_unless_every_cut_it_uses_is_free():
    # Cuts 1 and 2 of a lattice with spans (0, 1), (1, 2), (2, 3), (0, 2), (1, 3); only cut 1 is free.
    spans, free = [(0, 1), (1, 2), (2, 3), (0, 2), (1, 3)], (True, False)
    assert not cuts_through_ink([0, 4], spans, free)  # 0 | 1-3: through cut 1 only
    assert cuts_through_ink([3, 2], spans, free)  # 0-2 | 2-3: through cut 2
    assert cuts_through_ink([0, 1, 2], spans, free)
    assert cuts_through_ink([0, 4], spans)  # nothing free: a small box's cuts are all paid


class _FirstCropSure:
    """A stub classifier: the first crop of each batch (the one box found on a one-box page) reads
    as a 0 at ``whole``; every other crop (the pieces of its cuts) as a 0 at 0.99."""

    def __init__(self, whole: float):
        self.whole = whole

    def probabilities(self, crops: np.ndarray) -> np.ndarray:
        out = np.full((len(crops), 10), 0.01 / 9)
        out[:, 0] = 0.99
        out[0] = np.full(10, (1 - self.whole) / 9)
        out[0, 0] = self.whole
        return out


@pytest.mark.parametrize(("whole", "digits"), [(0.85, 1), (0.6, 2)])
def test_a_box_read_surely_and_no_wider_than_its_class_is_not_cut_through_ink(whole, digits):
    # Two rings touching: one box 1.3 heights wide, within a 0's width limit (1.43). Its pieces
    # read better than the whole, so the width prior alone would cut it; read at 0.85 it is one 0
    # (a classifier trained to doubt merged pairs is sure of one digit only), at 0.6 two.
    page = np.full((200, 300), 230, np.uint8)
    for centre in (120, 172):
        cv2.ellipse(page, (centre, 100), (24, 36), 0, 0, 360, 30, 6)
    found = find_digits(page)
    assert len(found.boxes) == 1 and found.splits and not any(found.splits[0].free)
    assert len(Recognizer(_FirstCropSure(whole)).read(page).digits) == digits


def _side_by_side(pool, labels, index: int, gap: int, height: int = 36) -> np.ndarray:
    """A grey page with MNIST digits in a row, ``gap`` columns of paper between one's ink and the next's."""
    page = np.full((240, 320), 200, np.uint8)
    x = 100
    for label in labels:
        digit = mnist_digit(pool, label, index)
        rows, columns = np.nonzero(digit > 100)
        digit = digit[rows.min():rows.max() + 1, columns.min():columns.max() + 1]
        width = max(1, round(digit.shape[1] * height / digit.shape[0]))
        ink = cv2.resize(digit, (width, height), interpolation=cv2.INTER_LINEAR) > 100
        columns = np.flatnonzero(ink.any(axis=0))
        ink = ink[:, columns.min():columns.max() + 1]
        page[60:60 + height, x:x + ink.shape[1]][ink] = 40
        x += ink.shape[1] + gap
    return cv2.GaussianBlur(page, (0, 0), 0.7)


@pytest.mark.parametrize("index", [1, 2])
@pytest.mark.parametrize("gap", [1, 2])
def test_a_one_a_pixel_or_two_from_its_neighbour_is_read_apart(recognizer, pool, index, gap):
    # Closing the gaps of broken strokes joins them into one box, too narrow for touching digits:
    # the cut down the paper between them lets the classifier read each.
    assert recognizer.read(_side_by_side(pool, (1, 3), index, gap)).text == "13"


def test_the_release_model_doubts_touching_pairs_so_they_are_cut(recognizer, pool):
    # Trained on the finder's merged pairs towards "unsure" (docs/training.md, negatives), the
    # model no longer reads most pairs of touching digits surely as one. 200 pairs of MNIST test
    # digits whose ink overlaps by 2 or 4 columns, 36 or 60 px tall: this model reads 147 exactly;
    # the round-5 model, trained without negatives, 130, and a control trained with the same code, 133.
    rng = np.random.default_rng(0)
    read = 0
    for _ in range(50):
        for gap in (-2, -4):
            for height in (36, 60):
                labels = tuple(int(label) for label in rng.integers(0, 10, 2))
                index = int(rng.integers(0, 20))
                page = _side_by_side(pool, labels, index, gap, height)
                read += recognizer.read(page).text == "".join(map(str, labels))
    assert read >= 140


def test_three_uneven_touching_digits_are_cut_in_three():
    """Over-segmenting with a lattice reaches uneven widths: the path 1 | 0 | 8 exists."""
    spans = [(0, 1), (1, 2), (2, 3), (0, 2), (1, 3)]
    scores = [-0.05, -0.9, -0.9, -0.1, -1.5]  # cut 1 lies inside the 0, so only (1, 3) and (0, 2) pair up
    assert best_cut(-2.0, 2, spans, scores) == [3, 2]


def test_a_broken_digit_is_joined_by_the_classifier(recognizer, pool):
    four = cv2.resize(mnist_digit(pool, 4, 2), (140, 140), interpolation=cv2.INTER_LINEAR)
    four = np.where(four > 100, 255, 0).astype(np.uint8)
    cols = np.flatnonzero(four.sum(axis=0))
    gap = (cols.min() + cols.max()) // 2
    four[:, gap - 4:gap + 4] = 0  # a pen that skipped: left and right halves apart
    image = cv2.copyMakeBorder(255 - four, 30, 30, 30, 30, cv2.BORDER_CONSTANT, value=255)
    found = find_digits(image)
    assert len(found.boxes) == 2 and found.joins
    assert recognizer.read(image).text == "4"


def test_a_hairline_digit_is_thickened_and_a_marker_thinned():
    hairline = np.zeros((300, 200), np.float32)
    cv2.ellipse(hairline, (100, 150), (80, 130), 0, 0, 360, 1.0, 2)
    marker = np.zeros((300, 200), np.float32)
    cv2.ellipse(marker, (100, 150), (60, 105), 0, 0, 360, 1.0, 80)
    plain_hair = normalize_digit(hairline)
    fixed_hair = normalize_digit(hairline, stroke=2)
    fixed_marker = normalize_digit(marker, stroke=80)
    mnist_like = stroke_width((fixed_marker > 127).astype(np.uint8) * 255)
    assert np.count_nonzero(fixed_hair > 127) > 2 * np.count_nonzero(plain_hair > 127)
    assert np.count_nonzero(fixed_marker > 127) < np.count_nonzero(normalize_digit(marker) > 127)
    assert 1.5 <= stroke_width((fixed_hair > 127).astype(np.uint8) * 255) <= 4.5
    assert 1.5 <= mnist_like <= 4.5


# --- image files -------------------------------------------------------------------------------

def test_transparent_drawings_are_flattened_onto_a_contrasting_backdrop():
    strokes = np.zeros((50, 50, 4), np.uint8)  # colour black everywhere; only alpha draws
    cv2.line(strokes, (25, 5), (25, 45), (0, 0, 0, 255), 5)
    flat = flatten_alpha(strokes)
    assert flat[25, 25].tolist() == [0, 0, 0] and flat[5, 5].tolist() == [255, 255, 255]
    white = strokes.copy()
    white[:, :, :3] = 255
    flat_white = flatten_alpha(white)
    assert flat_white[25, 25].tolist() == [255, 255, 255] and flat_white[5, 5].tolist() == [0, 0, 0]


def test_read_image_errors_name_the_file(tmp_path):
    with pytest.raises(ImageFileError, match="not found"):
        read_image(tmp_path / "missing.png")
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"not an image")
    with pytest.raises(ImageFileError, match="junk.png"):
        read_image(junk)


# --- the evaluator -----------------------------------------------------------------------------

def test_alignment_counts_missed_extra_and_substituted_digits():
    same = align_digits("12 34", "1234")
    assert (same.matched, same.missed, same.extra) == (4, 0, 0)
    dropped = align_digits("100127653", "10127653")
    assert (dropped.matched, dropped.missed, dropped.extra) == (8, 1, 0)
    wrong = align_digits("7", "1?")
    assert wrong.matched == 0 and wrong.missed + wrong.extra + len(wrong.pairs) == 2


def test_labels_csv_errors_name_the_row(tmp_path):
    (tmp_path / "labels.csv").write_text("file,text,kind\na.png,12x,photo\n")
    with pytest.raises(InputError, match="line 2"):
        read_labels(tmp_path)
    with pytest.raises(InputError, match="not found"):
        read_labels(tmp_path / "nowhere")


def test_the_evaluator_scores_a_small_labelled_folder(tmp_path, recognizer, pool):
    rows = []
    for index, label in enumerate((3, 8, 1)):
        image = cv2.resize(255 - mnist_digit(pool, label, 5), (112, 112), interpolation=cv2.INTER_LINEAR)
        cv2.imwrite(str(tmp_path / f"d{index}.png"), image)
        rows.append((f"d{index}.png", str(label), "crop"))
    rows.append(("d0.png", "9", "crop"))  # a deliberately wrong label: one failure
    with open(tmp_path / "labels.csv", "w", newline="") as handle:
        csv.writer(handle).writerows([("file", "text", "kind"), *rows])
    scores = evaluate_images(recognizer, tmp_path)
    summary = summarize(scores)
    assert summary["overall"]["images"] == 4 and summary["overall"]["exact"] == 3
    assert [f["file"] for f in summary["failures"]] == ["d0.png"]
    assert list(summary["by_length"]) == ["crop, one digit"]
    assert summary["by_length"]["crop, one digit"]["exact"] == 3
    assert confusion_matrix(scores)[9, 3] == 1
    assert score_image(read_labels(tmp_path)[0], recognizer.read(read_image(tmp_path / "d0.png")), 1.0).exact


def test_evaluate_cli_writes_a_gallery(tmp_path, pool):
    from devtools.evaluate import main

    image = cv2.resize(255 - mnist_digit(pool, 6), (100, 100))
    cv2.imwrite(str(tmp_path / "six.png"), image)
    (tmp_path / "labels.csv").write_text("file,text,kind\nsix.png,5,crop\n")
    assert main(["--images", str(tmp_path), "--gallery", str(tmp_path / "out")]) == 0
    page = (tmp_path / "out" / "index.html").read_text()
    assert "six.png" in page and "1 failures" in page
    with pytest.raises(SystemExit) as usage:
        main(["--gallery", str(tmp_path / "out")])  # --gallery without --images
    assert usage.value.code == 2


# --- the real dev set --------------------------------------------------------------------------

# Issue 10's targets (drawings and crops 97 %, photos 90 %, single-digit photos 95 %) minus a
# margin of about two images of each kind, so an honest regression fails. Measured with the
# shipped model: python -m devtools.evaluate --images ../shared/data/realdigits-dev.
DEV_SET_GATES = {"crop": 0.95, "drawn": 0.95, "photo": 0.875, "photo, one digit": 0.93, "overall": 0.92,
                 "digits": 0.96}


@pytest.mark.skipif(not (DEV_SET / "labels.csv").exists(), reason="real-image dev set not beside the repo")
def test_the_real_dev_set_reads_at_its_measured_level(recognizer):
    summary = summarize(evaluate_images(recognizer, Path(DEV_SET)))
    measured = {kind: row["exact_accuracy"] for kind, row in summary["kinds"].items()}
    measured.update({subset: row["exact_accuracy"] for subset, row in summary["by_length"].items()})
    measured["overall"] = summary["overall"]["exact_accuracy"]
    measured["digits"] = summary["overall"]["digit_accuracy"]
    for kind, gate in DEV_SET_GATES.items():
        assert measured[kind] >= gate, (kind, measured)


def test_three_touching_digits_can_be_cut_in_three(pool):
    row = np.zeros((28, 64), np.uint8)
    for offset, label in ((0, 3), (18, 0), (36, 8)):
        np.maximum(row[:, offset:offset + 28], mnist_digit(pool, label, 4), out=row[:, offset:offset + 28])
    mask = cv2.dilate((row > 100).astype(np.uint8) * 255, np.ones((2, 2), np.uint8))
    mask = cv2.resize(mask, None, fx=4, fy=4, interpolation=cv2.INTER_NEAREST)
    rows, cols = np.nonzero(mask)
    box = (int(cols.min()), int(rows.min()), int(np.ptp(cols)) + 1, int(np.ptp(rows)) + 1)
    paths, spans = split_lattice(mask, box, stroke=8)
    assert len(paths) >= 2
    # Some way through the lattice is three spans long.
    ends = {0: {0}}
    for first, last in sorted(spans):
        ends.setdefault(last, set()).update(count + 1 for count in ends.get(first, set()))
    assert 3 in ends.get(len(paths) + 1, set())


class _ReadsWideInkAsEight:
    """The release model, except that any crop whose ink is wider than tall (a merged pair fitted
    into 20x20) reads as an 8 at 0.99: an overconfident classifier."""

    def __init__(self, real):
        self.real = real

    def probabilities(self, crops: np.ndarray) -> np.ndarray:
        out = self.real.probabilities(crops).copy()
        for index, crop in enumerate(crops):
            rows, cols = np.nonzero(crop > 60)
            if cols.size and np.ptp(cols) > 1.15 * np.ptp(rows):
                out[index] = np.full(10, 0.001)
                out[index, 8] = 0.991
        return out


def _touching_pair(pool, left: int, right: int, overlap: int) -> np.ndarray:
    first, second = mnist_digit(pool, left, 1), mnist_digit(pool, right, 1)
    a, b = np.nonzero(first.max(axis=0) > 30)[0], np.nonzero(second.max(axis=0) > 30)[0]
    first, second = first[:, a.min():a.max() + 1], second[:, b.min():b.max() + 1]
    pair = np.zeros((28, first.shape[1] + second.shape[1] - overlap), np.uint8)
    pair[:, :first.shape[1]] = first
    np.maximum(pair[:, -second.shape[1]:], second, out=pair[:, -second.shape[1]:])
    image = 255 - cv2.resize(pair, None, fx=5, fy=5, interpolation=cv2.INTER_LINEAR)
    return cv2.copyMakeBorder(image, 40, 40, 40, 40, cv2.BORDER_CONSTANT, value=255)


def test_a_wide_pair_read_confidently_as_one_digit_is_still_split(recognizer, pool):
    image = _touching_pair(pool, 2, 0, overlap=2)  # 1.7 heights wide
    found = find_digits(image)
    assert len(found.boxes) == 1 and found.splits
    overconfident = Recognizer(_ReadsWideInkAsEight(recognizer.classifier))
    whole = overconfident.classify(found.crops)[0]
    assert whole.argmax() == 8 and whole.max() > 0.99  # the whole pair reads as one sure 8 ...
    assert overconfident.read(image).text == "20"  # ... and is read as the two digits it is


def test_a_long_line_keeps_its_small_zeros(recognizer, pool):
    """Eight digits written with uneven sizes: the small zeros are digits, not specks, and no
    wide digit of the line is cut in two."""
    labels, sizes = (3, 0, 7, 2, 0, 5, 4, 0), (90, 50, 90, 92, 48, 88, 90, 52)
    paper = np.full((160, 60 + sum(sizes)), 232, np.uint8)
    left = 20
    for index, (label, size) in enumerate(zip(labels, sizes, strict=True)):
        digit = cv2.resize(mnist_digit(pool, label, 5), (size, size), interpolation=cv2.INTER_LINEAR)
        top = 130 - size  # bottoms on the line
        region = paper[top:top + size, left:left + size]
        np.minimum(region, 255 - digit, out=region)
        left += size - (4 if index % 2 else 2)
    assert recognizer.read(paper).text == "30720540"


def test_cut_pieces_are_judged_in_the_callers_pixels_on_an_upsampled_image(pool):
    """A small image is upsampled before finding; a lattice's height must be in the same (the
    caller's) pixels as the boxes whose widths the recogniser compares with it."""
    row = np.zeros((28, 42), np.uint8)
    for offset, label in ((0, 2), (14, 0)):
        np.maximum(row[:, offset:offset + 28], mnist_digit(pool, label, 4), out=row[:, offset:offset + 28])
    row = cv2.dilate(row, np.ones((2, 2), np.uint8))  # strokes that touch
    small = cv2.resize(255 - row, (42, 28), interpolation=cv2.INTER_AREA)  # under 64 px: upsampled
    found = find_digits(small)
    assert found.splits, "the touching pair should be offered cut"
    for lattice in found.splits:
        assert lattice.height == found.boxes[lattice.index][3]
        assert all(x + w <= small.shape[1] and y + h <= small.shape[0] for x, y, w, h in lattice.boxes)
