"""devtools/ablation.py: leave-one-out over the finder's steps, every kind, other classifiers."""

from __future__ import annotations

import json

from devtools import ablation
from edge.preprocess import FINDER_STEPS
from tests.conftest import write_labelled_scenes


def _tiny_image_set(directory, pool) -> None:
    write_labelled_scenes(directory, pool, ("plain", "drawing"), seed=1)


def test_rows_per_step_and_classifier_with_every_kind(tmp_path, pool, recognizer):
    _tiny_image_set(tmp_path, pool)
    lines = []
    rows = ablation.ablate(recognizer, tmp_path, scenes=2, seed=3, progress=lines.append,
                           classifiers={"same model": recognizer}, kinds=("plain", "touching"))
    names = [row["without"] for row in rows]
    assert names == [ablation.FULL, *FINDER_STEPS, ablation.CLASS_WIDTHS, "classifier: same model"]
    assert len(lines) >= len(rows)
    # Each scene is rendered once for all rows: the full finder's row matches the evaluator's run.
    from devtools.evaluate import evaluate

    plain = evaluate(recognizer, scenes=2, seed=3, kind="plain")
    assert (rows[0]["plain_digits"], rows[0]["plain_strings"]) == (plain.digit_accuracy, plain.string_accuracy)
    for row in rows:
        assert {"real_photo", "real_drawn", "real_all", "real_digits", "desk_photo", "turned_photo", "plain_strings",
                "plain_digits", "touching_strings", "touching_digits"} <= row.keys()
        assert all(0.0 <= value <= 1.0 for key, value in row.items() if key != "without")
    # The same model behind the same finder measures the same: the comparison is like for like.
    assert {k: v for k, v in rows[-1].items() if k != "without"} == \
        {k: v for k, v in rows[0].items() if k != "without"}
    assert recognizer.find_config.steps == frozenset(FINDER_STEPS)  # restored afterwards

    text = ablation.markdown(rows, scenes=2, seed=3, model="the release model")
    assert text.count("| without |") == 4  # real, synthetic strings, synthetic digits, summary
    assert "`classifier: same model`" in text and "touching" in text


def test_cli_writes_json_and_markdown(tmp_path, pool, monkeypatch, capsys):
    images = tmp_path / "images"
    images.mkdir()
    _tiny_image_set(images, pool)
    monkeypatch.setattr(ablation, "FINDER_STEPS", ("joins",))
    out = tmp_path / "docs"
    assert ablation.main(["--images", str(images), "--scenes", "1", "--kind", "plain", "--out", str(out)]) == 0
    data = json.loads((out / "ablation.json").read_text())
    assert [row["without"] for row in data["rows"]] == [ablation.FULL, "joins", ablation.CLASS_WIDTHS]
    assert (out / "ablation.md").read_text().startswith("# Ablation")


def test_bad_classifier_flag_exits_2(tmp_path, capsys):
    import pytest

    with pytest.raises(SystemExit) as exit_info:
        ablation.main(["--classifier", "no-equals-sign", "--out", str(tmp_path)])
    assert exit_info.value.code == 2
