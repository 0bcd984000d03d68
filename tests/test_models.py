"""Architectures: exact paper network, and an edge network that fits the int8/Pi budget."""

from __future__ import annotations

import pytest

from edge.constants import INPUT_SHAPE, NUM_CLASSES
from tests.conftest import needs_tensorflow
from train.models import ARCHITECTURES, RECIPES, build_model

pytestmark = needs_tensorflow


def test_paper_network_is_jain_et_al_exactly():
    model = build_model("paper")
    kinds = [layer.__class__.__name__ for layer in model.layers]
    assert kinds == ["Conv2D", "Conv2D", "MaxPooling2D", "Dropout", "Flatten",
                     "Dense", "Dropout", "Dense"]
    conv1, conv2, _, drop1, _, dense, drop2, out = model.layers
    assert (conv1.filters, conv1.kernel_size, conv2.filters) == (32, (3, 3), 64)
    assert (drop1.rate, dense.units, drop2.rate, out.units) == (0.25, 256, 0.5, NUM_CLASSES)
    # 320 + 18,496 + (12*12*64)*256+256 + 2,570: the 9216x256 dense layer dominates.
    assert model.count_params() == 2_380_938
    recipe = RECIPES["paper"]
    assert (recipe.optimizer, recipe.learning_rate) == ("adadelta", 1.0)
    assert (recipe.batch_size, recipe.epochs) == (200, 5)


def test_edge_network_fits_the_budget():
    model = build_model("edge")
    assert model.count_params() <= 100_000
    kinds = {layer.__class__.__name__ for layer in model.layers}
    assert "BatchNormalization" in kinds
    assert "Flatten" not in kinds  # global pooling instead of a huge dense layer
    largest_dense = max(layer.kernel.shape[0] * layer.kernel.shape[1]
                        for layer in model.layers if layer.__class__.__name__ == "Dense")
    assert largest_dense < 1_000


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_input_and_output_shapes(arch):
    import numpy as np

    model = build_model(arch)
    assert tuple(model.input_shape[1:]) == INPUT_SHAPE
    assert tuple(model.output_shape[1:]) == (NUM_CLASSES,)
    probabilities = np.asarray(model(np.zeros((2, *INPUT_SHAPE), np.float32)))
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


def test_unknown_architecture():
    with pytest.raises(ValueError, match="unknown architecture 'resnet'; choose one of edge, paper"):
        build_model("resnet")
