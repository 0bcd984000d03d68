"""The conversion run behind ``python -m convert``: Keras -> TFLite, checks, parity, sidecar.

``run(ConvertConfig(model=..., mode="int8"))`` returns a :class:`ConvertResult`. Output files go
next to the source model (or ``out_dir``), named by mode so every mode can live side by side:
``model_int8.tflite``, ``model_int8.json`` (sidecar), ``parity_int8.json``, ``changed_int8.png``.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import sys
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from convert.calibration import representative_indices
from convert.parity import ParityReport, compare
from edge.constants import (
    EXPECTED_INT8_INPUT_SCALE,
    EXPECTED_INT8_INPUT_ZERO_POINT,
    LABELS,
    PIXEL_SCALE,
    to_model_input,
)
from edge.errors import InputError, JobError
from edge.interpreter import DigitClassifier, ModelError
from edge.metadata import ModelMetadata, TensorInfo, sha256_file, sidecar_path
from train.mnist import Mnist, load_mnist
from train.tfquiet import captured_native_output, import_tensorflow

MODES = ("int8", "float16", "dynamic", "float")
MODE_HELP = {
    "int8": "full integer: int8 weights, activations, input and output (what the Pi runs)",
    "float16": "float16 weights, float32 compute",
    "dynamic": "int8 weights, float activations (dynamic-range quantisation)",
    "float": "plain float32 TFLite",
}


class ConvertError(JobError):
    """Conversion could not run or its result failed a check; the message says which."""


class InputModelError(InputError):
    """The source model is missing or is not a Keras model."""


@dataclass
class ConvertConfig:
    model: Path | None = None  # default: the newest runs/*/model.keras
    mode: str = "int8"
    calibration_samples: int = 500  # 50 per digit; more changes int8 accuracy by < 0.05 pp here
    seed: int = 0
    out_dir: Path | None = None
    data_dir: str | None = None
    verify_data: bool = True
    max_drop_pp: float = 0.1
    test_limit: int | None = None  # evaluate on the first N test images (smoke tests only)
    backend: str | None = None  # TFLite runtime for the parity run (default: as on the Pi)
    runs_dir: Path = Path("runs")


@dataclass
class ConvertResult:
    tflite_path: Path
    metadata: ModelMetadata
    parity: ParityReport
    passed: bool
    float_ops: list  # ops that still compute in float (must be empty for int8)


def newest_run_model(runs_dir: Path) -> Path:
    """The most recently written ``runs/*/model.keras``."""
    candidates = sorted(runs_dir.glob("*/model.keras"), key=lambda p: p.stat().st_mtime)
    if not candidates:
        raise InputModelError(f"no trained model found under {runs_dir}/*/model.keras; train one with "
                              "python -m train, or pass --model PATH")
    return candidates[-1]


def load_keras_model(path: Path):
    """Load a ``.keras`` file, turning every failure into :class:`InputModelError`."""
    if not path.is_file():
        raise InputModelError(f"model file {path} not found")
    if not zipfile.is_zipfile(path):
        raise InputModelError(f"{path} is not a Keras model (.keras files are zip archives); pass the "
                              "model.keras written by python -m train")
    try:
        import_tensorflow()
    except ImportError as error:
        raise ConvertError(str(error)) from error
    import keras

    try:
        return keras.saving.load_model(path, compile=False)
    except Exception as error:  # Keras raises many types for a damaged archive
        raise InputModelError(f"{path} could not be loaded as a Keras model: {error}") from error


def _progress(total: int, description: str, stream=None):
    """A tqdm bar on a terminal; one line of text otherwise (CI, logs)."""
    from tqdm import tqdm

    stream = stream or sys.stderr
    interactive = stream.isatty()
    if not interactive:
        print(f"{description} ({total:,} images)…", flush=True)
    return tqdm(total=total, desc=description, unit="img", disable=not interactive, leave=False,
                file=stream)


def to_tflite(model, mode: str, calibration: np.ndarray | None = None) -> bytes:
    """Convert a Keras model; ``calibration`` (N, 28, 28) uint8 images are required for int8."""
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    if mode == "float":
        pass
    elif mode == "float16":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
    elif mode == "dynamic":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    elif mode == "int8":
        if calibration is None or len(calibration) == 0:
            raise ConvertError("int8 conversion needs calibration images")
        inputs = to_model_input(calibration)
        # The converter runs with fd 2 captured; the bar writes to a copy of the real stderr.
        bar_stream = os.fdopen(os.dup(2), "w")
        bar = _progress(len(inputs), "Calibrating", bar_stream)

        def representative_dataset():
            for image in inputs:
                bar.update(1)
                yield [image[np.newaxis]]

        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = representative_dataset
        # Only int8 builtins: the converter errors out instead of silently keeping float ops.
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.int8
        converter.inference_output_type = tf.int8
    else:
        raise ConvertError(f"unknown quantisation mode {mode!r}; choose one of {', '.join(MODES)}")
    failure, details = None, ""
    try:
        with captured_native_output() as log:
            try:
                content = converter.convert()
            except Exception as error:  # ConverterError, RuntimeError, ValueError…
                failure, details = error, log()
    finally:
        if mode == "int8":
            bar.close()
            bar_stream.close()
    if failure is not None:
        raise ConvertError(f"TFLite conversion ({mode}) failed: {str(failure).strip()[:500]}\n"
                           f"converter log (last lines):\n{details[-2000:]}") from failure
    return content


def check_int8(classifier: DigitClassifier) -> list:
    """Ops that still touch float tensors, plus dtype checks; raises when the model is not full int8."""
    float_ops = [op for op in classifier.ops() if op.uses_float]
    problems = []
    if classifier.input.dtype != "int8" or classifier.output.dtype != "int8":
        problems.append(f"input/output are {classifier.input.dtype}/{classifier.output.dtype}, not int8")
    if float_ops:
        names = ", ".join(f"{op.name}#{op.index}" for op in float_ops)
        problems.append(f"{len(float_ops)} op(s) fell back to float: {names}")
    if problems:
        raise ConvertError("the int8 model is not fully integer: " + "; ".join(problems))
    return float_ops


def _write_atomic(path: Path, content: bytes) -> None:
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_bytes(content)
    os.replace(temporary, path)


def _keras_probabilities(model, images: np.ndarray, batch_size: int = 500) -> np.ndarray:
    bar = _progress(len(images), "Evaluating Keras float model")
    chunks = []
    with bar:
        for start in range(0, len(images), batch_size):
            batch = to_model_input(images[start:start + batch_size])
            chunks.append(np.asarray(model(batch, training=False)))
            bar.update(len(batch))
    return np.concatenate(chunks)


def run(config: ConvertConfig, data: Mnist | None = None) -> ConvertResult:
    """Convert, check, measure parity and write the outputs; see the module docstring."""
    if config.mode not in MODES:
        raise ConvertError(f"unknown quantisation mode {config.mode!r}; choose one of {', '.join(MODES)}")
    model_path = Path(config.model) if config.model else newest_run_model(config.runs_dir)
    if config.model is None:
        print(f"Using the newest training run: {model_path}", flush=True)
    model = load_keras_model(model_path)
    if data is None:
        data = load_mnist(config.data_dir, verify=config.verify_data)
    out_dir = Path(config.out_dir) if config.out_dir else model_path.parent
    out_dir.mkdir(parents=True, exist_ok=True)

    calibration_idx = None
    calibration = None
    if config.mode == "int8":
        try:
            calibration_idx = representative_indices(data.train.labels, config.calibration_samples,
                                                     config.seed)
        except ValueError as error:
            raise ConvertError(str(error)) from error
        calibration = data.train.images[calibration_idx]
    content = to_tflite(model, config.mode, calibration)

    classifier = DigitClassifier(content, source=f"{config.mode} model", backend=config.backend)
    float_ops = check_int8(classifier) if config.mode == "int8" else []
    if config.mode == "int8" and (classifier.input.zero_point != EXPECTED_INT8_INPUT_ZERO_POINT or
                                  not np.isclose(classifier.input.scale, EXPECTED_INT8_INPUT_SCALE)):
        print(f"warning: int8 input quantisation is scale {classifier.input.scale:.6g}, zero point "
              f"{classifier.input.zero_point}; expected {EXPECTED_INT8_INPUT_SCALE:.6g}, "
              f"{EXPECTED_INT8_INPUT_ZERO_POINT} for [0, 1] inputs", file=sys.stderr)

    test = data.test.head(config.test_limit)
    float_probs = _keras_probabilities(model, test.images)
    bar = _progress(len(test), f"Evaluating {config.mode} TFLite ({classifier.backend.name})")
    with bar:
        converted_probs = classifier.predict(test.images, progress=bar.update)
    report = compare(test.labels, float_probs, converted_probs)
    passed = report.drop_pp <= config.max_drop_pp

    from train.report import digit_gallery

    stem = f"model_{config.mode}"
    changed_idx = [c.index for c in report.changed]
    digit_gallery(test.images[changed_idx],
                  [f"{c.label}: {c.float_prediction}→{c.converted_prediction}" for c in report.changed],
                  out_dir / f"changed_{config.mode}.png",
                  title=f"{len(changed_idx)} test digits whose prediction changed, float → {config.mode} "
                        "(true: float→converted)")
    parity_data = {"mode": config.mode, "model": str(model_path), "backend": classifier.backend.name,
                   "max_drop_pp": config.max_drop_pp, "passed": passed, **report.to_dict()}
    (out_dir / f"parity_{config.mode}.json").write_text(json.dumps(parity_data, indent=2))

    tflite_path = out_dir / (f"{stem}.tflite" if passed else f"{stem}.rejected.tflite")
    _write_atomic(tflite_path, content)
    metadata = build_metadata(classifier, config, model_path, model, report, calibration_idx)
    if passed:
        metadata.write(sidecar_path(tflite_path))
    return ConvertResult(tflite_path=tflite_path, metadata=metadata, parity=report, passed=passed,
                         float_ops=float_ops)


def build_metadata(classifier: DigitClassifier, config: ConvertConfig, model_path: Path, model,
                   report: ParityReport, calibration_idx) -> ModelMetadata:
    import keras
    import tensorflow as tf

    training_metrics = {}
    metrics_path = model_path.parent / "metrics.json"
    if metrics_path.is_file():
        training_metrics = json.loads(metrics_path.read_text())
    calibration = {}
    if calibration_idx is not None:
        calibration = {"samples": len(calibration_idx), "seed": config.seed, "source": "mnist-train",
                       "stratified": True,
                       "indices_sha256": hashlib.sha256(np.sort(calibration_idx).tobytes()).hexdigest()}
    return ModelMetadata(
        labels=list(LABELS),
        input=TensorInfo(classifier.input.shape, classifier.input.dtype, classifier.input.scale,
                         classifier.input.zero_point),
        output=TensorInfo(classifier.output.shape, classifier.output.dtype, classifier.output.scale,
                          classifier.output.zero_point),
        quantization=config.mode,
        output_kind=classifier.output_kind,
        pixel_scale=PIXEL_SCALE,
        ink="white-on-black",
        tflite_sha256=classifier.sha256,
        tflite_bytes=classifier.size_bytes,
        source_model={"path": str(model_path), "sha256": sha256_file(model_path),
                      "arch": training_metrics.get("arch", model.name),
                      "params": int(model.count_params()),
                      "keras_test_accuracy": report.float_accuracy,
                      "training_seed": training_metrics.get("seed"),
                      # A fine-tuned model (python -m train --finetune) names the data it learnt.
                      **({"finetuned_from": training_metrics.get("finetuned_from"),
                          "extra_data": training_metrics["extra"]} if "extra" in training_metrics else {})},
        calibration=calibration,
        parity=report.summary(),
        accuracy=report.converted_accuracy,
        versions={"tensorflow": tf.__version__, "keras": keras.__version__,
                  "python": platform.python_version()},
        created=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    )


__all__ = ["MODES", "ConvertConfig", "ConvertError", "ConvertResult", "InputModelError", "ModelError",
           "run"]
