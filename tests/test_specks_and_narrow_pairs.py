"""Three finder steps from photos of other sources (edge.preprocess, edge.recognizer):

* ``specks``: a grainy paper's fibres inside a digit's box are left out of its crop (on cardboard
  a clean 7 read at 0.38, a 2 at 0.14), but the few pieces of a broken stroke are not;
* ``small-for-page``: a box tiny beside the page's digits, alone on its line (a cluster of grain),
  is read only when the classifier is sure, not as '?';
* ``narrow-splits``: a doubted box too narrow for two digits is cut through its ink when one piece
  reads as a 1 -- a 1 touching its neighbour ('15' read as a 5 at 0.55).
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from devtools.evaluate import DEFAULT_SEED
from edge.preprocess import FindConfig, find_digits, split_lattice, without_specks
from edge.recognizer import Recognizer
from edge.scenes import render_scene


def _without(recognizer: Recognizer, step: str) -> Recognizer:
    return Recognizer(recognizer.classifier, find_config=FindConfig(steps=FindConfig().steps - {step}))


def _seven(page: np.ndarray, x: int, y: int, height: int, pen: int) -> None:
    """A 7 (bar and stem) ``height`` px tall in a ``pen`` px pen, its top left corner at (x, y)."""
    width = int(0.6 * height)
    corners = np.array([[x, y], [x + width, y], [x + width // 4, y + height]])
    cv2.polylines(page, [corners], False, 40, pen, cv2.LINE_AA)


def _thin_pen_page() -> np.ndarray:
    """'717' 200 px tall in a 6 px pen (big writing, a fine pen: the case where a page's
    specks and clots are taller than the pen's minimum digit)."""
    page = np.full((600, 800), 200, np.uint8)
    _seven(page, 200, 100, 200, 6)
    cv2.line(page, (420, 100), (420, 300), 40, 6, cv2.LINE_AA)
    _seven(page, 520, 100, 200, 6)
    return page


def test_many_specks_in_a_box_are_left_out_but_a_broken_strokes_pieces_stay():
    mask = np.zeros((60, 40), np.uint8)
    mask[5:55, 18:24] = 255  # a stroke 6 px wide
    specks = [(3, 3), (10, 33), (30, 5), (50, 35), (57, 10)]
    for y, x in specks:
        mask[y, x] = 255
    cleaned = without_specks(mask, stroke=6.0)
    assert all(cleaned[y, x] == 0 for y, x in specks)
    assert np.array_equal(cleaned[5:55, 18:24], mask[5:55, 18:24])
    assert without_specks(mask, stroke=0.0) is mask  # no pen measured: left alone
    # Three specks are not many: a broken digit's pieces, or a dot, stay.
    few = mask.copy()
    few[50, 35] = few[57, 10] = 0
    assert without_specks(few, stroke=6.0) is few
    # A stroke broken into short pieces, each smaller than a speck: nothing is dropped.
    broken = np.zeros((60, 40), np.uint8)
    for top in (5, 20, 35, 50):
        broken[top:top + 4, 19:23] = 255
    assert np.array_equal(without_specks(broken, stroke=6.0), broken)
    # Crumbs along a stroke (a noisy or faint one), however many, stay: they are within a pen's
    # width of it; the specks clear of it still go.
    crumbs = mask.copy()
    for top in range(8, 52, 8):
        crumbs[top, 25] = 255
    cleaned = without_specks(crumbs, stroke=6.0)
    assert all(cleaned[top, 25] == 255 for top in range(8, 52, 8))
    assert all(cleaned[y, x] == 0 for y, x in specks)


def test_a_digits_crop_on_grainy_paper_is_the_crop_on_clean_paper():
    clean = _thin_pen_page()
    grainy = clean.copy()
    # Dark fibres inside the first 7's box, all well clear of its strokes.
    for y, x in [(130, 215), (160, 230), (200, 210), (240, 220), (270, 205), (150, 250), (140, 300)]:
        grainy[y:y + 2, x:x + 2] = 60
    found, plain = find_digits(clean), find_digits(grainy)
    assert found.boxes == plain.boxes
    assert np.array_equal(find_digits(grainy).crops[0], found.crops[0])
    without = find_digits(grainy, config=FindConfig(steps=FindConfig().steps - {"specks"}))
    assert not np.array_equal(without.crops[0], found.crops[0])


def test_a_box_tiny_beside_the_pages_digits_is_read_only_when_sure(recognizer):
    page = _thin_pen_page()
    _seven(page, 400, 450, 45, 6)  # alone on its line, a quarter as tall as the digits above
    found = find_digits(page)
    assert found.optional == [False, False, False, True]
    assert find_digits(page, config=FindConfig(steps=FindConfig().steps - {"small-for-page"})).optional == [False] * 4
    assert recognizer.read(page).text == "717 7"  # read surely, so kept


def test_a_narrow_box_is_cut_through_ink_only_when_asked():
    mask = np.zeros((100, 90), np.uint8)
    cv2.line(mask, (15, 5), (15, 95), 255, 8)  # a 1 ...
    cv2.circle(mask, (50, 50), 30, 255, 8)  # ... touching a 0
    box = (0, 0, 90, 100)  # 0.9 as wide as tall: under SPLIT_ASPECT
    assert split_lattice(mask, box, stroke=8.0) == ([], [])
    paths, spans = split_lattice(mask, box, stroke=8.0, narrow=True)
    assert paths and (0, 1) in spans
    assert split_lattice(mask[:, :60], (0, 0, 60, 100), stroke=8.0, narrow=True) == ([], [])  # 0.6: too narrow


def _one_touching_zero(rules: bool = False) -> np.ndarray:
    """A slanted 1 touching a 0, together 0.9 as wide as tall, in a 6 px pen; ``rules``: on ruled paper."""
    page = np.full((300, 400), 210, np.uint8)
    if rules:
        for y in range(30, 300, 40):
            cv2.line(page, (0, y), (399, y), 150, 1)
    cv2.line(page, (145, 200), (165, 100), 30, 6)
    cv2.ellipse(page, (201, 150), (36, 48), 0, 0, 360, 30, 6)
    return page


def test_a_1_touching_a_0_in_a_narrow_box_is_read_apart(recognizer):
    page = _one_touching_zero()
    assert recognizer.read(page).text == "10"
    whole = _without(recognizer, "narrow-splits").read(page)
    assert whole.text == "0" and whole.digits[0].confidence < 0.8  # doubted: what asks for the cut


class _Batches:
    """A stand-in classifier: the first batch (boxes) reads every crop as 0 at ``whole``, a second
    one (the narrow lattice's pieces) every crop as ``piece`` at 0.99."""

    def __init__(self, whole: float, piece: int):
        self.whole, self.piece, self.batches = whole, piece, 0

    def probabilities(self, crops: np.ndarray) -> np.ndarray:
        self.batches += 1
        label, sure = (0, self.whole) if self.batches == 1 else (self.piece, 0.99)
        out = np.full((len(crops), 10), (1 - sure) / 9, np.float32)
        out[:, label] = sure
        return out


@pytest.mark.parametrize("classifier, text, batches", [
    (_Batches(whole=0.55, piece=1), "11", 2),  # doubted, and the pieces are 1s: cut
    (_Batches(whole=0.55, piece=7), "0", 2),  # doubted, but no piece is a 1: whole
    (_Batches(whole=0.95, piece=1), "0", 1),  # read surely: no narrow lattice is even made
])
def test_a_narrow_box_is_cut_only_when_doubted_and_into_a_1_and_its_neighbour(classifier, text, batches):
    assert Recognizer(classifier).read(_one_touching_zero()).text == text
    assert classifier.batches == batches


def test_no_narrow_cuts_on_a_ruled_page():
    """On ruled paper (or a form) a rule's or a wall's remnant beside a doubted digit is a
    straight stroke that reads as a 1: the narrow lattice is not offered there."""
    plain = find_digits(_one_touching_zero())
    assert len(plain.boxes) == 1 and plain.narrow_split(0) is not None
    ruled = find_digits(_one_touching_zero(rules=True))
    assert len(ruled.boxes) == 1 and ruled.narrow_split(0) is None
    assert find_digits(_one_touching_zero(), config=FindConfig(
        steps=FindConfig().steps - {"narrow-splits"})).narrow_split(0) is None


def _pairs_in_cells(cells: bool) -> np.ndarray:
    """Four 1-and-0 pairs, each 0.8 as wide as tall, in a row of printed cells (``cells``) or on
    plain paper: the cells are the only lines on the page."""
    page = np.full((480, 640), 200, np.uint8)
    left = 120
    if cells:
        cv2.rectangle(page, (left, 150), (left + 400, 290), 60, 2)
        for wall in range(1, 4):
            cv2.line(page, (left + 100 * wall, 150), (left + 100 * wall, 290), 60, 2)
    for cell in range(4):
        x = left + 100 * cell
        cv2.line(page, (x + 25, 180), (x + 25, 260), 40, 6, cv2.LINE_AA)
        cv2.ellipse(page, (x + 56, 220), (30, 40), 0, 0, 360, 40, 6, cv2.LINE_AA)
    noise = np.random.default_rng(0).normal(0, 6, page.shape)
    return np.clip(page + noise, 0, 255).astype(np.uint8)


def test_no_narrow_cuts_in_a_forms_cells_even_when_they_are_its_only_lines():
    plain = find_digits(_pairs_in_cells(cells=False))
    assert len(plain.boxes) == 4 and all(plain.narrow_split(i) is not None for i in range(4))
    form = find_digits(_pairs_in_cells(cells=True))
    assert len(form.boxes) == 4 and all(form.narrow_split(i) is None for i in range(4))


def test_a_neighbours_stroke_reaching_into_a_box_is_no_speck():
    mask = np.zeros((60, 40), np.uint8)
    mask[5:55, 18:24] = 255
    for y, x in [(3, 3), (10, 33), (30, 5), (50, 35)]:
        mask[y, x] = 255
    mask[20:22, 0:3] = 255  # the tip of the next digit's bar, across the box's left side
    cleaned = without_specks(mask, stroke=6.0)
    assert cleaned[20:22, 0:3].all()
    assert not cleaned[3, 3] and not cleaned[50, 35]


@pytest.fixture(scope="module")
def touching_scenes(pool):
    rng = np.random.default_rng(DEFAULT_SEED)
    return [render_scene(rng, pool, width=640, height=480, kind="touching") for _ in range(100)]


def test_a_1_touching_its_neighbour_is_read_apart(recognizer, touching_scenes):
    """On 100 seeded scenes of touching digits the step reads more strings exactly, and every
    string read without it is read with it."""
    without = _without(recognizer, "narrow-splits")
    with_step = {i for i, scene in enumerate(touching_scenes) if recognizer.read(scene.image).text == scene.text}
    plain = {i for i, scene in enumerate(touching_scenes) if without.read(scene.image).text == scene.text}
    assert plain <= with_step
    assert len(with_step) > len(plain)
    gained = [touching_scenes[i] for i in with_step - plain]
    assert any("1" in scene.text for scene in gained)
