"""Accuracy parity, float vs quantised, of the model we ship, re-measured on every run.

The numbers are computed here from the committed files (Keras float model, int8 TFLite) on all
10,000 MNIST test images through the Pi's interpreter code; nothing is read back from a report.
"""

from __future__ import annotations

import numpy as np
import pytest

from convert.parity import compare
from edge.constants import to_model_input
from edge.interpreter import DigitClassifier
from edge.metadata import ModelMetadata, sha256_file
from tests.conftest import REPO_ROOT

RELEASE = REPO_ROOT / "models" / "edge"
INT8 = RELEASE / "model_int8.tflite"


@pytest.fixture(scope="module")
def float_probabilities(mnist):
    keras = pytest.importorskip("keras", reason="the float model needs TensorFlow: pip install -e '.[train]'")

    model = keras.saving.load_model(RELEASE / "model.keras", compile=False)
    return np.asarray(model.predict(to_model_input(mnist.test.images), batch_size=1000, verbose=0))


@pytest.mark.slow
@pytest.mark.parametrize("xnnpack", [True, False], ids=["xnnpack", "builtin-kernels"])
def test_int8_release_model_matches_float_on_the_full_test_set(mnist, float_probabilities, xnnpack):
    classifier = DigitClassifier.from_path(INT8, xnnpack=xnnpack)
    report = compare(mnist.test.labels, float_probabilities, classifier.predict(mnist.test.images))
    assert report.images == 10_000
    assert abs(report.drop_pp) <= 0.1
    assert report.agreement >= 0.998
    assert report.converted_accuracy >= 0.996


def test_release_model_is_small_and_full_int8_and_its_sidecar_is_true():
    sidecar = ModelMetadata.read(INT8.with_suffix(".json"))
    assert INT8.stat().st_size <= 100 * 1024
    assert sidecar.tflite_sha256 == sha256_file(INT8)
    assert sidecar.source_model["sha256"] == sha256_file(RELEASE / "model.keras")
    classifier = DigitClassifier.from_path(INT8)
    assert classifier.input.dtype == classifier.output.dtype == "int8"
    assert not [op for op in classifier.ops() if op.uses_float]
    # The sidecar records what the model tensors say (the runtime still reads the tensors).
    assert (sidecar.input.scale, sidecar.input.zero_point) == (classifier.input.scale,
                                                               classifier.input.zero_point)
    assert sidecar.calibration["source"] == "mnist-train" and sidecar.calibration["stratified"]
    assert sidecar.parity["images"] == 10_000 and sidecar.parity["drop_pp"] <= 0.1


@pytest.mark.slow
def test_sidecar_accuracy_is_what_the_model_really_scores(mnist):
    sidecar = ModelMetadata.read(INT8.with_suffix(".json"))
    predictions = DigitClassifier.from_path(INT8).predict(mnist.test.images).argmax(axis=1)
    assert sidecar.accuracy == pytest.approx(np.mean(predictions == mnist.test.labels), abs=1e-4)
