"""edge.interpreter: backends, validation of what it loads, quantisation maths, batching."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis.extra.numpy import arrays

from edge.interpreter import BackendError, DigitClassifier, ModelError, load_backend
from tests.conftest import REPO_ROOT, needs_tensorflow

INT8 = REPO_ROOT / "models" / "edge" / "model_int8.tflite"
FLOAT = REPO_ROOT / "models" / "edge" / "model_float.tflite"


@pytest.fixture(scope="module")
def classifier():
    return DigitClassifier.from_path(INT8)


def test_default_backend_is_ai_edge_litert_and_reported(classifier):
    assert classifier.backend.name == "ai_edge_litert"
    assert "ai_edge_litert" in classifier.describe() and "XNNPACK" in classifier.describe()


def test_unknown_and_missing_backends_say_how_to_install():
    with pytest.raises(BackendError, match="unknown backend 'onnx'"):
        load_backend("onnx")
    try:
        import tflite_runtime  # noqa: F401
    except ImportError:
        with pytest.raises(BackendError, match="pip install ai-edge-litert"):
            load_backend("tflite_runtime")


@needs_tensorflow
@pytest.mark.filterwarnings("ignore:.*tf.lite.Interpreter is deprecated:UserWarning")
def test_tensorflow_backend_gives_the_same_answers(mnist, classifier):
    images = mnist.test.images[:200]
    other = DigitClassifier.from_path(INT8, backend="tensorflow")
    assert other.backend.name == "tensorflow"
    np.testing.assert_array_equal(other.predict(images).argmax(1), classifier.predict(images).argmax(1))


def test_xnnpack_off_gives_the_same_answers(mnist, classifier):
    images = mnist.test.images[:200]
    plain = DigitClassifier.from_path(INT8, xnnpack=False, threads=1)
    assert "no delegate" in plain.describe()
    np.testing.assert_array_equal(plain.predict(images).argmax(1), classifier.predict(images).argmax(1))


def test_quantisation_comes_from_the_model_and_maps_pixels_exactly(classifier):
    assert classifier.input.dtype == "int8"
    pixels = np.arange(256, dtype=np.uint8).reshape(1, 16, 16)
    crop = np.zeros((1, 28, 28), np.uint8)
    crop[0, :16, :16] = pixels
    quantized = classifier.quantize_input(crop)
    assert quantized.dtype == np.int8 and quantized.shape == (1, 28, 28, 1)
    # scale 1/255, zero point -128 (read from the model): pixel p becomes exactly p - 128.
    np.testing.assert_array_equal(quantized[0, :16, :16, 0].astype(int), pixels[0].astype(int) - 128)


def test_batches_of_any_size_match_one_at_a_time(mnist, classifier):
    images = mnist.test.images[:7]
    batched = classifier.probabilities(images)
    single = np.concatenate([classifier.probabilities(images[i:i + 1]) for i in range(7)])
    np.testing.assert_allclose(batched, single, atol=1e-6)
    np.testing.assert_allclose(batched.sum(axis=1), 1.0, atol=1e-5)
    assert classifier.probabilities(np.zeros((0, 28, 28), np.uint8)).shape == (0, 10)
    assert (classifier.predict(mnist.test.images[:600], batch_size=256).argmax(1)
            == mnist.test.labels[:600]).mean() > 0.98


def test_wrong_crop_shape_is_a_value_error(classifier):
    with pytest.raises(ValueError, match=r"expected crops of shape \(N, 28, 28\)"):
        classifier.probabilities(np.zeros((2, 32, 32), np.uint8))


@settings(max_examples=30, deadline=None)
@given(arrays(np.int8, (3, 10)))
def test_dequantised_output_is_always_a_distribution(classifier, raw):
    probabilities = classifier.dequantize_output(raw)
    assert np.all(probabilities >= 0)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)


def test_missing_model(tmp_path):
    with pytest.raises(ModelError, match="not found"):
        DigitClassifier.from_path(tmp_path / "model.tflite")


def test_not_a_tflite_file(tmp_path):
    bogus = tmp_path / "model.tflite"
    bogus.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    with pytest.raises(ModelError, match="not a TFLite model"):
        DigitClassifier.from_path(bogus)


def test_truncated_model(tmp_path):
    broken = tmp_path / "model.tflite"
    broken.write_bytes(INT8.read_bytes()[:4000])
    with pytest.raises(ModelError, match="cannot load it"):
        DigitClassifier.from_path(broken)


def test_sidecar_of_another_model_is_refused(tmp_path):
    shutil.copy(FLOAT, tmp_path / "model.tflite")
    shutil.copy(INT8.with_suffix(".json"), tmp_path / "model.json")
    with pytest.raises(ModelError, match="does not match its sidecar"):
        DigitClassifier.from_path(tmp_path / "model.tflite")


def test_malformed_sidecar_is_refused(tmp_path):
    shutil.copy(INT8, tmp_path / "model.tflite")
    (tmp_path / "model.json").write_text("{not json")
    with pytest.raises(ModelError, match="not valid JSON"):
        DigitClassifier.from_path(tmp_path / "model.tflite")
    (tmp_path / "model.json").write_text(json.dumps({"format": "digit-edge-model", "format_version": 99}))
    with pytest.raises(ModelError, match="newer than this digit-edge understands"):
        DigitClassifier.from_path(tmp_path / "model.tflite")


@pytest.mark.slow
@needs_tensorflow
def test_model_with_the_wrong_input_shape(tmp_path):
    import keras

    from convert.pipeline import to_tflite

    wrong = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Flatten(), keras.layers.Dense(10)])
    path = tmp_path / "wrong.tflite"
    path.write_bytes(to_tflite(wrong, "float"))
    with pytest.raises(ModelError, match=r"model input is \(1, 32, 32, 3\), digit-edge feeds"):
        DigitClassifier.from_path(path)
