"""The offline MNIST loader: real files load and verify; every kind of damage is a clear error."""

from __future__ import annotations

import contextlib
import gzip

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from train.mnist import (
    DATA_DIR_ENV,
    FILES,
    IMAGES_MAGIC,
    LABELS_MAGIC,
    MnistError,
    load_mnist,
    parse_idx,
    resolve_data_dir,
)


def idx_bytes(array: np.ndarray, magic: int) -> bytes:
    header = magic.to_bytes(4, "big") + b"".join(n.to_bytes(4, "big") for n in array.shape)
    return header + array.astype(np.uint8).tobytes()


def test_real_files_load_and_verify(mnist):
    assert mnist.train.images.shape == (60_000, 28, 28)
    assert mnist.test.images.shape == (10_000, 28, 28)
    assert mnist.train.images.dtype == np.uint8
    assert mnist.verified
    assert mnist.md5 == {name: md5 for name, (_, md5) in FILES.items()}
    # Every digit is present in both splits, in MNIST's known proportions (no class < 8 %).
    for split in (mnist.train, mnist.test):
        counts = np.bincount(split.labels, minlength=10)
        assert counts.min() > 0.08 * len(split)
    # White ink on black: the border is background.
    assert mnist.test.images[:, 0, :].mean() < 1


def test_uncompressed_files_load_too(mnist_copy):
    for path in mnist_copy.glob("*.gz"):
        path.with_suffix("").write_bytes(gzip.decompress(path.read_bytes()))
        path.unlink()
    data = load_mnist(mnist_copy)
    assert data.verified and len(data.test) == 10_000


def test_env_var_and_explicit_dir(mnist_dir, monkeypatch, tmp_path):
    monkeypatch.setenv(DATA_DIR_ENV, str(mnist_dir))
    assert resolve_data_dir(None) == mnist_dir
    assert resolve_data_dir(tmp_path) == tmp_path  # the flag wins over the environment


def test_missing_directory_says_where_to_put_files(tmp_path):
    with pytest.raises(MnistError, match=r"does not exist.*--data-dir.*DIGIT_EDGE_MNIST_DIR"):
        load_mnist(tmp_path / "nowhere")


def test_missing_file_is_named(mnist_copy):
    (mnist_copy / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(MnistError, match=r"t10k-labels-idx1-ubyte\.gz is missing.*Nothing is downloaded"):
        load_mnist(mnist_copy)


def test_truncated_gzip(mnist_copy):
    path = mnist_copy / "train-labels-idx1-ubyte.gz"
    path.write_bytes(path.read_bytes()[:5000])
    with pytest.raises(MnistError, match=r"train-labels-idx1-ubyte\.gz cannot be read.*corrupt or truncated"):
        load_mnist(mnist_copy)


def test_not_gzip_at_all(mnist_copy):
    (mnist_copy / "t10k-images-idx3-ubyte.gz").write_text("<html>404 not found</html>")
    with pytest.raises(MnistError, match=r"t10k-images-idx3-ubyte\.gz cannot be read"):
        load_mnist(mnist_copy)


def test_swapped_files_give_wrong_magic(mnist_copy):
    images = mnist_copy / "t10k-images-idx3-ubyte.gz"
    labels = mnist_copy / "t10k-labels-idx1-ubyte.gz"
    images_bytes, labels_bytes = images.read_bytes(), labels.read_bytes()
    images.write_bytes(labels_bytes)
    labels.write_bytes(images_bytes)
    with pytest.raises(MnistError, match=r"wrong magic number 0x00000801, expected 0x00000803"):
        load_mnist(mnist_copy)


def test_truncated_payload_inside_valid_gzip(mnist_copy):
    path = mnist_copy / "t10k-images-idx3-ubyte.gz"
    raw = gzip.decompress(path.read_bytes())
    path.write_bytes(gzip.compress(raw[:-784]))
    with pytest.raises(MnistError, match=r"truncated: header says \(10000, 28, 28\)"):
        load_mnist(mnist_copy)


def test_corrupted_byte_fails_checksum_but_no_verify_accepts_it(mnist_copy):
    path = mnist_copy / "t10k-images-idx3-ubyte.gz"
    raw = bytearray(gzip.decompress(path.read_bytes()))
    raw[5000] ^= 0xFF
    path.write_bytes(gzip.compress(bytes(raw)))
    with pytest.raises(MnistError, match=r"md5 of the uncompressed data.*--no-verify"):
        load_mnist(mnist_copy)
    data = load_mnist(mnist_copy, verify=False)
    assert not data.verified


def test_label_out_of_range(mnist_copy):
    path = mnist_copy / "t10k-labels-idx1-ubyte.gz"
    raw = bytearray(gzip.decompress(path.read_bytes()))
    raw[8] = 11
    path.write_bytes(gzip.compress(bytes(raw)))
    with pytest.raises(MnistError, match=r"labels contain 11; digits are 0-9"):
        load_mnist(mnist_copy, verify=False)


def test_wrong_count_is_reported(mnist_copy):
    path = mnist_copy / "t10k-labels-idx1-ubyte.gz"
    labels = np.frombuffer(gzip.decompress(path.read_bytes()), np.uint8, offset=8)
    path.write_bytes(gzip.compress(idx_bytes(labels[:9000], LABELS_MAGIC)))
    with pytest.raises(MnistError, match=r"holds 9000 items, MNIST's t10k split has 10000"):
        load_mnist(mnist_copy)


@given(st.integers(0, 5), st.integers(1, 6), st.integers(1, 6))
def test_parse_idx_round_trips_any_consistent_file(count, rows, cols):
    array = np.arange(count * rows * cols, dtype=np.uint32).astype(np.uint8).reshape(count, rows, cols)
    parsed = parse_idx(idx_bytes(array, IMAGES_MAGIC), source="x", expect_magic=IMAGES_MAGIC)
    np.testing.assert_array_equal(parsed, array)


@given(st.binary(max_size=64))
def test_parse_idx_never_crashes_on_garbage(raw):
    with contextlib.suppress(MnistError):
        parse_idx(raw, source="garbage", expect_magic=IMAGES_MAGIC)
