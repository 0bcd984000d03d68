"""``python -m devtools.split_oracle``: the way-matching on constructed lattices, and a tiny run."""

from __future__ import annotations

import json

import pytest

from devtools import split_oracle
from edge import errors

# Two digits side by side, 20 px wide each; cuts at x = 20 and x = 30 (cut 0 is the left side, 3 the right).
TRUTH = [(0, 0, 20, 30), (20, 0, 20, 30)]
SPANS = [(0, 1), (1, 3), (0, 2), (2, 3)]
BOXES = [(0, 0, 20, 30), (20, 0, 20, 30), (0, 0, 30, 30), (30, 0, 10, 30)]


def test_a_way_matches_when_its_pieces_are_the_digits_in_order():
    assert split_oracle.matching_way(SPANS, BOXES, TRUTH, 3, 0.6)
    assert not split_oracle.matching_way(SPANS[2:], BOXES[2:], TRUTH, 3, 0.6)  # only the wrong cut
    assert not split_oracle.matching_way(SPANS, BOXES, TRUTH[::-1], 3, 0.6)  # right to left is no way
    assert not split_oracle.matching_way(SPANS, BOXES, TRUTH, 4, 0.6)  # must reach the box's right side


def test_only_pieces_read_right_count_when_asked():
    assert split_oracle.matching_way(SPANS, BOXES, TRUTH, 3, 0.6, right=[True, True, False, False])
    assert not split_oracle.matching_way(SPANS, BOXES, TRUTH, 3, 0.6, right=[True, False, True, True])


def test_a_tiny_run_counts_every_box_once(capsys):
    assert split_oracle.main(["--scenes", "6", "--json"]) == errors.OK
    result = json.loads(capsys.readouterr().out)
    assert result["kind"] == "touching" and result["scenes"] == 6
    assert sum(result[row] for row in split_oracle.ROWS) == result["boxes"] > 0


@pytest.mark.parametrize("flags", [["--kind", "plian"], ["--kind", "all"], ["--min-iou", "2"], ["--scenes", "0"]])
def test_bad_flags_are_usage_errors(flags, capsys):
    with pytest.raises(SystemExit) as exit_info:
        split_oracle.main(flags)
    assert exit_info.value.code == errors.USAGE and "usage" in capsys.readouterr().err


def test_a_missing_model_is_an_input_error(tmp_path, capsys):
    assert split_oracle.main(["--model", str(tmp_path / "none.tflite"), "--scenes", "1"]) == errors.INPUT
    assert "none.tflite" in capsys.readouterr().err
