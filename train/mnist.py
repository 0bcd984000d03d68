"""Offline MNIST loader: the four official IDX files from a local directory, validated.

``load_mnist(data_dir)`` is used by ``python -m train`` and ``python -m convert``. It never
downloads (``python -m train --download`` does that, see :mod:`train.download`): the directory
comes from ``--data-dir``, else ``$DIGIT_EDGE_MNIST_DIR``, else ``../shared/data/mnist`` beside
the repository (or the working directory), else the user cache that ``--download`` fills
(``$XDG_CACHE_HOME/digit-edge/mnist``, by default ``~/.cache/digit-edge/mnist``), when present.
numpy only, so it is cheap to import and easy to test.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import math
import os
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edge.constants import INPUT_HEIGHT, INPUT_WIDTH, NUM_CLASSES
from edge.errors import InputError

DATA_DIR_ENV = "DIGIT_EDGE_MNIST_DIR"

IMAGES_MAGIC = 0x00000803  # unsigned byte, 3 dimensions
LABELS_MAGIC = 0x00000801  # unsigned byte, 1 dimension

# name -> (expected count, md5 of the *uncompressed* IDX bytes). The md5s are those published with
# MNIST; checking the uncompressed bytes accepts both .gz and raw files (and recompressed .gz).
FILES = {
    "train-images-idx3-ubyte": (60_000, "6bbc9ace898e44ae57da46a324031adb"),
    "train-labels-idx1-ubyte": (60_000, "a25bea736e30d166cdddb491f175f624"),
    "t10k-images-idx3-ubyte": (10_000, "2646ac647ad5339dbf082846283269ea"),
    "t10k-labels-idx1-ubyte": (10_000, "27ae3e4e09519cfbb04c329615203637"),
}

WHERE_TO_GET_IT = (
    "Put the four MNIST IDX files (train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, "
    "t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz; .gz or uncompressed) in one directory "
    f"and pass it with --data-dir or ${DATA_DIR_ENV}. The official files are published by "
    "Yann LeCun, Corinna Cortes and Chris Burges (the 'MNIST database of handwritten digits'); "
    "mirrors exist on many dataset hubs. Nothing is downloaded unless you ask: "
    "python -m train --download fetches and checks them into ~/.cache/digit-edge/mnist "
    "($XDG_CACHE_HOME/digit-edge/mnist), where train and convert then find them."
)


class MnistError(InputError):
    """The MNIST files are missing, unreadable or not what they claim to be."""


@dataclass(frozen=True)
class MnistSplit:
    """One split: ``images`` (N, 28, 28) uint8, white ink on black; ``labels`` (N,) uint8."""

    images: np.ndarray
    labels: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)

    def head(self, n: int | None) -> MnistSplit:
        """The first ``n`` examples (all when ``n`` is None)."""
        if n is None:
            return self
        return MnistSplit(self.images[:n], self.labels[:n])


@dataclass(frozen=True)
class Mnist:
    """The training and test splits plus where they came from."""

    train: MnistSplit
    test: MnistSplit
    data_dir: Path
    md5: dict[str, str]  # file name -> md5 of the uncompressed bytes, for run records
    verified: bool  # all four md5s matched the published ones


def user_cache_dir() -> Path:
    """Where ``--download`` puts MNIST: ``$XDG_CACHE_HOME/digit-edge/mnist``, else under ``~/.cache``.

    The XDG base-directory spec says a relative ``$XDG_CACHE_HOME`` is invalid and to be ignored.
    """
    base = os.environ.get("XDG_CACHE_HOME", "")
    root = Path(base) if base and Path(base).is_absolute() else Path.home() / ".cache"
    return root / "digit-edge" / "mnist"


def default_data_dir() -> Path | None:
    """``$DIGIT_EDGE_MNIST_DIR``, else ``../shared/data/mnist`` beside the repo or the cwd, else
    the download cache (:func:`user_cache_dir`); ``None`` when none of them exists."""
    from_env = os.environ.get(DATA_DIR_ENV)
    if from_env:
        return Path(from_env)
    repo_root = Path(__file__).resolve().parents[1]
    for candidate in (repo_root.parent / "shared/data/mnist", Path.cwd().parent / "shared/data/mnist",
                      user_cache_dir()):
        with contextlib.suppress(OSError):  # an unsearchable candidate is just not the one
            if candidate.is_dir():
                return candidate
    return None


def _probe(path: Path, kind: str) -> bool:
    """``path.is_dir()`` / ``is_file()``, except that a directory this user may not search is
    an :class:`MnistError` naming it (pathlib raises PermissionError there instead of False)."""
    try:
        return path.is_dir() if kind == "dir" else path.is_file()
    except OSError as error:
        raise MnistError(f"{path} cannot be read: {error.strerror or error}. Check the permissions of "
                         f"the MNIST directory, or copy the files somewhere readable.") from error


def has_all_files(directory: Path) -> bool:
    """True when each of the four files is in ``directory`` (.gz or raw); contents unchecked."""
    return all(_probe(directory / f"{name}.gz", "file") or _probe(directory / name, "file") for name in FILES)


def resolve_data_dir(data_dir: str | os.PathLike[str] | None) -> Path:
    """The directory to read: the explicit one, else :func:`default_data_dir`; must exist."""
    path = Path(data_dir) if data_dir is not None else default_data_dir()
    if path is None:
        raise MnistError(f"No MNIST directory given and none found. {WHERE_TO_GET_IT}")
    if not _probe(path, "dir"):
        raise MnistError(f"MNIST directory {path} does not exist. {WHERE_TO_GET_IT}")
    return path


def _find_file(directory: Path, name: str) -> Path:
    for candidate in (directory / f"{name}.gz", directory / name):
        if _probe(candidate, "file"):
            return candidate
    raise MnistError(f"{directory / (name + '.gz')} is missing (nor is {name} there). {WHERE_TO_GET_IT}")


def _read_bytes(path: Path, *, expect_magic: int, expect_shape: tuple[int, ...], split: str) -> bytes:
    """The IDX bytes of ``path`` (.gz or raw), reading no more than MNIST's size: the header's
    counts are checked against ``expect_shape`` before the payload is decompressed, so a gzip
    bomb (a few MB inflating to gigabytes) is refused after a few bytes, never held in memory."""
    try:
        with (gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")) as handle:
            head = handle.read(4)
            if len(head) < 4 or int.from_bytes(head, "big") != expect_magic:
                return head + handle.read(4)  # parse_idx says what is wrong with it
            head += handle.read(4 * len(expect_shape))
            shape = tuple(int.from_bytes(head[4 + 4 * i: 8 + 4 * i], "big") for i in range(len(expect_shape)))
            if len(head) == 4 + 4 * len(expect_shape) and shape != expect_shape:
                if shape[1:] == expect_shape[1:]:
                    raise MnistError(f"{path}: holds {shape[0]} items, MNIST's {split} split has {expect_shape[0]}")
                raise MnistError(f"{path}: header says {shape}, MNIST's {split} file is {expect_shape}; "
                                 f"not an MNIST file. {WHERE_TO_GET_IT}")
            payload = handle.read(math.prod(expect_shape))
            if handle.read(1):
                raise MnistError(f"{path}: has trailing bytes after the {math.prod(expect_shape):,} its "
                                 f"header announces; the file is corrupt. {WHERE_TO_GET_IT}")
            return head + payload
    except (OSError, EOFError, zlib.error) as error:
        # gzip raises BadGzipFile (an OSError) or EOFError for a truncated stream.
        raise MnistError(f"{path} cannot be read: {error}. The file is corrupt or truncated; "
                         f"replace it. {WHERE_TO_GET_IT}") from error


def parse_idx(raw: bytes, *, source: str, expect_magic: int) -> np.ndarray:
    """Parse IDX bytes (big-endian header, uint8 payload) into an array, checking its size."""
    if len(raw) < 8:
        raise MnistError(f"{source}: only {len(raw)} bytes, too short for an IDX header")
    magic = int.from_bytes(raw[0:4], "big")
    if magic != expect_magic:
        raise MnistError(
            f"{source}: wrong magic number 0x{magic:08x}, expected 0x{expect_magic:08x}; "
            "this is not the right MNIST IDX file (images and labels swapped, or another format?)"
        )
    ndim = magic & 0xFF
    header_len = 4 + 4 * ndim
    if len(raw) < header_len:
        raise MnistError(f"{source}: header truncated ({len(raw)} bytes, need {header_len})")
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = math.prod(shape)
    payload = len(raw) - header_len
    if payload != expected:
        state = "truncated" if payload < expected else "has trailing bytes"
        raise MnistError(f"{source}: {state}: header says {shape} = {expected} bytes of data, "
                         f"file has {payload}")
    return np.frombuffer(raw, dtype=np.uint8, offset=header_len).reshape(shape)


def _load_split(directory: Path, prefix: str, md5: dict[str, str], verify: bool) -> MnistSplit:
    arrays = {}
    for kind, magic in (("images", IMAGES_MAGIC), ("labels", LABELS_MAGIC)):
        name = f"{prefix}-{kind}-idx{3 if kind == 'images' else 1}-ubyte"
        path = _find_file(directory, name)
        expected_count, expected_md5 = FILES[name]
        shape = (expected_count, INPUT_HEIGHT, INPUT_WIDTH) if kind == "images" else (expected_count,)
        raw = _read_bytes(path, expect_magic=magic, expect_shape=shape, split=prefix)
        array = parse_idx(raw, source=str(path), expect_magic=magic)
        if len(array) != expected_count:
            raise MnistError(f"{path}: holds {len(array)} items, MNIST's {prefix} split has "
                             f"{expected_count}")
        digest = hashlib.md5(raw).hexdigest()
        if verify and digest != expected_md5:
            raise MnistError(f"{path}: md5 of the uncompressed data is {digest}, the published "
                             f"one is {expected_md5}; the file is corrupt or not official MNIST. "
                             "Replace it, or pass --no-verify to use it anyway.")
        md5[name] = digest
        arrays[kind] = array
    images, labels = arrays["images"], arrays["labels"]
    if images.shape[1:] != (INPUT_HEIGHT, INPUT_WIDTH):
        raise MnistError(f"{prefix} images are {images.shape[1:]}, expected "
                         f"({INPUT_HEIGHT}, {INPUT_WIDTH})")
    if len(images) != len(labels):
        raise MnistError(f"{prefix}: {len(images)} images but {len(labels)} labels; the files "
                         "do not belong together")
    if labels.size and labels.max() >= NUM_CLASSES:
        raise MnistError(f"{prefix} labels contain {int(labels.max())}; digits are 0-9")
    return MnistSplit(images, labels)


def load_mnist(data_dir: str | os.PathLike[str] | None = None, *, verify: bool = True) -> Mnist:
    """Load and validate MNIST from ``data_dir`` (see :func:`resolve_data_dir`).

    Raises :class:`MnistError` with one actionable sentence for anything wrong.
    ``verify=False`` skips only the md5 comparison (for a re-encoded but otherwise valid copy).
    """
    directory = resolve_data_dir(data_dir)
    md5: dict[str, str] = {}
    train = _load_split(directory, "train", md5, verify)
    test = _load_split(directory, "t10k", md5, verify)
    verified = all(md5[name] == FILES[name][1] for name in FILES)
    return Mnist(train=train, test=test, data_dir=directory, md5=md5, verified=verified)
