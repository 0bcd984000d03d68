"""devtools/robustness.py: the dev set read again under resolution, margin, tilt, light and noise."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from devtools import robustness
from tests.conftest import write_labelled_scenes


def _page() -> np.ndarray:
    image = np.full((60, 80, 3), 200, np.uint8)
    cv2.putText(image, "7", (20, 50), cv2.FONT_HERSHEY_SIMPLEX, 1.5, (20, 20, 20), 3)
    return image


def test_each_perturbation_keeps_a_bgr_uint8_image():
    image = _page()
    for name, perturb in robustness.PERTURBATIONS.items():
        out = perturb(image)
        assert out.dtype == np.uint8 and out.ndim == 3 and out.shape[2] == 3, name
    assert robustness.rescale(0.5)(image).shape == (30, 40, 3)
    assert robustness.margin(0.25)(image).shape == (90, 120, 3)
    assert np.array_equal(robustness.noise(5.0)(image), robustness.noise(5.0)(image))  # seeded


def test_uncovered_corners_and_margins_are_paper_not_black():
    image = _page()
    assert robustness.paper_colour(image) == (200, 200, 200)
    turned = robustness.rotate(8.0)(image)
    assert turned[0, 0].tolist() == [200, 200, 200]
    padded = robustness.margin(0.3)(image)
    assert padded[0, 0].tolist() == [200, 200, 200] and padded.min() < 50  # the ink is still there


def test_keystone_narrows_the_top_and_keeps_the_bottom():
    """A vertical line 10 px from the left edge leans in: at the top it sits 15% of the width
    in, plus 70% of its 10 px; at the bottom it has not moved. The uncovered corner is paper."""
    image = np.full((150, 200, 3), 200, np.uint8)
    cv2.line(image, (10, 0), (10, 149), (0, 0, 0), 2)
    tilted = robustness.keystone(0.15)(image)
    assert tilted.shape == image.shape
    top, bottom = np.flatnonzero(tilted[1, :, 0] < 100), np.flatnonzero(tilted[-2, :, 0] < 100)
    assert 35 <= top.mean() <= 40 and 9 <= bottom.mean() <= 12
    assert tilted[0, 0].tolist() == [200, 200, 200]


def test_out_of_focus_blurs_alike_at_every_size():
    """The blur is a fraction of the image: an ink-to-paper edge is spread over four times as many
    pixels in an image four times as big."""
    def edge_width(side: int) -> int:
        image = np.full((side * 3 // 4, side, 3), 200, np.uint8)
        image[:, : side // 2] = 20
        soft = robustness.out_of_focus(0.04)(image)
        assert soft.shape == image.shape
        row = soft[image.shape[0] // 2, :, 0].astype(int)
        return int(np.count_nonzero((row > 40) & (row < 180)))

    small, large = edge_width(80), edge_width(320)
    assert small >= 3 and 3 * small <= large <= 5 * small


def test_side_light_darkens_the_left_only():
    image = np.full((10, 100, 3), 200, np.uint8)
    lit = robustness.side_light(0.5)(image)
    assert lit[:, 0].max() <= 101 and lit[:, -1].min() == 200


def test_measure_and_cli_on_a_tiny_set(tmp_path, pool, recognizer):
    write_labelled_scenes(tmp_path, pool, ("plain", "crop"), seed=4)
    results = robustness.measure(recognizer, tmp_path, ["none", "double size"])
    assert set(results) == {"none", "double size"}
    for row in results.values():
        assert set(row) == {"crop", "photo", "all", "failures"}
        assert 0.0 <= row["all"] <= 1.0 and len(row["failures"]) == round((1 - row["all"]) * 2)
    photos_only = robustness.measure(recognizer, tmp_path, ["none"], kinds=("photo",))["none"]
    assert set(photos_only) == {"photo", "all", "failures"}
    assert photos_only["photo"] == results["none"]["photo"] == photos_only["all"]
    out = tmp_path / "docs"
    assert robustness.main(["--images", str(tmp_path), "--only", "none", "--only", "third size",
                            "--out", str(out)]) == 0
    assert list(json.loads((out / "robustness.json").read_text())["results"]) == ["none", "third size"]
    assert "| third size |" in (out / "robustness.md").read_text()


def test_missing_image_set_exits_3(tmp_path):
    assert robustness.main(["--images", str(tmp_path / "absent"), "--out", str(tmp_path)]) == 3


def test_unknown_perturbation_exits_2(tmp_path):
    with pytest.raises(SystemExit) as exit_info:
        robustness.main(["--only", "upside down"])
    assert exit_info.value.code == 2


def test_squared_paper_darkens_thin_lines_and_keeps_the_ink_darker_than_them():
    image = cv2.resize(_page(), (240, 180))
    gridded = robustness.squared_paper(0.1)(image)
    assert gridded.shape == image.shape
    changed = np.any(gridded != image, axis=2)
    rows, columns = changed.all(axis=1), changed.all(axis=0)
    # Full-length lines every 18 px (a tenth of 180) in both directions, the rest untouched.
    assert np.flatnonzero(rows).tolist() == list(range(9, 180, 18))
    assert np.flatnonzero(columns).tolist() == list(range(9, 240, 18))
    paper = image[0, 0].astype(np.float32)
    assert np.allclose(gridded[9, 0], 0.75 * paper, atol=1)  # a quarter darker
    ink = image.max(axis=2) < 60
    assert np.all(gridded[ink] <= image[ink]) and np.all(image[ink] - gridded[ink] <= 0.25 * 60 + 1)
    assert np.array_equal(robustness.squared_paper(0.1)(_page()), _page())  # a crop: unchanged


def test_the_desk_is_darker_than_the_page_grainy_and_leaves_the_page_whole():
    image = cv2.resize(_page(), (240, 180))
    on_desk = robustness.desk(0.25)(image)
    assert on_desk.shape == (270, 360, 3)
    assert np.array_equal(on_desk[45:225, 60:300], image)  # the page itself is untouched
    surround = on_desk[:40].astype(np.float32)
    assert 60 < surround.mean() < 120 and surround.std() > 1.0  # 0.45 x the paper, with grain
    assert np.array_equal(on_desk, robustness.desk(0.25)(image))  # seeded
    assert robustness.desk(0.25)(_page()) is not None and robustness.desk(0.25)(_page()).shape == (60, 80, 3)  # a crop


def test_a_desk_on_two_sides_shows_only_there():
    import pytest

    image = cv2.resize(_page(), (240, 180))
    off_centre = robustness.desk(0.25, sides="top left")(image)
    assert off_centre.shape == (225, 300, 3)
    assert np.array_equal(off_centre[45:, 60:], image)  # the page runs to the bottom and right sides
    assert off_centre[:40].astype(np.float32).mean() < 120 and off_centre[:, :55].astype(np.float32).mean() < 120
    with pytest.raises(ValueError, match="sides"):
        robustness.desk(0.25, sides="top middle")
    with pytest.raises(ValueError, match="sides"):
        robustness.desk(0.25, sides="")


def test_help_lists_every_change(capsys):
    # The changes' names hold "%" ("30% more margin"), which argparse's help formatting would take
    # for a format directive: --help crashed with a traceback until they were escaped.
    import pytest

    with pytest.raises(SystemExit) as exit_info:
        robustness.main(["--help"])
    assert exit_info.value.code == 0
    out = " ".join(capsys.readouterr().out.split())
    assert all(" ".join(name.split()) in out for name in robustness.PERTURBATIONS)
