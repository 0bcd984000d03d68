"""Shared fixtures: the real MNIST directory, corrupted copies of it, quiet TensorFlow.

The suite runs in two jobs. The full one (``pip install -e '.[dev]'``) needs everything: a
missing tool or the missing MNIST files are failures. The edge-only one is what a Raspberry Pi
runs (``pip install '.[edge]' pytest hypothesis jsonschema``): there a test that needs what only
the workstation has (TensorFlow, matplotlib, Ansible, the MNIST files) is skipped instead.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO_ROOT = Path(__file__).resolve().parents[1]

# Set to 1 by .ci/run's edge-only job; without it, an install without TensorFlow counts as
# edge-only too, so a plain ``python -m pytest`` on a Pi needs no extra setting.
EDGE_ONLY_ENV = "DIGIT_EDGE_EDGE_ONLY"


HAVE_TENSORFLOW = importlib.util.find_spec("tensorflow") is not None

# For tests that train, convert or load a Keras model; fixtures use pytest.importorskip instead.
needs_tensorflow = pytest.mark.skipif(not HAVE_TENSORFLOW, reason="needs TensorFlow, a workstation "
                                      "dependency: pip install -e '.[train]'")


def edge_only() -> bool:
    """True when this is the device's test run (see the module docstring)."""
    return os.environ.get(EDGE_ONLY_ENV) == "1" or not HAVE_TENSORFLOW


def missing(message: str) -> None:
    """Skip in the edge-only run, fail in the full one: a workstation must have it all."""
    if edge_only():
        pytest.skip(f"edge-only run: {message}")
    pytest.fail(message)


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    """The official MNIST files CI provides in ../shared/data/mnist (or $DIGIT_EDGE_MNIST_DIR)."""
    from train.mnist import default_data_dir

    path = default_data_dir()
    if path is None or not (path / "t10k-labels-idx1-ubyte.gz").exists():
        missing("MNIST files not found: put them in ../shared/data/mnist or set "
                    "DIGIT_EDGE_MNIST_DIR (tests need the real data and never download it; "
                "python -m train --download fetches it into ~/.cache/digit-edge/mnist)")
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
    keras = pytest.importorskip("keras", reason="training needs TensorFlow: pip install -e '.[train]'")
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


@pytest.fixture(scope="session")
def pool():
    """The MNIST test digits bundled with edge (scenes and the demo draw from them)."""
    from edge.scenes import load_digit_pool

    return load_digit_pool()


@pytest.fixture(scope="session")
def recognizer():
    """The release model behind a Recognizer, loaded once."""
    from edge import Recognizer

    return Recognizer.from_path()


def wait_for(condition, timeout: float = 15.0) -> None:
    """Poll ``condition`` every 50 ms until it is true; fail after ``timeout`` seconds."""
    import time

    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


@pytest.fixture
def server_factory():
    """start(spec="127.0.0.1:0", **kwargs) -> a started ``edge.cam.server`` over an empty
    LiveState (kwargs go to ``start_server``: token, labels, ...); all are shut down afterwards."""
    from edge.cam.server import LiveState, start_server

    servers = []

    def start(spec: str = "127.0.0.1:0", **kwargs):
        server = start_server(spec, LiveState(), **kwargs)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


SCENE_TO_IMAGE_KIND = {"plain": "photo", "drawing": "drawn", "crop": "crop"}


def write_labelled_scenes(directory: Path, pool, kinds: tuple[str, ...], seed: int) -> None:
    """A tiny real-image-style set in ``directory``: one rendered scene of each of ``kinds``
    (plain, drawing or crop) as ``0.png``, ``1.png``, ... and its ``labels.csv`` (file,text,kind)."""
    import cv2
    import numpy as np

    from edge.scenes import render_scene

    rng = np.random.default_rng(seed)
    rows = ["file,text,kind"]
    for index, kind in enumerate(kinds):
        scene = render_scene(rng, pool, kind=kind)
        cv2.imwrite(str(directory / f"{index}.png"), scene.image)
        rows.append(f"{index}.png,{scene.text},{SCENE_TO_IMAGE_KIND[kind]}")
    (directory / "labels.csv").write_text("\n".join(rows) + "\n")
