"""train/semeion.py: the bundled Semeion digits load, split by writer, and render into crops."""

from __future__ import annotations

import json

import numpy as np
import pytest

from edge.errors import InputError
from train.semeion import (
    HELD_OUT_BLOCK,
    SEMEION_FILE,
    Semeion,
    SemeionError,
    held_out_crops,
    ink_aspects,
    load_semeion,
    render_digit,
    semeion_crops,
    writer_blocks,
)


@pytest.fixture(scope="module")
def semeion() -> Semeion:
    return load_semeion()


def test_the_bundled_file_holds_every_digit_checked(semeion):
    assert semeion.images.shape == (1593, 16, 16)
    assert set(np.unique(semeion.images)) == {0, 1}
    counts = np.bincount(semeion.labels, minlength=10)
    assert counts.sum() == 1593 and counts.min() >= 155  # about 80 writers x 2 of each digit
    assert semeion.images.reshape(len(semeion), -1).sum(axis=1).min() > 10  # no blank scan


def test_held_out_writers_are_a_whole_block_of_every_digit(semeion):
    train, held = semeion.split()
    assert len(train) + len(held) == len(semeion)
    assert set(held.blocks) == {HELD_OUT_BLOCK} and HELD_OUT_BLOCK not in set(train.blocks)
    assert 150 < len(held) < 250 and set(held.labels) == set(range(10))


def test_writer_blocks_start_again_where_the_labels_do():
    labels = np.array([0, 0, 1, 9, 9, 0, 2, 5, 0, 0])
    assert writer_blocks(labels).tolist() == [0, 0, 0, 0, 0, 1, 1, 1, 2, 2]


def test_a_missing_or_damaged_file_is_a_clear_error(tmp_path):
    with pytest.raises(SemeionError, match="cannot read"):
        load_semeion(tmp_path / "absent.npz")
    with np.load(SEMEION_FILE) as data:
        pixels, labels = data["pixels"].copy(), data["labels"].copy()
    labels[0] = (labels[0] + 1) % 10  # one wrong label
    damaged = tmp_path / "semeion.npz"
    np.savez_compressed(damaged, pixels=pixels, labels=labels)
    with pytest.raises(SemeionError, match="checksum") as raised:
        load_semeion(damaged)
    assert isinstance(raised.value, InputError)  # the CLIs turn it into a one-line message


def test_ink_aspects_measure_each_class_from_its_ink_box():
    images = np.zeros((3, 28, 28), np.uint8)
    images[0, 4:24, 9:19] = 255  # 10 wide, 20 tall
    images[1, 10:20, 4:24] = 255  # 20 wide, 10 tall
    aspects = ink_aspects(images, np.array([0, 1, 1]))  # image 2 is blank: left out
    assert aspects[0].tolist() == [0.5] and aspects[1].tolist() == [2.0]
    assert all(len(aspects[digit]) == 0 for digit in range(2, 10))


@pytest.mark.parametrize("aspect", [0.3, 0.7, 1.2])
def test_a_render_is_dark_ink_on_paper_in_the_proportions_asked(semeion, aspect):
    scan = semeion.images[int(np.flatnonzero(semeion.labels == 4)[0])]
    page = render_digit(scan, aspect, height=96, margin=24)
    ink = page < 128
    ys, xs = np.nonzero(ink)
    assert page[0].min() == 255 and page[:, 0].min() == 255  # paper all round
    measured = (np.ptp(xs) + 1) / (np.ptp(ys) + 1)
    assert measured == pytest.approx(aspect, rel=0.15)
    assert 0.05 < ink.mean() < 0.5


def test_a_blank_scan_renders_blank_paper():
    assert render_digit(np.zeros((16, 16), np.uint8), 0.8).min() == 255


def test_crops_are_cut_by_the_finder_round_the_digits_in_turn(semeion):
    picked = np.concatenate([np.flatnonzero(semeion.labels == digit)[:2] for digit in range(10)])
    digits = Semeion(semeion.images[picked], semeion.labels[picked], semeion.blocks[picked])
    aspects = [np.array([0.45 if digit == 1 else 0.8]) for digit in range(10)]
    crops = semeion_crops(digits, aspects, count=50, seed=0)
    assert crops.images.shape[1:] == (28, 28) and crops.images.dtype == np.uint8
    assert len(crops.labels) + crops.dropped == 50
    assert crops.dropped <= 2
    # Every digit once before any twice: 50 crops of 20 digits hold each digit 2 or 3 times.
    assert np.bincount(crops.labels, minlength=10).min() >= 4 - crops.dropped
    assert set(crops.labels) == set(range(10))
    # MNIST-normalised: ink bright on black, fitted in the middle.
    assert crops.images[:, 0, :].max() == 0 and crops.images.max() == 255
    # The same seed gives the same crops (a run is repeatable).
    again = semeion_crops(digits, aspects, count=50, seed=0)
    np.testing.assert_array_equal(crops.images, again.images)


def test_a_truncated_or_empty_file_is_a_clear_error(tmp_path):
    whole = SEMEION_FILE.read_bytes()
    for name, content in (("truncated.npz", whole[: len(whole) // 2]), ("empty.npz", b""),
                          ("flipped.npz", whole[:100] + bytes([whole[100] ^ 0xFF]) + whole[101:])):
        path = tmp_path / name
        path.write_bytes(content)
        with pytest.raises(SemeionError):
            load_semeion(path)


def test_no_crops_asked_none_made(semeion):
    assert len(semeion_crops(semeion, [np.array([0.8])] * 10, count=0, seed=0).labels) == 0
    train, _ = semeion.split()
    empty = Semeion(train.images[:0], train.labels[:0], train.blocks[:0])
    assert semeion_crops(empty, [np.array([0.8])] * 10, count=5, seed=0).images.shape == (0, 28, 28)


def test_training_crops_come_only_from_the_training_blocks(semeion, monkeypatch):
    from train import semeion as module
    from train.mnist import MnistSplit
    from train.training import add_semeion_crops

    seen = []

    def recording(digits, aspects, count, seed, progress=None):
        seen.append(digits)
        return module.SemeionCrops(np.zeros((count, 28, 28), np.uint8), np.zeros(count, np.uint8), 0)

    monkeypatch.setattr(module, "semeion_crops", recording)
    base = MnistSplit(np.zeros((10, 28, 28), np.uint8), np.zeros(10, np.uint8))
    merged, made = add_semeion_crops(base, semeion, 7, seed=0, aspects=[np.array([0.8])] * 10)
    assert len(merged) == 17 and made["crops"] == 7
    assert HELD_OUT_BLOCK not in set(seen[0].blocks) and len(seen[0]) == len(semeion) - 199


def test_the_held_out_measure_reads_the_same_crops_every_time(semeion, mnist):
    first = held_out_crops(semeion, mnist.train.images, mnist.train.labels)
    again = held_out_crops(semeion, mnist.train.images, mnist.train.labels)
    np.testing.assert_array_equal(first.images, again.images)
    assert len(first.labels) + first.dropped == 3 * 199 and first.dropped <= 6


def test_evaluate_semeion_measures_a_model_on_them(mnist_dir, capsys):
    from devtools.evaluate import main

    assert main(["--semeion", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["crops"] + result["dropped"] == 3 * 199
    # The release model reads European hands well above chance, though below MNIST.
    assert 0.9 < result["accuracy"] < 1.0
    wrong = sum(item["count"] for item in result["confusions"])
    assert wrong == round((1 - result["accuracy"]) * result["crops"])
    assert all(item["truth"] != item["read"] for item in result["confusions"])
    with pytest.raises(SystemExit) as usage:
        main(["--semeion", "--kind", "plain"])
    assert usage.value.code == 2
