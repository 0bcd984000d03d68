"""``python -m convert`` on a tiny freshly trained model: every mode, the int8 check, bad inputs."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

from convert.calibration import representative_indices
from convert.cli import main
from convert.pipeline import MODES, ConvertError, check_int8, newest_run_model, to_tflite
from edge import errors
from edge.interpreter import DigitClassifier
from edge.metadata import ModelMetadata, sha256_file
from tests.conftest import needs_tensorflow

EXPECTED_IO_DTYPE = {"int8": "int8", "float16": "float32", "dynamic": "float32", "float": "float32"}


def tensor_dtypes(classifier: DigitClassifier) -> set[str]:
    interpreter = classifier._interpreter
    return {np.dtype(t["dtype"]).name for t in interpreter.get_tensor_details()}


@pytest.mark.slow
@pytest.mark.parametrize("mode", MODES)
def test_every_mode_converts_to_a_loadable_model(mode, tiny_model_path, tmp_path, capsys):
    out = tmp_path / mode
    code = main(["--model", str(tiny_model_path), "--quantize", mode, "--out", str(out),
                 "--test-limit", "500", "--calibration-samples", "100", "--max-drop", "5"])
    printed = capsys.readouterr()
    assert code == errors.OK, printed.err
    tflite = out / f"model_{mode}.tflite"
    sidecar = ModelMetadata.read(out / f"model_{mode}.json")
    assert sidecar.tflite_sha256 == sha256_file(tflite)
    assert sidecar.quantization == mode and sidecar.labels == [str(d) for d in range(10)]
    assert sidecar.source_model["sha256"] == sha256_file(tiny_model_path)
    parity = json.loads((out / f"parity_{mode}.json").read_text())
    assert parity["images"] == 500 and parity["passed"]
    assert (out / f"changed_{mode}.png").stat().st_size > 0

    classifier = DigitClassifier.from_path(tflite)  # loads with its sidecar, sha256 checked
    assert classifier.input.dtype == classifier.output.dtype == EXPECTED_IO_DTYPE[mode]
    dtypes = tensor_dtypes(classifier)
    if mode == "int8":
        assert not any(op.uses_float for op in classifier.ops())
        assert "float32" not in dtypes
        assert sidecar.calibration["samples"] == 100
        assert "full-int8 check: every op computes in int8" in printed.out
    elif mode == "float16":
        assert "float16" in dtypes
    elif mode == "dynamic":
        assert "int8" in dtypes and "float32" in dtypes
    else:
        assert dtypes <= {"float32", "int32"}
    # The converted model agrees with itself through the sidecar's accuracy claim.
    assert sidecar.accuracy == pytest.approx(parity["converted_accuracy"])


@pytest.mark.slow
def test_int8_check_rejects_a_model_with_float_ops(tiny_model_path):
    import keras

    float_model = DigitClassifier(to_tflite(keras.saving.load_model(tiny_model_path), "float"))
    with pytest.raises(ConvertError, match=r"not fully integer: input/output are float32/float32.*"
                                           r"fell back to float: CONV_2D#0"):
        check_int8(float_model)


@pytest.mark.slow
def test_accuracy_gate_rejects_a_model_that_loses_too_much(tiny_model_path, tmp_path, monkeypatch, capsys):
    # Stand in for a badly quantised model: its interpreter always answers "7".
    def always_seven(self, images, batch_size=256, progress=None):
        return np.eye(10, dtype=np.float32)[np.full(len(images), 7)]

    monkeypatch.setattr(DigitClassifier, "predict", always_seven)
    code = main(["--model", str(tiny_model_path), "--quantize", "float", "--out", str(tmp_path),
                 "--test-limit", "300"])
    assert code == errors.FAILURE
    assert "more than --max-drop 0.1 pp" in capsys.readouterr().err
    assert (tmp_path / "model_float.rejected.tflite").exists()
    assert not (tmp_path / "model_float.tflite").exists()
    assert not (tmp_path / "model_float.json").exists()  # no sidecar: nothing would deploy it
    assert json.loads((tmp_path / "parity_float.json").read_text())["passed"] is False


def test_missing_model_is_a_clear_error(tmp_path, capsys):
    assert main(["--model", str(tmp_path / "none.keras")]) == errors.INPUT
    assert "model file" in capsys.readouterr().err


def test_not_a_keras_file(tmp_path, capsys):
    fake = tmp_path / "model.keras"
    fake.write_text("definitely not a model")
    assert main(["--model", str(fake)]) == errors.INPUT
    assert "is not a Keras model" in capsys.readouterr().err


@needs_tensorflow
def test_zip_that_is_not_a_keras_model(tmp_path, capsys):
    fake = tmp_path / "model.keras"
    with zipfile.ZipFile(fake, "w") as archive:
        archive.writestr("hello.txt", "hi")
    assert main(["--model", str(fake)]) == errors.INPUT
    assert "could not be loaded as a Keras model" in capsys.readouterr().err


def test_no_runs_and_no_model_says_what_to_do(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main([]) == errors.INPUT
    assert "python -m train" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["--quantize", "int4"], ["--calibration-samples", "0"],
                                  ["--max-drop", "-1"], ["--max-drop", "nan"], ["--backend", "onnx"]])
def test_bad_flags_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == errors.USAGE
    assert "error:" in capsys.readouterr().err


def test_help_lists_modes_and_flags(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    text = capsys.readouterr().out
    for word in ("--model", "--quantize", "--calibration-samples", "--out", "--max-drop", *MODES):
        assert word in text


def test_newest_run_is_picked(tmp_path):
    import os

    for name, mtime in (("old", 1_000), ("new", 2_000)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "model.keras").write_bytes(b"x")
        os.utime(tmp_path / name / "model.keras", (mtime, mtime))
    assert newest_run_model(tmp_path) == tmp_path / "new" / "model.keras"


def test_calibration_is_stratified_seeded_and_from_the_given_split(mnist):
    labels = mnist.train.labels
    picked = representative_indices(labels, 500, seed=0)
    assert len(set(picked.tolist())) == 500 and picked.max() < len(labels)
    assert np.bincount(labels[picked], minlength=10).tolist() == [50] * 10
    np.testing.assert_array_equal(picked, representative_indices(labels, 500, seed=0))
    assert not np.array_equal(np.sort(picked), np.sort(representative_indices(labels, 500, seed=1)))
    assert np.bincount(labels[representative_indices(labels, 25, seed=0)], minlength=10).tolist() == \
        [3] * 5 + [2] * 5
    with pytest.raises(ValueError, match="at least 10"):
        representative_indices(labels, 5, seed=0)


def test_summary_table_is_generated_from_the_shipped_sidecars(capsys, tmp_path):
    from devtools import summary
    from tests.conftest import REPO_ROOT

    assert summary.main([str(REPO_ROOT / "models" / "paper"), str(REPO_ROOT / "models" / "edge")]) == 0
    table = capsys.readouterr().out
    for row in ("| paper int8 |", "| edge float |", "| edge float16 |", "| edge dynamic |", "| edge int8 |"):
        assert row in table
    assert summary.main([str(tmp_path)]) == errors.INPUT
