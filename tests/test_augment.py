"""Training augmentation (train/augment.py) on tiny synthetic batches: shapes, ranges, seeds, and
that each perturbation does what it is for."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from train import augment  # noqa: E402
from train.augment import AugmentConfig  # noqa: E402

ALWAYS = 1.0


def digit_like(n: int = 4) -> np.ndarray:
    """(n, 28, 28, 1) float32: a vertical stroke (like a 1) with a short top bar, ink 1.0."""
    images = np.zeros((n, 28, 28, 1), np.float32)
    images[:, 4:24, 13:16] = 1.0
    images[:, 4:7, 9:16] = 1.0
    return images


def seven_like(n: int = 4) -> np.ndarray:
    """(n, 28, 28, 1): a top bar and a vertical stem, leaving the middle band right of the stem empty."""
    images = np.zeros((n, 28, 28, 1), np.float32)
    images[:, 4:7, 6:22] = 1.0
    images[:, 4:24, 19:22] = 1.0
    return images


def rng(seed: int = 0):
    return tf.random.Generator.from_seed(seed)


def config(**changes) -> AugmentConfig:
    return dataclasses.replace(AugmentConfig(), **changes)


FUNCTIONS = {
    "geometry": lambda x, r: augment.geometry(x, r, config(elastic_probability=ALWAYS)),
    "stroke_width": lambda x, r: augment.stroke_width(x, r, config(thick_probability=0.5,
                                                                   thin_probability=0.5)),
    "break_strokes": lambda x, r: augment.break_strokes(x, r, config(break_probability=ALWAYS)),
    "cut_border": lambda x, r: augment.cut_border(x, r, config(cut_probability=ALWAYS)),
    "add_speck": lambda x, r: augment.add_speck(x, r, config(speck_probability=ALWAYS)),
    "refit": lambda x, r: augment.refit(x, r, config(refit_probability=ALWAYS)),
    "photometric": lambda x, r: augment.photometric(x, r, config(
        faint_probability=0.5, saturate_probability=0.5, blur_probability=ALWAYS,
        noise_probability=ALWAYS)),
    "seven_crossbar": lambda x, r: augment.add_seven_crossbar(
        x, tf.fill([tf.shape(x)[0]], 7), r, config(crossbar_probability=ALWAYS)),
    "one_serifs": lambda x, r: augment.add_one_serifs(
        x, tf.fill([tf.shape(x)[0]], 1), r, config(one_flag_probability=ALWAYS,
                                                   one_base_probability=ALWAYS)),
    "four_diagonal": lambda x, r: augment.add_four_diagonal(
        x, tf.fill([tf.shape(x)[0]], 4), r, config(four_closed_probability=ALWAYS)),
    "augment_batch": lambda x, r: augment.augment_batch(x, tf.constant([1, 7, 3, 1]), r),
}


@pytest.mark.parametrize("name", FUNCTIONS)
def test_shape_dtype_and_range_are_kept_and_a_seed_repeats(name):
    images = digit_like()
    first = FUNCTIONS[name](tf.constant(images), rng(3)).numpy()
    again = FUNCTIONS[name](tf.constant(images), rng(3)).numpy()
    assert first.shape == images.shape and first.dtype == np.float32
    assert first.min() >= 0.0 and first.max() <= 1.0 + 1e-6
    np.testing.assert_array_equal(first, again)


@pytest.mark.parametrize("name", ["geometry", "break_strokes", "cut_border", "add_speck",
                                  "photometric", "one_serifs"])
def test_each_perturbation_changes_the_image(name):
    images = digit_like()
    assert not np.allclose(FUNCTIONS[name](tf.constant(images), rng(5)).numpy(), images)


def test_probability_zero_leaves_images_alone():
    images = tf.constant(digit_like())
    none = config(break_probability=0.0, cut_probability=0.0, thick_probability=0.0,
                  thin_probability=0.0)
    np.testing.assert_array_equal(augment.break_strokes(images, rng(), none).numpy(), images.numpy())
    np.testing.assert_array_equal(augment.cut_border(images, rng(), none).numpy(), images.numpy())
    np.testing.assert_array_equal(augment.stroke_width(images, rng(), none).numpy(), images.numpy())


def test_warp_with_identity_coordinates_is_exact_and_outside_is_background():
    images = tf.constant(digit_like(2))
    ys, xs = np.meshgrid(np.arange(28, dtype=np.float32), np.arange(28, dtype=np.float32), indexing="ij")
    same = augment.warp(images, tf.constant(np.stack([ys] * 2)), tf.constant(np.stack([xs] * 2)))
    np.testing.assert_allclose(same.numpy(), images.numpy(), atol=1e-6)
    shifted = augment.warp(images, tf.constant(np.stack([ys] * 2)), tf.constant(np.stack([xs + 40] * 2)))
    assert shifted.numpy().max() == 0.0


def test_elastic_distortion_keeps_ink_mass_roughly():
    images = digit_like(8)
    still = config(rotation_degrees=0.0, slant=0.0, zoom=0.0, aspect=0.0, shift_pixels=0.0,
                   elastic_probability=ALWAYS)
    bent = augment.geometry(tf.constant(images), rng(1), still).numpy()
    assert not np.allclose(bent, images)
    ratio = bent.sum(axis=(1, 2, 3)) / images.sum(axis=(1, 2, 3))
    # Stretching and squeezing thicken and thin strokes locally (that is the point), but the
    # field is smooth, so no image gains or loses half its ink and the batch keeps its mass.
    assert (np.abs(ratio - 1.0) < 0.5).all()
    assert abs(ratio.mean() - 1.0) < 0.15


def test_slant_moves_the_top_and_bottom_of_a_stroke_opposite_ways():
    images = digit_like(8)
    images[:, 4:7] = 0.0  # just the vertical stroke
    slant_only = config(rotation_degrees=0.0, zoom=0.0, aspect=0.0, shift_pixels=0.0,
                        elastic_probability=0.0)
    out = augment.geometry(tf.constant(images), rng(2), slant_only).numpy()
    xs = np.arange(28)

    def column(rows):
        band = out[:, rows, :, 0]
        return (band * xs).sum(axis=(1, 2)) / band.sum(axis=(1, 2))

    lean = column(slice(5, 9)) - column(slice(19, 23))
    assert (lean > 1.0).any() and (lean < -1.0).any()  # slants both ways across the batch
    assert (np.abs(lean) < 0.3 * 14 + 0.5).all()  # never beyond the configured shear


def test_thickening_adds_ink_and_thinning_removes_it():
    images = tf.constant(digit_like())
    thick = augment.stroke_width(images, rng(), config(thick_probability=ALWAYS, thin_probability=0.0))
    thin = augment.stroke_width(images, rng(), config(thick_probability=0.0, thin_probability=ALWAYS))
    mass = images.numpy().sum(axis=(1, 2, 3))
    assert (thick.numpy().sum(axis=(1, 2, 3)) > mass).all()
    thin_mass = thin.numpy().sum(axis=(1, 2, 3))
    assert (thin_mass < mass).all() and (thin_mass > 0.25 * mass).all()  # thinner, not wiped out


def test_a_hairline_is_never_eroded_away():
    images = np.zeros((3, 28, 28, 1), np.float32)
    images[:, 4:24, 14] = 1.0  # one pixel wide: any erosion would erase it
    thin = augment.stroke_width(tf.constant(images), rng(), config(thick_probability=0.0,
                                                                   thin_probability=ALWAYS))
    np.testing.assert_array_equal(thin.numpy(), images)


def test_seven_crossbar_adds_ink_in_the_middle_band_and_only_to_sevens():
    images = seven_like()
    labels = tf.constant([7, 7, 1, 3])
    out = augment.add_seven_crossbar(tf.constant(images), labels, rng(), config(crossbar_probability=ALWAYS)).numpy()
    middle = slice(11, 18)  # rows between 45 % and 62 % of the 4..23 ink box, +-tilt
    added = (out - images)[:, middle].sum(axis=(1, 2, 3))
    assert (added[:2] > 3.0).all()
    assert (added[2:] == 0.0).all()
    # The bar is short and centred on the stem (columns 19-21), not a line across the field.
    assert out[:2, middle, :8].sum() == 0.0
    np.testing.assert_array_equal((out - images)[:, :10], 0.0)  # the top bar region is untouched


def test_one_serifs_add_a_flag_left_of_the_top_and_a_foot_at_the_bottom():
    images = np.zeros((2, 28, 28, 1), np.float32)
    images[:, 4:24, 13:16] = 1.0
    out = augment.add_one_serifs(tf.constant(images), tf.constant([1, 4]), rng(),
                                 config(one_flag_probability=ALWAYS, one_base_probability=ALWAYS)).numpy()
    added = out - images
    assert added[0, 4:12, :13].sum() > 2.0  # flag: top rows, left of the stem
    assert added[0, 20:25, :13].sum() > 0.5 and added[0, 20:25, 16:].sum() > 0.5  # foot: both sides
    assert added[1].sum() == 0.0  # a 4 gets nothing


def test_four_diagonal_closes_the_top_from_the_stem_to_the_crossbar():
    images = np.zeros((2, 28, 28, 1), np.float32)
    images[:, 4:16, 8:10] = 1.0  # left stroke
    images[:, 15:17, 8:22] = 1.0  # crossbar, rows 15-16, from column 8
    images[:, 4:25, 18:20] = 1.0  # stem, top at row 4
    out = augment.add_four_diagonal(tf.constant(images), tf.constant([4, 9]), rng(),
                                    config(four_closed_probability=ALWAYS)).numpy()
    added = out[0, ..., 0] - images[0, ..., 0]
    # The diagonal passes half-way between the stem top (4, 18.5) and the bar's end (15, 8).
    assert added[9:11, 12:15].sum() > 1.0
    assert added[17:, :].sum() == 0.0  # nothing below the crossbar
    assert (out[1] == images[1]).all()  # a 9 gets nothing


def test_break_strokes_only_removes_ink():
    images = digit_like(8)
    out = augment.break_strokes(tf.constant(images), rng(), config(break_probability=ALWAYS)).numpy()
    assert (out <= images + 1e-6).all()
    assert (out.sum(axis=(1, 2, 3)) < images.sum(axis=(1, 2, 3))).all()


def test_refit_matches_the_finders_box_and_centre_of_mass():
    images = np.zeros((2, 28, 28, 1), np.float32)
    images[0, 2:12, 3:8] = 1.0  # small, off-centre: 10 px tall
    out = augment.refit(tf.constant(images), probability=ALWAYS).numpy()
    (top, bottom, left, right), has_ink = augment.ink_box(tf.constant(out))
    assert has_ink.numpy().tolist() == [True, False]  # a blank image stays blank
    assert 18 <= bottom.numpy()[0] - top.numpy()[0] + 1 <= 22  # longer side fitted to ~20
    ys, xs = np.indices((28, 28))
    plane = out[0, ..., 0]
    assert abs((plane * ys).sum() / plane.sum() - augment.FIT_CENTRE) < 0.6
    assert abs((plane * xs).sum() / plane.sum() - augment.FIT_CENTRE) < 0.6
    assert out[1].max() == 0.0


def test_cut_border_removes_a_strip_of_the_digit():
    images = digit_like(8)
    out = augment.cut_border(tf.constant(images), rng(), config(cut_probability=ALWAYS)).numpy()
    assert (out <= images).all() and (out.sum(axis=(1, 2, 3)) < images.sum(axis=(1, 2, 3))).all()


def test_photometric_faint_lowers_the_ink_and_noise_reaches_the_background():
    images = tf.constant(digit_like())
    faint = augment.photometric(images, rng(), config(
        faint_probability=ALWAYS, saturate_probability=0.0, blur_probability=0.0,
        noise_probability=0.0)).numpy()
    assert faint.max() < 0.9
    noisy = augment.photometric(images, rng(), config(
        faint_probability=0.0, saturate_probability=0.0, blur_probability=0.0,
        noise_probability=ALWAYS)).numpy()
    assert noisy[:, 25:, :5].max() > 0.0


def test_the_light_share_gets_geometry_only():
    images = tf.constant(digit_like())
    loud = config(light_probability=ALWAYS, noise_probability=ALWAYS, speck_probability=ALWAYS,
                  crossbar_probability=ALWAYS)
    out = augment.augment_batch(images, tf.constant([7, 7, 7, 7]), rng(), loud).numpy()
    # Noise or a speck would reach the corners; the mild geometry leaves them background.
    assert out[:, :3, :3].max() == 0.0 and out[:, -3:, -3:].max() == 0.0
    everything = augment.augment_batch(images, tf.constant([7, 7, 7, 7]), rng(),
                                       dataclasses.replace(loud, light_probability=0.0)).numpy()
    assert everything[:, :3, :3].max() > 0.0 or everything[:, -3:, -3:].max() > 0.0


def test_build_augmenter_takes_one_hot_labels_and_a_seed():
    from train.training import build_augmenter

    images = tf.constant(digit_like())
    labels = tf.one_hot([1, 7, 3, 1], 10)
    first = build_augmenter(9)(images, labels).numpy()
    np.testing.assert_array_equal(first, build_augmenter(9)(images, labels).numpy())
    assert not np.array_equal(first, build_augmenter(10)(images, labels).numpy())


def test_negatives_train_towards_a_uniform_guess_and_get_no_digit_style():
    from train.training import NOT_A_DIGIT, style_labels, targets

    y = targets(np.array([3, NOT_A_DIGIT, 0], np.uint8))
    np.testing.assert_array_equal(y[0], np.eye(10, dtype=np.float32)[3])
    np.testing.assert_allclose(y[1], np.full(10, 0.1, np.float32))
    assert y[2, 0] == 1.0 and y.sum(axis=1).tolist() == pytest.approx([1.0, 1.0, 1.0])
    # The augmenter's digit for each row: a uniform row names none (-1), not a zero (its argmax).
    assert style_labels(tf.constant(y)).numpy().tolist() == [3, -1, 0]
