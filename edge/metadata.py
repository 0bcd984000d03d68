"""The sidecar JSON written next to every ``.tflite`` by ``python -m convert``, read by ``edge``.

``ModelMetadata.read(path)`` / ``metadata.write(path)``. ``model_int8.tflite`` has its sidecar in
``model_int8.json``. The runtime uses it to check the file it loads (sha256, input contract) and to
report what it runs (accuracy, quantisation); the model's own tensors stay the authority for
scales and zero points. Bump :data:`FORMAT_VERSION` on incompatible changes; readers refuse
newer major versions with a clear message.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import re
import sys
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from edge.errors import InputError

FORMAT_NAME = "digit-edge-model"
FORMAT_VERSION = 1
# A sidecar is a few KB; anything far bigger is not ours (and is not read into memory whole).
MAX_SIDECAR_BYTES = 1 << 20
SHA256_PATTERN = re.compile(r"[0-9a-f]{64}")  # lower-case hex, as sha256sum and hashlib print it
QUANTIZATIONS = ("int8", "float16", "dynamic", "float")
OUTPUT_KINDS = ("probabilities", "logits")
TENSOR_DTYPES = ("int8", "uint8", "int16", "int32", "float16", "float32")


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
        """Check every field's type and format (see :func:`check_fields`) and build the record.

        The sidecar is untrusted input: its ``tflite_sha256`` ends up in log lines and, in the
        installers, next to file names, so nothing here is accepted on its shape alone."""
        if not isinstance(data, dict):
            raise MetadataError("sidecar is not a JSON object")
        if data.get("format") != FORMAT_NAME:
            raise MetadataError(f"not a {FORMAT_NAME} sidecar (format={data.get('format')!r})")
        version = data.get("format_version")
        if not _is_int(version) or version < 1:
            raise MetadataError(f"sidecar format_version must be a whole number >= 1, got {version!r:.40}")
        if version > FORMAT_VERSION:
            raise MetadataError(f"sidecar format version {version} is newer than this digit-edge "
                                f"understands ({FORMAT_VERSION}); upgrade digit-edge")
        check_fields(data)
        values = dict(data)
        values["input"] = TensorInfo(**data["input"])
        values["output"] = TensorInfo(**data["output"])
        return cls(**values)

    @classmethod
    def read(cls, path: Path) -> ModelMetadata:
        """Read and check a sidecar; every problem is a :class:`MetadataError` (one line)."""
        try:
            with open(path, "rb") as handle:
                raw = handle.read(MAX_SIDECAR_BYTES + 1)
        except OSError as error:
            raise MetadataError(f"cannot read sidecar {path}: {error.strerror or error}") from error
        if len(raw) > MAX_SIDECAR_BYTES:
            raise MetadataError(f"sidecar {path} is over {MAX_SIDECAR_BYTES // 1024} KB: not a sidecar")
        try:
            data = json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError as error:
            raise MetadataError(f"sidecar {path} is not UTF-8 text (byte {error.start})") from error
        except json.JSONDecodeError as error:
            raise MetadataError(f"sidecar {path} is not valid JSON: {error}") from error
        except RecursionError as error:
            raise MetadataError(f"sidecar {path} is nested too deeply to be a sidecar") from error
        if not isinstance(data, dict):
            raise MetadataError(f"sidecar {path} is not a JSON object")
        return cls.from_dict(data)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value))


def _check_tensor(name: str, value: Any) -> None:
    if not isinstance(value, dict):
        raise MetadataError(f"sidecar field {name} must be an object, got {type(value).__name__}")
    unknown = set(value) - {f.name for f in fields(TensorInfo)}
    missing = {"shape", "dtype"} - set(value)
    if unknown or missing:
        raise MetadataError(f"sidecar field {name}: unexpected {sorted(unknown)} / missing {sorted(missing)}")
    shape = value["shape"]
    if (not isinstance(shape, list) or not 1 <= len(shape) <= 8
            or not all(_is_int(n) and 0 <= n < 1 << 31 for n in shape)):
        raise MetadataError(f"sidecar field {name}.shape must be a list of 1-8 sizes, got {shape!r:.80}")
    if value["dtype"] not in TENSOR_DTYPES:
        raise MetadataError(f"sidecar field {name}.dtype must be one of {', '.join(TENSOR_DTYPES)}, "
                            f"got {value['dtype']!r:.40}")
    scale = value.get("scale", 0.0)
    if not _is_number(scale) or scale < 0:
        raise MetadataError(f"sidecar field {name}.scale must be a finite number >= 0, got {scale!r:.40}")
    if not _is_int(value.get("zero_point", 0)) or abs(value.get("zero_point", 0)) > 1 << 31:
        raise MetadataError(f"sidecar field {name}.zero_point must be an integer")


def check_fields(data: dict) -> None:
    """The one sidecar schema: raise :class:`MetadataError` naming the first field whose type
    or format is wrong. Used by the runtime's loader and, through ``python -m edge.metadata``,
    by deploy/install.sh and the Ansible roll-out."""
    known = {f.name for f in fields(ModelMetadata)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise MetadataError(f"sidecar has unexpected fields: {', '.join(map(repr, unknown))[:120]}")
    required = ("labels", "input", "output", "quantization", "output_kind", "pixel_scale", "ink",
                "tflite_sha256", "tflite_bytes")
    missing = [name for name in required if name not in data]
    if missing:
        raise MetadataError(f"sidecar is missing fields: {', '.join(missing)}")
    labels = data["labels"]
    if not isinstance(labels, list) or not labels or not all(isinstance(x, str) and len(x) <= 16 for x in labels):
        raise MetadataError("sidecar field labels must be a non-empty list of short strings")
    _check_tensor("input", data["input"])
    _check_tensor("output", data["output"])
    choices = {"quantization": QUANTIZATIONS, "output_kind": OUTPUT_KINDS}
    for name, allowed in choices.items():
        if data[name] not in allowed:
            raise MetadataError(f"sidecar field {name} must be one of {', '.join(allowed)}, got {data[name]!r:.40}")
    if not _is_number(data["pixel_scale"]) or data["pixel_scale"] <= 0:
        raise MetadataError(f"sidecar field pixel_scale must be a finite number > 0, got {data['pixel_scale']!r:.40}")
    if not isinstance(data["ink"], str):
        raise MetadataError("sidecar field ink must be a string")
    sha = data["tflite_sha256"]
    if not isinstance(sha, str) or not SHA256_PATTERN.fullmatch(sha):
        raise MetadataError(f"sidecar field tflite_sha256 must be 64 lower-case hex digits, got {sha!r:.80}")
    if not _is_int(data["tflite_bytes"]) or data["tflite_bytes"] < 0:
        raise MetadataError(f"sidecar field tflite_bytes must be a whole number >= 0, got {data['tflite_bytes']!r:.40}")
    for name in ("source_model", "calibration", "parity", "versions"):
        if not isinstance(data.get(name, {}), dict):
            raise MetadataError(f"sidecar field {name} must be an object")
    accuracy = data.get("accuracy")
    if accuracy is not None and (not _is_number(accuracy) or not 0 <= accuracy <= 1):
        raise MetadataError(f"sidecar field accuracy must be a number from 0 to 1 or null, got {accuracy!r:.40}")
    if not isinstance(data.get("created", ""), str):
        raise MetadataError("sidecar field created must be a string")


def sidecar_path(model_path: Path) -> Path:
    """``model_int8.tflite`` -> ``model_int8.json``."""
    return Path(model_path).with_suffix(".json")


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_model_files(sidecar: Path, tflite: Path | None = None) -> ModelMetadata:
    """Read and check ``sidecar``; with ``tflite``, also that the file's sha256 is the recorded one."""
    metadata = ModelMetadata.read(sidecar)
    if tflite is not None:
        try:
            actual = sha256_file(tflite)
        except OSError as error:
            raise MetadataError(f"cannot read {tflite}: {error.strerror or error}") from error
        if actual != metadata.tflite_sha256:
            raise MetadataError(f"{tflite}: sha256 {actual} does not match the sidecar's {metadata.tflite_sha256}")
    return metadata


def main(argv: list[str] | None = None) -> int:
    """``python -m edge.metadata SIDECAR [--tflite FILE]``: exit 0 and print the sidecar's sha256
    when it passes the schema (and matches FILE), else one line and exit 3. The installers call
    this so the shell and Ansible never parse a sidecar themselves."""
    from edge.clikit import run_main

    parser = argparse.ArgumentParser(prog="python -m edge.metadata",
                                     description="Check a model sidecar against digit-edge's schema.")
    parser.add_argument("sidecar", type=Path)
    parser.add_argument("--tflite", type=Path, help="also check that this file's sha256 is the sidecar's")
    args = parser.parse_args(argv)

    def body() -> None:
        print(check_model_files(args.sidecar, args.tflite).tflite_sha256)

    return run_main(body, prog=parser.prog)


if __name__ == "__main__":
    sys.exit(main())
