"""``python -m train --finetune``: labelled crops mixed with MNIST, before/after, the forgetting gate."""

from __future__ import annotations

import csv
import json

import cv2
import numpy as np
import pytest

from edge.cam.collect import COLUMNS, CSV_NAME
from tests.conftest import needs_tensorflow
from train.cli import main
from train.finetune import oversample, sha256_of, stratified_holdout


def collect_folder(folder, images, labels, predicted=None):
    """A collect folder as digit-cam writes it, with ``labels`` already filled in."""
    folder.mkdir(parents=True)
    with (folder / CSV_NAME).open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for number, (image, label) in enumerate(zip(images, labels, strict=True)):
            name = f"crop-{number:06d}.png"
            cv2.imwrite(str(folder / name), image)
            cv2.imwrite(str(folder / f"crop-{number:06d}.context.png"), image)
            writer.writerow([name, f"crop-{number:06d}.context.png", "demo", number, "0", "?", "0.5", "", label])
    return folder


def test_stratified_holdout_keeps_every_digit_on_both_sides():
    labels = np.array([1] * 10 + [7] * 3 + [4])
    train, held = stratified_holdout(labels, 0.3, seed=0)
    assert sorted(np.concatenate([train, held]).tolist()) == list(range(14))
    assert np.bincount(labels[held], minlength=10)[[1, 7, 4]].tolist() == [3, 1, 0]  # a lone 4 is trained on
    assert oversample(50, 4000, 0.2) == 20 and oversample(5000, 100, 0.2) == 1 and oversample(0, 10, 0.2) == 0


def test_empty_label_set_is_a_clear_message(tmp_path, capsys):
    folder = collect_folder(tmp_path / "crops", [np.zeros((28, 28), np.uint8)] * 3, ["", "x", ""])
    code = main(["--finetune", str(tmp_path / "m.keras"), "--extra", str(folder), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 3 and "no labelled digits" in err and "python -m train.label" in err
    assert not (tmp_path / "o").exists()
    with pytest.raises(SystemExit):
        main(["--extra", str(folder)])  # --extra alone is a usage error
    with pytest.raises(SystemExit):
        main(["--finetune", "m.keras", "--extra", str(folder), "--max-mnist-drop", "-1"])


@pytest.mark.slow
@needs_tensorflow
def test_finetune_reports_before_after_and_records_the_data(tiny_model_path, mnist, mnist_dir, tmp_path, capsys):
    # "A user's handwriting": MNIST digits drawn thick, which the tiny model reads worse.
    images = mnist.train.images[-200:]
    thick = np.stack([cv2.dilate(image, np.ones((2, 2), np.uint8)) for image in images])
    labels = [str(v) for v in mnist.train.labels[-200:]]
    labels[0] = "x"  # not a digit: left out
    folder = collect_folder(tmp_path / "crops", thick, labels)
    out = tmp_path / "run"
    argv = ["--finetune", str(tiny_model_path), "--extra", str(folder), "--data-dir", str(mnist_dir),
            "--limit", "2000", "--test-limit", "1000", "--epochs", "1", "--quiet", "--out", str(out)]
    code = main([*argv, "--max-mnist-drop", "100"])
    printed = capsys.readouterr().out
    assert code == 0, printed
    metrics = json.loads((out / "metrics.json").read_text())
    assert (out / "model.keras").is_file() and metrics["written"] is True
    source = metrics["extra"]["sources"][0]
    assert source["sha256"] == sha256_of(folder / CSV_NAME) and source["rows"] == 200
    assert sum(metrics["extra"]["labelled_digits"].values()) == 199
    assert metrics["extra"]["trained"] + metrics["extra"]["held_out"] == 199
    assert 55 <= metrics["extra"]["held_out"] <= 65  # 30 % of each digit
    for when in ("before", "after"):
        assert 0 < metrics[when]["mnist_test"] <= 1 and 0 < metrics[when]["extra_holdout"] <= 1
    assert "your held-out crops (" in printed and "MNIST test (1,000)" in printed

    from convert.cli import main as convert_main

    assert convert_main(["--model", str(out / "model.keras"), "--out", str(tmp_path / "conv"), "--data-dir",
                         str(mnist_dir), "--test-limit", "300", "--calibration-samples", "50",
                         "--max-drop", "100"]) == 0
    sidecar = json.loads((tmp_path / "conv" / "model_int8.json").read_text())
    assert sidecar["source_model"]["extra_data"]["sources"][0]["sha256"] == source["sha256"]

    refused = tmp_path / "refused"
    # A learning rate 3,000 times too high wrecks the weights: MNIST falls far more than 0 pp.
    code = main([*argv[:-1], str(refused), "--max-mnist-drop", "0", "--learning-rate", "1"])
    assert code == 1 and "not written" in capsys.readouterr().err
    assert not (refused / "model.keras").exists() and json.loads((refused / "metrics.json").read_text())[
        "written"] is False
