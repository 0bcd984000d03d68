"""A line written sloping down (or up) the page with its digits upright, or with one digit dropped
below its neighbours, is one line (edge.preprocess.continue_lines, step ``drifting-lines``); lines
one above the other, specks and far-off numbers stay apart."""

from __future__ import annotations

import json
import math

import cv2
import numpy as np
import pytest

from devtools import sloping
from edge.preprocess import FindConfig, reading_order
from edge.recognizer import Recognizer
from edge.scenes import sloping_scene


def _sloping(degrees: float, count: int = 6, size: int = 40) -> list[tuple[int, int, int, int]]:
    """``count`` upright boxes ``size`` tall along a line ``degrees`` below level, 1.1 heights apart."""
    slope = math.tan(math.radians(degrees))
    return [(round(20 + 1.1 * size * k), round(100 + slope * 1.1 * size * k), round(0.8 * size), size)
            for k in range(count)]


@pytest.mark.parametrize("degrees", [25.0, 35.0, -30.0])
def test_a_line_written_sloping_is_one_line(degrees):
    boxes = _sloping(degrees) if degrees > 0 else [(x, y + 300, w, h) for x, y, w, h in _sloping(degrees)]
    ordered, lines = reading_order(boxes, drift=True)
    assert lines == [0] * len(boxes)
    assert ordered == sorted(boxes)
    assert len(set(reading_order(boxes)[1])) > 1  # without the step: level tests split it


def test_a_digit_dropped_below_its_neighbours_stays_in_their_line():
    boxes = [(10, 100, 40, 60), (60, 100, 40, 60), (110, 150, 40, 60)]  # centres 50 px lower: not level
    assert reading_order(boxes)[1] == [0, 0, 1]
    assert reading_order(boxes, drift=True)[1] == [0, 0, 0]


@pytest.mark.parametrize("case, boxes, lines", [
    # Two lines, one under the other: the second starts left of the first's end.
    ("stacked", [(10, 100, 40, 60), (60, 100, 40, 60), (10, 200, 40, 60), (60, 200, 40, 60)], [0, 0, 1, 1]),
    # A speck lower right of a line's end is no digit of it (it is under half as tall).
    ("speck", [(10, 100, 40, 60), (60, 100, 40, 60), (110, 175, 12, 14)], [0, 0, 1]),
    # A number more than a digit's height right of another and lower is another number.
    ("far", [(10, 100, 40, 60), (60, 100, 40, 60), (170, 150, 40, 60)], [0, 0, 1]),
    # Diagonally below by more than a digit's height: two lines (a page of spaced practice digits).
    ("diagonal", [(100, 100, 28, 40), (150, 150, 28, 40)], [0, 1]),
])
def test_lines_that_do_not_continue_each_other_stay_apart(case, boxes, lines):
    assert reading_order(boxes, drift=True)[1] == lines


def test_a_line_is_continued_by_the_nearest_start_only():
    """Two digits, one above the other, both just right of a line's end: the nearer continues it,
    and the other, now left of the line's end, stays a line of its own."""
    boxes = [(10, 100, 40, 60), (60, 100, 40, 60), (110, 150, 40, 60), (120, 45, 40, 60)]
    assert len(set(reading_order(boxes)[1])) == 3  # without the step neither continues it
    ordered, lines = reading_order(boxes, drift=True)
    first = lines[ordered.index(boxes[0])]
    assert [box for box, line in zip(ordered, lines, strict=True) if line == first] == boxes[:3]
    assert len(set(lines)) == 2


def _sloping_page(pool, text: str, degrees: float) -> np.ndarray:
    """MNIST digits written upright along a line ``degrees`` below level on grey paper."""
    page = np.full((480, 640), 205.0, np.float32)
    slope = math.tan(math.radians(degrees))
    for k, char in enumerate(text):
        digit = pool.images[int(np.flatnonzero(pool.labels == int(char))[1])].astype(np.float32) / 255
        digit = cv2.resize(digit, (64, 64), interpolation=cv2.INTER_LINEAR)
        x = 40 + 60 * k
        y = round(60 + slope * x)
        page[y:y + 64, x:x + 64] -= 170 * digit
    return np.clip(page, 0, 255).astype(np.uint8)


@pytest.mark.parametrize("degrees", [30.0])
def test_a_number_written_down_the_page_reads_as_one(pool, recognizer, degrees):
    text = "237845"
    page = _sloping_page(pool, text, degrees)
    assert recognizer.read(page).text == text
    without = Recognizer(recognizer.classifier,
                         find_config=FindConfig(steps=FindConfig().steps - {"drifting-lines"}))
    assert without.read(page).text.replace(" ", "") == text != without.read(page).text


@pytest.mark.parametrize("degrees, lines", [(0.0, 1), (30.0, 1), (20.0, 3)])
def test_a_sloping_scene_writes_upright_digits_along_its_slope(pool, degrees, lines):
    scene = sloping_scene(np.random.default_rng(5), pool, degrees, lines=lines, drop=0.0)
    assert sorted({digit.line for digit in scene.digits}) == list(range(lines))
    assert scene.text.count(" ") == lines - 1
    first = [digit.box for digit in scene.digits if digit.line == 0]
    assert len(first) >= 3
    centres = np.array([(x + w / 2, y + h / 2) for x, y, w, h in first])
    slope = np.polyfit(centres[:, 0], centres[:, 1], 1)[0]
    # MNIST digits' ink sits a little off their boxes' centres: within 4 degrees of the slope asked
    assert abs(math.degrees(math.atan(abs(slope))) - degrees) < 4.0
    again = sloping_scene(np.random.default_rng(5), pool, degrees, lines=lines, drop=0.0)
    assert again.text == scene.text and np.array_equal(again.image, scene.image)


def test_devtools_sloping_measures_with_and_without_the_step(tmp_path, capsys):
    assert sloping.main(["--scenes", "2", "--out", str(tmp_path), "--json"]) == 0
    rows = json.loads((tmp_path / "sloping.json").read_text())["rows"]
    assert {(row["lines"], row["degrees"]) for row in rows} == {(n, d) for n in sloping.LINES for d in sloping.DEGREES}
    assert all(0.0 <= row["exact"] <= 1.0 and 0.0 <= row["exact_without"] <= 1.0 for row in rows)
    steep = [row for row in rows if row["lines"] == 1 and row["degrees"] >= 25]
    assert sum(row["exact"] for row in steep) > sum(row["exact_without"] for row in steep)
    assert "| lines |" in (tmp_path / "sloping.md").read_text()
    assert json.loads(capsys.readouterr().out) == rows


def test_devtools_sloping_refuses_no_scenes(capsys):
    with pytest.raises(SystemExit) as exit_info:
        sloping.main(["--scenes", "0"])
    assert exit_info.value.code == 2
    assert "--scenes must be at least 1" in capsys.readouterr().err
