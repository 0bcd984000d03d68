"""``python -m train``: a tiny real run writes every output; flags and failures behave."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import types

import pytest

from edge import errors
from tests.conftest import REPO_ROOT, needs_tensorflow
from train.cli import main
from train.training import TrainConfig, find_devices

OUTPUTS = ("model.keras", "history.csv", "history.json", "metrics.json", "curves.png",
           "confusion.png", "misclassified.png")


def run_module(*args: str, env: dict | None = None, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "train", *args], cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, **(env or {})})


@pytest.mark.slow
@needs_tensorflow
def test_tiny_run_writes_every_output_and_learns(tmp_path, mnist_dir, capsys):
    out = tmp_path / "run"
    code = main(["--limit", "6000", "--test-limit", "2000", "--epochs", "2", "--out", str(out),
                 "--data-dir", str(mnist_dir), "--semeion-share", "0.1", "--quiet"])
    assert code == errors.OK
    for name in OUTPUTS:
        assert (out / name).stat().st_size > 0, name
    assert not (out / "checkpoint.keras").exists()  # replaced by model.keras at the end
    metrics = json.loads((out / "metrics.json").read_text())
    # 6,000 images for 2 epochs is far from converged, but well past chance (10 %).
    assert metrics["test_accuracy"] > 0.85
    assert metrics["params"] <= 100_000 and metrics["arch"] == "edge"
    assert metrics["data"]["verified"] and len(metrics["data"]["md5"]) == 4
    assert {"tensorflow", "keras", "numpy"} <= metrics["versions"].keys()
    assert any(":CPU:" in name for name in metrics["devices"]["logical"])  # what it trained on
    assert len(metrics["seconds_per_epoch"]) == 2
    # The edge recipe adds a quarter as many crops cut by the finder from scenes of training digits.
    crops = metrics["finder_crops"]["crops"]
    assert 0.15 * metrics["mnist_train_images"] < crops < 0.35 * metrics["mnist_train_images"]
    # ... and the finder's merged pairs and junk as negatives towards a uniform guess.
    negatives = metrics["finder_crops"]["negatives"]
    assert 0 < negatives < crops
    # --semeion-share adds crops of the Semeion digits (real European hands), a share of the MNIST images too.
    semeion = metrics["semeion_crops"]["crops"]
    assert 0.09 * metrics["mnist_train_images"] < semeion <= round(0.1 * metrics["mnist_train_images"])
    assert metrics["train_images"] == metrics["mnist_train_images"] + crops + negatives + semeion
    # Every run measures the Semeion writers it never trained on; 2 short epochs are well past chance.
    assert metrics["semeion_held_out"]["crops"] > 500 and metrics["semeion_held_out"]["accuracy"] > 0.3
    history = json.loads((out / "history.json").read_text())
    assert len(history["loss"]) == 2 and "val_accuracy" in history
    printed = capsys.readouterr().out
    assert "test accuracy" in printed and "python -m convert --model" in printed
    assert "TensorFlow devices: CPU:0" in printed.splitlines()[0]  # said before training starts

    # Nothing lost: the same --out is refused without --overwrite.
    assert main(["--limit", "500", "--epochs", "1", "--out", str(out), "--quiet"]) == errors.FAILURE
    assert "already holds a trained model" in capsys.readouterr().err


@pytest.mark.slow
@needs_tensorflow
def test_same_seed_same_result_with_determinism(tmp_path, mnist_dir):
    results = []
    for name in ("a", "b"):
        out = tmp_path / name
        assert main(["--limit", "1500", "--test-limit", "500", "--epochs", "1", "--deterministic",
                     "--out", str(out), "--quiet"]) == errors.OK
        results.append(json.loads((out / "history.json").read_text()))
    assert results[0] == results[1]


def test_help_explains_every_flag(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    for flag in ("--arch", "--epochs", "--batch-size", "--seed", "--out", "--data-dir", "--limit",
                 "--val-split", "--strategy", "--logical-cpus", "--finder-share", "--finder-negatives",
                 "--semeion-share", "exit codes"):
        assert flag in text


@pytest.mark.parametrize("argv", [
    ["--arch", "resnet"], ["--epochs", "0"], ["--batch-size", "many"], ["--val-split", "0.9"],
    ["--strategy", "tpu"], ["--bogus"], ["--finder-share", "-0.1"], ["--finder-share", "lots"],
    ["--semeion-share", "-1"], ["--semeion-share", "some"],
])
def test_bad_flags_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == errors.USAGE
    assert "error:" in capsys.readouterr().err


@pytest.mark.parametrize(("options", "negatives"), [
    ({}, True),  # the edge recipe trains on the finder's negatives
    ({"finder_share": 0.0}, False),  # ... which come from its finder crops: no crops, no negatives
    ({"finder_negatives": False}, False),  # --no-finder-negatives
    ({"finder_share": 0.1, "finder_negatives": True}, True),
])
def test_the_edge_recipe_trains_on_negatives_unless_told_otherwise(options, negatives):
    assert TrainConfig(arch="edge", **options).recipe().finder_negatives is negatives
    assert TrainConfig(arch="paper").recipe().finder_negatives is False


def test_semeion_crops_are_asked_for_not_a_recipe_default():
    # Measured against a control: they did not read real photos better (docs/training.md).
    assert TrainConfig(arch="edge").recipe().semeion_share == 0.0
    assert TrainConfig(arch="paper").recipe().semeion_share == 0.0
    assert TrainConfig(arch="edge", semeion_share=0.1).recipe().semeion_share == 0.1


def test_negatives_without_finder_crops_is_a_clear_error(tmp_path):
    result = run_module("--arch", "paper", "--finder-negatives", "--out", str(tmp_path / "run"))
    assert result.returncode == errors.FAILURE
    assert "--finder-negatives comes from the finder crops" in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "run").exists()


@needs_tensorflow
def test_missing_data_is_a_clear_error_not_a_traceback(tmp_path):
    result = run_module("--data-dir", str(tmp_path / "absent"), "--out", str(tmp_path / "run"))
    assert result.returncode == errors.INPUT
    assert "does not exist" in result.stderr and "--data-dir" in result.stderr
    assert "python -m train --download" in result.stderr
    assert "Traceback" not in result.stderr


@needs_tensorflow
def test_multi_worker_without_tf_config_is_a_clear_error(tmp_path):
    env = {key: value for key, value in os.environ.items() if key != "TF_CONFIG"}
    result = subprocess.run([sys.executable, "-m", "train", "--strategy", "multi-worker", "--limit", "200",
                             "--out", str(tmp_path / "run")], cwd=REPO_ROOT, capture_output=True,
                            text=True, timeout=300, env=env)
    assert result.returncode == errors.FAILURE
    assert "needs the TF_CONFIG environment variable" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.slow
@needs_tensorflow
def test_mirrored_strategy_over_two_logical_cpus(tmp_path):
    out = tmp_path / "run"
    result = run_module("--strategy", "mirrored", "--logical-cpus", "2", "--limit", "4000",
                        "--batch-size", "64", "--test-limit", "500", "--epochs", "1",
                        "--out", str(out), "--quiet")
    assert result.returncode == 0, result.stderr[-2000:]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["replicas"] == 2 and metrics["strategy"] == "mirrored"
    assert metrics["test_accuracy"] > 0.6  # chance is 0.1


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
@needs_tensorflow
def test_multi_worker_strategy_with_a_one_worker_cluster(tmp_path):
    out = tmp_path / "run"
    tf_config = {"cluster": {"worker": [f"127.0.0.1:{_free_port()}"]}, "task": {"type": "worker", "index": 0}}
    result = run_module("--strategy", "multi-worker", "--limit", "1000", "--test-limit", "300",
                        "--epochs", "1", "--out", str(out), "--quiet",
                        env={"TF_CONFIG": json.dumps(tf_config)})
    assert result.returncode == 0, result.stderr[-2000:]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["strategy"] == "multi-worker" and (out / "model.keras").exists()


def _fake_tf(logical: list[str], gpus: dict[str, str]):
    """Just the tf.config calls find_devices makes, for a machine this test does not have."""
    device = types.SimpleNamespace
    config = types.SimpleNamespace(
        list_logical_devices=lambda: [device(name=name) for name in logical],
        list_physical_devices=lambda kind: [device(name=name) for name in gpus] if kind == "GPU" else [],
        experimental=types.SimpleNamespace(get_device_details=lambda gpu: {"device_name": gpus[gpu.name]}),
    )
    return types.SimpleNamespace(config=config)


def test_gpus_are_named_and_their_absence_says_how_to_get_them():
    tf = _fake_tf(["/device:CPU:0", "/device:GPU:0", "/device:GPU:1"],
                  {"/physical_device:GPU:0": "NVIDIA A100-SXM4-40GB", "/physical_device:GPU:1": "NVIDIA L4"})
    devices = find_devices(tf)
    assert devices.gpus == ["NVIDIA A100-SXM4-40GB", "NVIDIA L4"]
    assert devices.summary() == ("TensorFlow devices: CPU:0, GPU:0, GPU:1; GPUs: NVIDIA A100-SXM4-40GB, "
                                 "NVIDIA L4")
    cpu_only = find_devices(_fake_tf(["/device:CPU:0"], {}))
    assert cpu_only.gpus == [] and "pip install '.[gpu]'" in cpu_only.summary()


@needs_tensorflow
def test_devices_on_this_machine_include_a_cpu():
    from train.tfquiet import import_tensorflow

    devices = find_devices(import_tensorflow())
    assert "/device:CPU:0" in devices.logical
    assert len(devices.gpus) == len([name for name in devices.logical if ":GPU:" in name])
