"""train/finder_crops.py: training crops cut by our own finder from synthetic scenes."""

from __future__ import annotations

import numpy as np
import pytest

from edge.scenes import render_scene
from train import finder_crops
from train.finder_crops import (
    finder_training_crops,
    iou,
    is_negative,
    make_finder_crops,
    match_best,
    scene_crops,
)


def test_iou_of_boxes():
    assert iou((0, 0, 10, 10), (0, 0, 10, 10)) == 1.0
    assert iou((0, 0, 10, 10), (20, 20, 5, 5)) == 0.0
    assert iou((0, 0, 10, 10), (5, 0, 10, 10)) == pytest.approx(50 / 150)
    assert iou((0, 0, 0, 0), (0, 0, 0, 0)) == 0.0


def test_match_best_keeps_the_best_overlap_above_the_threshold():
    truth = [((0, 0, 10, 20), 3), ((30, 0, 10, 20), 7)]
    found = [(1, 0, 10, 20), (0, 0, 10, 20), (30, 0, 20, 20), (100, 100, 5, 5)]
    # Truth 0 is matched by found 1 (exact); truth 1 overlaps found 2 by only 0.5: no label.
    assert match_best(found, truth) == {0: 1}
    assert match_best(found, truth, min_iou=0.5) == {0: 1, 1: 2}


def test_scene_crops_label_each_drawn_digit_at_most_twice(pool):
    rng = np.random.default_rng(7)
    for kind in ("plain", "touching", "drawing"):
        scene = render_scene(rng, pool, kind=kind)
        crops, labels, unmatched, negatives = scene_crops(scene)
        drawn = [digit.label for digit in scene.digits]
        assert len(crops) == len(labels) <= 2 * len(drawn)
        assert all(crop.shape == (28, 28) and crop.dtype == np.uint8 for crop in crops)
        for label in set(labels):  # no label that was not drawn, and never more than twice per drawing
            assert labels.count(label) <= 2 * drawn.count(label)
        assert unmatched >= 0
        assert all(crop.shape == (28, 28) and crop.dtype == np.uint8 for crop in negatives)


def test_crops_are_labelled_with_the_digit_they_show(pool, recognizer):
    """The labels must be the digits in the crops: the release classifier, which never saw
    these crops, agrees with almost all of them (a shuffled or shifted labelling scores ~10 %)."""
    made = make_finder_crops(pool, 40, seed=3)
    assert len(made.labels) >= 100
    predicted = recognizer.classify(made.images).argmax(axis=1)
    assert np.mean(predicted == made.labels) > 0.9
    assert set(np.unique(made.labels)) == set(range(10))


def test_parallel_generation_is_deterministic_and_worker_independent(pool, monkeypatch):
    monkeypatch.setattr(finder_crops, "CHUNK_SCENES", 3)  # several chunks from few scenes
    images, labels = pool.images[:2000], pool.labels[:2000]
    one = finder_training_crops(images, labels, 20, seed=5, workers=1)
    two = finder_training_crops(images, labels, 20, seed=5, workers=2)
    assert len(one.labels) >= 10
    np.testing.assert_array_equal(one.images, two.images)
    np.testing.assert_array_equal(one.labels, two.labels)
    np.testing.assert_array_equal(one.negatives, two.negatives)
    other = finder_training_crops(images, labels, 20, seed=6, workers=1)
    assert not np.array_equal(one.labels, other.labels) or not np.array_equal(one.images, other.images)


def test_no_crops_asked_gives_an_empty_set(pool):
    made = finder_training_crops(pool.images[:10], pool.labels[:10], 0, seed=1)
    assert made.images.shape == (0, 28, 28) and made.labels.shape == (0,) and made.negatives.shape == (0, 28, 28)


def test_unknown_scene_kind_is_refused(pool):
    with pytest.raises(ValueError, match="unknown scene kinds"):
        make_finder_crops(pool, 1, seed=1, kind_weights={"plain": 1, "watercolour": 1})


def test_a_box_over_two_neighbours_or_over_no_digit_is_a_negative():
    three, seven = (0, 0, 20, 30), (22, 0, 18, 30)
    assert is_negative((0, 0, 40, 30), [three, seven])  # a touching pair read as one box
    assert not is_negative((0, 0, 21, 30), [three, seven])  # the 3 alone
    assert not is_negative((20, 0, 22, 30), [three, seven])  # the 7 with a sliver of the 3's box
    assert is_negative((100, 100, 30, 5), [three, seven])  # a rule's stub, far from any digit
    # A small digit tucked into a big one's box is not a pair: columns shared, not side by side.
    big, small = (0, 0, 40, 40), (10, 25, 12, 12)
    assert not is_negative((0, 0, 40, 40), [big, small])


def test_touching_scenes_yield_negatives(pool):
    """The negatives are real crops of merged pairs, not empty or repeated ones."""
    made = make_finder_crops(pool, 40, seed=3, kind_weights={"touching": 1})
    assert len(made.negatives) >= 10
    # Mostly distinct (a box the finder reads whole and also offers as a join is one crop in two roles).
    assert len({crop.tobytes() for crop in made.negatives}) >= 0.9 * len(made.negatives)
    assert all(crop.max() > 0 for crop in made.negatives)
