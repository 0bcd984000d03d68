"""The sidecar JSON written next to every ``.tflite`` by ``python -m convert``, read by ``edge``.

``ModelMetadata.read(path)`` / ``metadata.write(path)``. ``model_int8.tflite`` has its sidecar in
``model_int8.json``. The runtime uses it to check the file it loads (sha256, input contract) and to
report what it runs (accuracy, quantisation); the model's own tensors stay the authority for
scales and zero points. Bump :data:`FORMAT_VERSION` on incompatible changes; readers refuse
newer major versions with a clear message.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from edge.errors import InputError

FORMAT_NAME = "digit-edge-model"
FORMAT_VERSION = 1


class MetadataError(InputError, ValueError):
    """A sidecar file is unreadable, not ours, or from an incompatible version."""


@dataclass(frozen=True)
class TensorInfo:
    """Shape, dtype and affine quantisation (real = scale * (q - zero_point)) of one tensor."""

    shape: list[int]
    dtype: str
    scale: float = 0.0  # 0 means "not quantised"
    zero_point: int = 0


@dataclass(frozen=True)
class ModelMetadata:
    """Everything the Pi needs to know about a converted model, plus its provenance."""

    labels: list[str]
    input: TensorInfo
    output: TensorInfo
    quantization: str  # "int8" | "float16" | "dynamic" | "float"
    output_kind: str  # "probabilities" (softmax in the model) or "logits"
    pixel_scale: float  # model input = uint8 pixel * pixel_scale
    ink: str  # "white-on-black": the polarity the model was trained on (MNIST's)
    tflite_sha256: str
    tflite_bytes: int
    source_model: dict = field(default_factory=dict)  # path, sha256, arch, params, keras accuracy
    calibration: dict = field(default_factory=dict)  # samples, seed, source split, stratified
    parity: dict = field(default_factory=dict)  # summary of parity.json
    accuracy: float | None = None  # this model's MNIST test accuracy, measured through edge
    versions: dict = field(default_factory=dict)
    created: str = ""
    format: str = FORMAT_NAME
    format_version: int = FORMAT_VERSION

    def to_dict(self) -> dict:
        return asdict(self)

    def write(self, path: Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2) + "\n")

    @classmethod
    def from_dict(cls, data: dict) -> ModelMetadata:
        if data.get("format") != FORMAT_NAME:
            raise MetadataError(f"not a {FORMAT_NAME} sidecar (format={data.get('format')!r})")
        version = data.get("format_version")
        if not isinstance(version, int) or version > FORMAT_VERSION:
            raise MetadataError(f"sidecar format version {version!r} is newer than this digit-edge "
                                f"understands ({FORMAT_VERSION}); upgrade digit-edge")
        try:
            fields = dict(data)
            fields["input"] = TensorInfo(**data["input"])
            fields["output"] = TensorInfo(**data["output"])
            return cls(**fields)
        except (KeyError, TypeError) as error:
            raise MetadataError(f"sidecar is missing or has unexpected fields: {error}") from error

    @classmethod
    def read(cls, path: Path) -> ModelMetadata:
        try:
            data = json.loads(Path(path).read_text())
        except OSError as error:
            raise MetadataError(f"cannot read sidecar {path}: {error}") from error
        except json.JSONDecodeError as error:
            raise MetadataError(f"sidecar {path} is not valid JSON: {error}") from error
        if not isinstance(data, dict):
            raise MetadataError(f"sidecar {path} is not a JSON object")
        return cls.from_dict(data)


def sidecar_path(model_path: Path) -> Path:
    """``model_int8.tflite`` -> ``model_int8.json``."""
    return Path(model_path).with_suffix(".json")


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
