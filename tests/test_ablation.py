"""devtools/ablation.py: leave-one-out over the finder's steps, every kind, other classifiers."""

from __future__ import annotations

import json

import pytest

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


def _tiny_run(tmp_path, pool, monkeypatch, out, *flags: str) -> int:
    """``python -m devtools.ablation`` over a few labelled scenes, one plain scene, no finder step
    switched off: what the --carry tests need, in seconds."""
    images = tmp_path / "images"
    if not images.exists():
        images.mkdir()
        _tiny_image_set(images, pool)
    monkeypatch.setattr(ablation, "FINDER_STEPS", ())
    return ablation.main(["--images", str(images), "--scenes", "1", "--kind", "plain", "--out", str(out), *flags])


def _full_row(tmp_path, pool, monkeypatch) -> dict:
    """The full finder's row of a tiny run: a row with every column this tool writes."""
    assert _tiny_run(tmp_path, pool, monkeypatch, tmp_path / "first") == 0
    return json.loads((tmp_path / "first" / "ablation.json").read_text())["rows"][0]


def test_carried_classifier_rows_are_kept_and_marked(tmp_path, pool, monkeypatch):
    full = _full_row(tmp_path, pool, monkeypatch)
    old_row = {**full, "without": "classifier: old recipe", "real_all": 0.5, "plain_strings": 0.25}
    old_full = {**full, "real_all": 0.75}  # that run's full finder read less than this one's
    earlier = tmp_path / "earlier.json"
    earlier.write_text(json.dumps({"classifiers": ["old recipe=/gone/model.tflite"], "rows": [old_full, old_row]}))
    out = tmp_path / "docs"
    assert _tiny_run(tmp_path, pool, monkeypatch, out, "--carry", str(earlier)) == 0
    data = json.loads((out / "ablation.json").read_text())
    assert [row["without"] for row in data["rows"]] == [ablation.FULL, ablation.CLASS_WIDTHS, "classifier: old recipe"]
    baseline = {key: value for key, value in old_full.items() if key != "without"}
    assert data["rows"][-1] == {**old_row, "carried": True, "baseline": baseline}  # as measured then
    assert data["carried_classifiers"] == ["old recipe=/gone/model.tflite"]
    text = (out / "ablation.md").read_text()
    assert f"`classifier: old recipe` {ablation.CARRIED_MARK}" in text and "Carried from an earlier run" in text
    assert "50.0% (-25.0)" in text  # against its own run's full row (75%), not this one's


def test_carried_rows_measured_over_other_kinds_are_refused(tmp_path, pool, monkeypatch, capsys):
    earlier = tmp_path / "earlier.json"
    earlier.write_text(json.dumps({"rows": [{"without": ablation.FULL, "real_all": 1.0},
                                            {"without": "classifier: old", "real_all": 0.5}]}))
    assert _tiny_run(tmp_path, pool, monkeypatch, tmp_path / "docs", "--carry", str(earlier)) != 0
    assert "lacks" in capsys.readouterr().err


@pytest.mark.parametrize("earlier", [
    "{not json",
    json.dumps({"rows": [{"without": "classifier: old", "real_all": 0.5}]}),  # no full row
    json.dumps({"rows": [{"without": ablation.FULL, "real_all": 1.0},
                         {"without": "classifier: old", "real_all": None}]}),  # a value that is no number
    json.dumps({"classifiers": "old=/gone.tflite", "rows": [{"without": ablation.FULL, "real_all": 1.0}]}),
])
def test_a_carry_file_that_is_not_what_this_tool_wrote_fails_before_the_long_run(tmp_path, capsys, earlier):
    path = tmp_path / "ablation.json"
    path.write_text(earlier)
    assert ablation.main(["--carry", str(path), "--out", str(tmp_path / "docs")]) != 0
    assert "--carry" in capsys.readouterr().err
    assert not (tmp_path / "docs").exists()


def test_a_carried_name_measured_again_is_refused(tmp_path, pool, monkeypatch, capsys):
    full = _full_row(tmp_path, pool, monkeypatch)
    earlier = tmp_path / "earlier.json"
    earlier.write_text(json.dumps({"rows": [full, {**full, "without": "classifier: same"}]}))
    model = str(ablation.REPO_ROOT / "models" / "edge" / "model_int8.tflite")
    assert _tiny_run(tmp_path, pool, monkeypatch, tmp_path / "again",
                     "--carry", str(earlier), "--classifier", f"same={model}") != 0
    assert "measured in this run too" in capsys.readouterr().err
    assert not (tmp_path / "again").exists()
