"""TFLite/LiteRT classifier for 28x28 digit crops: the code path the Pi runs.

``DigitClassifier.from_path("models/edge/model_int8.tflite").probabilities(crops)``; also used by
``python -m convert`` for its parity proof, so the proof covers what ships. The interpreter is
created once and reused; the runtime backend is imported here, on first use, trying
ai-edge-litert, then tflite-runtime, then TensorFlow's own ``tf.lite``.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edge.constants import INPUT_SHAPE, NUM_CLASSES, PIXEL_SCALE
from edge.errors import InputError, JobError
from edge.metadata import MetadataError, ModelMetadata, TensorInfo, sidecar_path

BACKENDS = ("ai_edge_litert", "tflite_runtime", "tensorflow")
_BACKEND_MODULES = {
    "ai_edge_litert": "ai_edge_litert.interpreter",
    "tflite_runtime": "tflite_runtime.interpreter",
    "tensorflow": "tensorflow.lite.python.interpreter",
}
INSTALL_HINT = "pip install ai-edge-litert   (or, from the repository: pip install '.[edge]')"
TFLITE_FILE_IDENTIFIER = b"TFL3"  # flatbuffer file identifier, bytes 4-8 of every .tflite


class ModelError(InputError):
    """A model file is missing, corrupt, or not a digit model this runtime can feed."""


class BackendError(JobError, RuntimeError):
    """No usable TFLite runtime is installed (or the requested one is not)."""


@dataclass(frozen=True)
class Backend:
    """An importable TFLite runtime."""

    name: str
    module: object  # exposes Interpreter and (except very old runtimes) OpResolverType


@dataclass(frozen=True)
class OpInfo:
    """One operator of a loaded model, with the dtypes of its tensors."""

    index: int
    name: str
    input_dtypes: tuple[str, ...]
    output_dtypes: tuple[str, ...]

    @property
    def uses_float(self) -> bool:
        return any(dtype in ("float32", "float16") for dtype in self.input_dtypes + self.output_dtypes)


def load_backend(name: str | None = None) -> Backend:
    """Import ``name`` (one of :data:`BACKENDS`), or the first that imports when ``None``."""
    if name is not None and name not in BACKENDS:
        raise BackendError(f"unknown backend {name!r}; choose one of {', '.join(BACKENDS)}")
    failures = []
    for candidate in (name,) if name else BACKENDS:
        try:
            return Backend(candidate, importlib.import_module(_BACKEND_MODULES[candidate]))
        except ImportError as error:
            failures.append(f"{candidate}: {error}")
    if name:
        raise BackendError(f"the {name} backend is not installed ({failures[0]}). {INSTALL_HINT}")
    raise BackendError(f"no TFLite runtime found ({'; '.join(failures)}). {INSTALL_HINT}")


@contextlib.contextmanager
def _native_stderr_dropped():
    """Drop what native code writes to file descriptor 2 meanwhile: the runtime prints "INFO:
    Created TensorFlow Lite XNNPACK delegate for CPU." there, which would precede a command's one
    error line (and is what --verbose's describe() says anyway). Errors still raise, with their text."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no real fd 2 (an embedded interpreter): leave it alone
        yield
        return
    try:
        with open(os.devnull, "wb") as sink:
            os.dup2(sink.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _tensor_info(detail: dict) -> TensorInfo:
    scale, zero_point = detail.get("quantization", (0.0, 0))
    return TensorInfo(shape=[int(n) for n in detail["shape"]], dtype=np.dtype(detail["dtype"]).name,
                      scale=float(scale), zero_point=int(zero_point))


class DigitClassifier:
    """A loaded, validated digit model: uint8 crops in, class probabilities out.

    Quantisation parameters are read from the model's tensors. The sidecar (``.json`` beside the
    model), when present, is checked against the file (sha256, input contract) and kept in
    :attr:`metadata` for reporting.
    """

    def __init__(self, model_content: bytes, *, source: str = "<bytes>", backend: str | None = None,
                 xnnpack: bool = True, threads: int | None = None,
                 metadata: ModelMetadata | None = None):
        if len(model_content) < 8 or model_content[4:8] != TFLITE_FILE_IDENTIFIER:
            raise ModelError(f"{source} is not a TFLite model (no 'TFL3' flatbuffer identifier); "
                             "use the .tflite file written by python -m convert")
        self.source = source
        self.sha256 = hashlib.sha256(model_content).hexdigest()
        self.size_bytes = len(model_content)
        if metadata is not None and metadata.tflite_sha256 != self.sha256:
            raise ModelError(f"{source}: sha256 {self.sha256[:12]}… does not match its sidecar "
                             f"({metadata.tflite_sha256[:12]}…); the file is corrupt or the sidecar "
                             "belongs to another model")
        self.metadata = metadata
        self.backend = load_backend(backend)
        self.xnnpack = xnnpack
        self.threads = threads
        self._interpreter = self._create_interpreter(model_content)
        input_detail = self._interpreter.get_input_details()
        output_detail = self._interpreter.get_output_details()
        if len(input_detail) != 1 or len(output_detail) != 1:
            raise ModelError(f"{source}: expected one input and one output tensor, got "
                             f"{len(input_detail)} and {len(output_detail)}")
        self._input_index = input_detail[0]["index"]
        self._output_index = output_detail[0]["index"]
        self.input = _tensor_info(input_detail[0])
        self.output = _tensor_info(output_detail[0])
        self._check_contract()
        self.output_kind = "probabilities" if self._output_is_softmax() else "logits"
        self._batch = int(self.input.shape[0])
        # A model converted with a fixed batch (signature [1, 28, 28, 1], not [-1, ...]) cannot be
        # resized: it is fed that many crops at a time, the last call padded.
        signature = input_detail[0].get("shape_signature", input_detail[0]["shape"])
        self.fixed_batch = int(signature[0]) if len(signature) and int(signature[0]) > 0 else None

    @classmethod
    def from_path(cls, path: str | Path, **options) -> DigitClassifier:
        """Load ``path`` and its sidecar (if any); every problem is a :class:`ModelError`."""
        path = Path(path)
        if not path.is_file():
            raise ModelError(f"model file {path} not found" +
                             ("" if path.parent.is_dir() else f" (no directory {path.parent})"))
        try:
            content = path.read_bytes()
        except OSError as error:
            raise ModelError(f"cannot read model {path}: {error}") from error
        metadata = None
        if sidecar_path(path).is_file():
            try:
                metadata = ModelMetadata.read(sidecar_path(path))
            except MetadataError as error:
                raise ModelError(f"{sidecar_path(path)}: {error}") from error
        return cls(content, source=str(path), metadata=metadata, **options)

    def _create_interpreter(self, content: bytes):
        module = self.backend.module
        kwargs: dict = {"model_content": content, "num_threads": self.threads}
        resolver = getattr(module, "OpResolverType", None)
        if not self.xnnpack:
            if resolver is None:
                raise BackendError(f"the {self.backend.name} backend cannot turn XNNPACK off")
            # The builtin kernels without the default (XNNPACK) delegate.
            kwargs["experimental_op_resolver_type"] = resolver.BUILTIN_WITHOUT_DEFAULT_DELEGATES
        try:
            with _native_stderr_dropped():
                interpreter = module.Interpreter(**kwargs)
                interpreter.allocate_tensors()
        except (ValueError, RuntimeError) as error:
            raise ModelError(f"{self.source}: the {self.backend.name} runtime cannot load it: "
                             f"{str(error).strip().splitlines()[0]}") from error
        return interpreter

    def _check_contract(self) -> None:
        shape = tuple(self.input.shape[1:])
        if shape != INPUT_SHAPE:
            raise ModelError(f"{self.source}: model input is {tuple(self.input.shape)}, digit-edge "
                             f"feeds (batch, {', '.join(map(str, INPUT_SHAPE))}) MNIST-style crops")
        if len(self.output.shape) != 2 or self.output.shape[-1] != NUM_CLASSES:
            raise ModelError(f"{self.source}: model output is {tuple(self.output.shape)}, digit-edge "
                             f"expects (batch, {NUM_CLASSES}): one probability per digit")
        if self.metadata is not None and self.metadata.input.dtype != self.input.dtype:
            raise ModelError(f"{self.source}: input dtype {self.input.dtype} differs from its "
                             f"sidecar's {self.metadata.input.dtype}")

    def _output_is_softmax(self) -> bool:
        return any(op.name == "SOFTMAX" for op in self._producers_of(self._output_index))

    def _producers_of(self, tensor_index: int) -> list[OpInfo]:
        details = self._interpreter._get_ops_details()  # noqa: SLF001 - only way to list ops
        return [self._op_info(d) for d in details if tensor_index in list(d["outputs"])]

    def _op_info(self, detail: dict) -> OpInfo:
        def dtypes(indices) -> tuple[str, ...]:
            return tuple(np.dtype(self._interpreter._get_tensor_details(int(i), 0)["dtype"]).name  # noqa: SLF001
                         for i in indices if int(i) >= 0)

        return OpInfo(index=int(detail["index"]), name=str(detail["op_name"]),
                      input_dtypes=dtypes(detail["inputs"]), output_dtypes=dtypes(detail["outputs"]))

    def ops(self) -> list[OpInfo]:
        """Every operator of the model, in execution order."""
        return [self._op_info(d) for d in self._interpreter._get_ops_details()]  # noqa: SLF001

    def describe(self) -> str:
        """One line for logs: backend, delegate, threads, dtype, size."""
        delegate = "XNNPACK" if self.xnnpack else "no delegate"
        threads = self.threads or "default"
        return (f"{Path(self.source).name}: {self.input.dtype} in, {self.size_bytes / 1024:.1f} KB, "
                f"backend {self.backend.name}, {delegate}, threads {threads}")

    def quantize_input(self, images: np.ndarray) -> np.ndarray:
        """(N, 28, 28) uint8 crops -> the model's input tensor (N, 28, 28, 1) in its dtype."""
        real = images.astype(np.float32)[..., np.newaxis] * np.float32(PIXEL_SCALE)
        dtype = np.dtype(self.input.dtype)
        if dtype.kind == "f" or self.input.scale == 0:
            return real.astype(dtype)
        info = np.iinfo(dtype)
        quantized = np.round(real / self.input.scale) + self.input.zero_point
        return np.clip(quantized, info.min, info.max).astype(dtype)

    def dequantize_output(self, raw: np.ndarray) -> np.ndarray:
        """The output tensor as float32 class probabilities, rows summing to 1."""
        values = raw.astype(np.float32)
        if self.output.scale:
            values = (values - self.output.zero_point) * np.float32(self.output.scale)
        if self.output_kind == "logits":
            values = np.exp(values - values.max(axis=-1, keepdims=True))
        values = np.clip(values, 0.0, None)
        totals = values.sum(axis=-1, keepdims=True)
        # An int8 softmax can round every class to 0; fall back to uniform instead of dividing by 0.
        return np.where(totals > 0, values / np.where(totals > 0, totals, 1), 1.0 / NUM_CLASSES)

    def _set_batch(self, batch: int) -> None:
        if batch != self._batch:
            try:
                self._interpreter.resize_tensor_input(self._input_index, [batch, *INPUT_SHAPE])
                self._interpreter.allocate_tensors()
            except (ValueError, RuntimeError) as error:
                raise ModelError(f"{self.source}: cannot run a batch of {batch}: "
                                 f"{str(error).strip().splitlines()[0]}") from error
            self._batch = batch

    def probabilities(self, images: np.ndarray) -> np.ndarray:
        """(N, 28, 28) uint8 crops (ink bright, MNIST-normalised) -> (N, 10) float32."""
        images = np.asarray(images)
        if images.ndim != 3 or images.shape[1:] != INPUT_SHAPE[:2]:
            raise ValueError(f"expected crops of shape (N, {INPUT_SHAPE[0]}, {INPUT_SHAPE[1]}), "
                             f"got {images.shape}")
        if len(images) == 0:
            return np.zeros((0, NUM_CLASSES), np.float32)
        if self.fixed_batch is not None and len(images) != self.fixed_batch:
            size = self.fixed_batch
            padded = np.zeros((-(-len(images) // size) * size, *images.shape[1:]), images.dtype)
            padded[:len(images)] = images
            rows = [self.probabilities(padded[start:start + size]) for start in range(0, len(padded), size)]
            return np.concatenate(rows)[:len(images)]
        self._set_batch(len(images))
        self._interpreter.set_tensor(self._input_index, self.quantize_input(images))
        self._interpreter.invoke()
        raw = self._interpreter.get_tensor(self._output_index)
        return self.dequantize_output(raw.reshape(len(images), NUM_CLASSES))

    def predict(self, images: np.ndarray, batch_size: int = 256, progress=None) -> np.ndarray:
        """Probabilities for any number of crops, ``batch_size`` at a time.

        ``progress`` is called with the number of crops done after each batch (e.g. tqdm.update).
        """
        images = np.asarray(images)
        chunks = []
        for start in range(0, len(images), batch_size):
            chunks.append(self.probabilities(images[start:start + batch_size]))
            if progress is not None:
                progress(len(chunks[-1]))
        return np.concatenate(chunks) if chunks else np.zeros((0, NUM_CLASSES), np.float32)
