"""Shared fixtures: the real MNIST directory, corrupted copies of it, quiet TensorFlow."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    """The official MNIST files CI provides in ../shared/data/mnist (or $DIGIT_EDGE_MNIST_DIR)."""
    from train.mnist import default_data_dir

    path = default_data_dir()
    if path is None or not (path / "t10k-labels-idx1-ubyte.gz").exists():
        pytest.fail("MNIST files not found: put them in ../shared/data/mnist or set "
                    "DIGIT_EDGE_MNIST_DIR (tests need the real data, they never download)")
    return path


@pytest.fixture(scope="session")
def mnist(mnist_dir):
    from train.mnist import load_mnist

    return load_mnist(mnist_dir)


@pytest.fixture
def mnist_copy(mnist_dir, tmp_path) -> Path:
    """A writable copy of the MNIST directory that a test may damage."""
    target = tmp_path / "mnist"
    shutil.copytree(mnist_dir, target)
    return target
