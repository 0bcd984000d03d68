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


@pytest.fixture(scope="session")
def tiny_model_path(tmp_path_factory, mnist) -> Path:
    """A freshly trained edge-architecture model (1 epoch on 3,000 images, ~85 % accurate)."""
    import keras
    import numpy as np

    from edge.constants import NUM_CLASSES, to_model_input
    from train.models import build_model

    keras.utils.set_random_seed(1)
    model = build_model("edge")
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="categorical_crossentropy",
                  metrics=["accuracy"])
    images, labels = mnist.train.images[:3000], mnist.train.labels[:3000]
    model.fit(to_model_input(images), np.eye(NUM_CLASSES)[labels], epochs=1, batch_size=64, verbose=0)
    path = tmp_path_factory.mktemp("tiny") / "model.keras"
    model.save(path)
    return path
