"""Training run behind ``python -m train``: data split, augmentation, fit, evaluation, outputs.

``run(TrainConfig(...))`` does the whole job and returns a :class:`TrainResult`; the CLI only
turns flags into a config and errors into exit codes. TensorFlow is imported inside the
functions that need it so ``--help`` and argument errors stay instant.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from edge.constants import LABELS, NUM_CLASSES, to_model_input
from edge.errors import JobError
from train.augment import AugmentConfig
from train.mnist import Mnist, MnistSplit, load_mnist
from train.models import RECIPES, Recipe, build_model

if TYPE_CHECKING:
    from train.semeion import Semeion

STRATEGIES = ("default", "mirrored", "multi-worker")

class TrainError(JobError):
    """A training run cannot start or finish; the message says why and what to do."""


@dataclass
class TrainConfig:
    """Everything a run needs; ``None`` means "the architecture's recipe default"."""

    arch: str = "edge"
    out_dir: Path | None = None  # default: runs/<arch>-<timestamp>
    data_dir: str | None = None
    verify_data: bool = True
    epochs: int | None = None
    batch_size: int | None = None
    learning_rate: float | None = None
    augment: bool | None = None
    finder_share: float | None = None  # crops cut by find_digits from scenes, share of the MNIST images
    finder_negatives: bool | None = None  # also the finder's non-digits, with uniform targets
    semeion_share: float | None = None  # Semeion crops (European styles), share of the MNIST images; 0: none
    seed: int = 42
    limit: int | None = None  # train on the first N training images (smoke tests)
    test_limit: int | None = None  # evaluate on the first N test images (smoke tests)
    val_split: float = 0.05  # fraction of the training images held out for validation
    strategy: str = "default"
    logical_cpus: int | None = None  # split the CPU into N logical devices (mirrored on CPU)
    deterministic: bool = False
    overwrite: bool = False
    verbose: int | None = None  # Keras verbosity; None: progress bar on a TTY, else a line/epoch

    def recipe(self) -> Recipe:
        base = RECIPES[self.arch]
        finder_share = self.finder_share if self.finder_share is not None else base.finder_share
        return Recipe(
            epochs=self.epochs if self.epochs is not None else base.epochs,
            batch_size=self.batch_size if self.batch_size is not None else base.batch_size,
            optimizer=base.optimizer,
            learning_rate=self.learning_rate if self.learning_rate is not None else base.learning_rate,
            augment=self.augment if self.augment is not None else base.augment,
            warmup_epochs=base.warmup_epochs,
            label_smoothing=base.label_smoothing,
            finder_share=finder_share,
            # The recipe's negatives come from its finder crops: --finder-share 0 turns both off.
            finder_negatives=(self.finder_negatives if self.finder_negatives is not None
                              else base.finder_negatives and finder_share > 0),
            semeion_share=self.semeion_share if self.semeion_share is not None else base.semeion_share,
            description=base.description,
        )


@dataclass
class TrainResult:
    """What a finished run produced and measured."""

    out_dir: Path
    test_accuracy: float
    test_loss: float
    params: int
    seconds_per_epoch: list[float]
    wall_seconds: float
    metrics: dict = field(repr=False)


def default_out_dir(arch: str) -> Path:
    return Path("runs") / f"{arch}-{time.strftime('%Y%m%d-%H%M%S')}"


def split_train_val(train: MnistSplit, val_fraction: float, seed: int) -> tuple[MnistSplit, MnistSplit]:
    """Seeded, stratified hold-out: the same ``seed`` always holds out the same images."""
    if not 0.0 <= val_fraction < 1.0:
        raise TrainError(f"validation split must be in [0, 1), got {val_fraction}")
    rng = np.random.default_rng(seed)
    val_idx = []
    for digit in range(NUM_CLASSES):
        idx = np.flatnonzero(train.labels == digit)
        n_val = int(round(len(idx) * val_fraction))
        val_idx.append(rng.choice(idx, size=n_val, replace=False))
    val_mask = np.zeros(len(train), dtype=bool)
    val_mask[np.concatenate(val_idx)] = True
    return (MnistSplit(train.images[~val_mask], train.labels[~val_mask]),
            MnistSplit(train.images[val_mask], train.labels[val_mask]))


def configure_tensorflow(config: TrainConfig):
    """Import TensorFlow and set up devices, seeds and determinism; returns the ``tf`` module.

    Logical CPUs must be configured before TensorFlow initialises its runtime, which is why
    this runs before anything else touches TF.
    """
    from train.tfquiet import import_tensorflow

    try:
        tf = import_tensorflow()
    except ImportError as error:
        raise TrainError(str(error)) from error
    import keras

    if config.logical_cpus:
        cpus = tf.config.list_physical_devices("CPU")
        try:
            tf.config.set_logical_device_configuration(
                cpus[0], [tf.config.LogicalDeviceConfiguration()] * config.logical_cpus)
        except RuntimeError as error:
            raise TrainError(f"cannot split the CPU into logical devices: {error}") from error
    keras.utils.set_random_seed(config.seed)
    if config.deterministic:
        tf.config.experimental.enable_op_determinism()
    return tf


@dataclass(frozen=True)
class Devices:
    """What TensorFlow trains on: every logical device, and the name of each physical GPU."""

    logical: list[str]  # e.g. ["/device:CPU:0", "/device:GPU:0"]
    gpus: list[str]  # e.g. ["NVIDIA A100-SXM4-40GB"]; empty on a CPU-only machine or build

    def summary(self) -> str:
        """One line for the start of a run, with the fix when no GPU is visible."""
        listed = ", ".join(name.removeprefix("/device:") for name in self.logical)
        if self.gpus:
            return f"TensorFlow devices: {listed}; GPUs: {', '.join(self.gpus)}"
        return (f"TensorFlow devices: {listed}; no GPU visible, training on the CPU (for NVIDIA "
                "GPUs: pip install '.[gpu]' instead of '.[train]')")


def find_devices(tf) -> Devices:
    """The devices ``tf`` sees. Call it after the strategy is made: listing logical devices
    starts TensorFlow's runtime, after which multi-worker collectives can no longer be set up."""
    logical = [device.name for device in tf.config.list_logical_devices()]
    gpus = []
    for gpu in tf.config.list_physical_devices("GPU"):
        details = tf.config.experimental.get_device_details(gpu)
        gpus.append(details.get("device_name") or gpu.name)
    return Devices(logical=logical, gpus=gpus)


def make_strategy(tf, name: str):
    """The ``tf.distribute`` strategy called ``name`` (see :data:`STRATEGIES`)."""
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
        return tf.distribute.MirroredStrategy(devices=[device.name for device in devices])
    if name == "multi-worker":
        if "TF_CONFIG" not in os.environ:
            raise TrainError("--strategy multi-worker needs the TF_CONFIG environment variable "
                             "describing the cluster and this worker's task, e.g. "
                             '{"cluster": {"worker": ["host1:12345", "host2:12345"]}, '
                             '"task": {"type": "worker", "index": 0}}')
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise TrainError(f"unknown strategy {name!r}; choose one of {', '.join(STRATEGIES)}")


def is_chief(strategy) -> bool:
    """True on the worker that writes outputs (the only one, outside multi-worker)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return True
    if resolver.task_type == "chief":
        return True
    has_chief = "chief" in resolver.cluster_spec().as_dict()
    return resolver.task_type == "worker" and resolver.task_id == 0 and not has_chief


def build_augmenter(seed: int, config: AugmentConfig = AugmentConfig()):
    """A function (images (N, 28, 28, 1) float, one-hot labels (N, 10)) -> perturbed images,
    applying :func:`train.augment.augment_batch` (labels pick the digit-specific styles)."""
    import tensorflow as tf

    from train.augment import augment_batch

    generator = tf.random.Generator.from_seed(seed)

    def augment(images, labels):
        return augment_batch(images, style_labels(labels), generator, config)

    return augment


def style_labels(targets):
    """(N, 10) training targets -> (N,) int64 digits for the digit-specific styles of
    :mod:`train.augment`; -1 for a negative, whose uniform target names no digit (its argmax, 0,
    would otherwise pass it off as a zero)."""
    import tensorflow as tf

    return tf.where(tf.reduce_max(targets, axis=-1) > 0.5, tf.argmax(targets, axis=-1), tf.constant(-1, tf.int64))


def make_dataset(tf, split: MnistSplit, batch_size: int, *, shuffle: bool, augment, seed: int,
                 drop_remainder: bool = False):
    """A batched ``tf.data`` pipeline of (model input, one-hot label).

    ``drop_remainder`` is needed with several replicas: Keras cannot combine per-replica batches
    of unequal size, which a final partial batch would produce.
    """
    x = to_model_input(split.images)
    y = targets(split.labels)
    dataset = tf.data.Dataset.from_tensor_slices((x, y))
    if shuffle:
        dataset = dataset.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(batch_size, drop_remainder=drop_remainder)
    if augment is not None:
        dataset = dataset.map(lambda images, labels: (augment(images, labels), labels),
                              num_parallel_calls=tf.data.AUTOTUNE)
    return dataset.prefetch(tf.data.AUTOTUNE)


NOT_A_DIGIT = 255  # the label of a training negative (a merged pair, junk): no class is right


def targets(labels: np.ndarray) -> np.ndarray:
    """(N,) uint8 labels -> (N, NUM_CLASSES) float32 training targets: one-hot for a digit,
    uniform for :data:`NOT_A_DIGIT`. Training a negative towards "every digit equally" (outlier
    exposure) teaches the model to be unsure of it -- the finder then prefers a split, or the
    recogniser shows '?' -- without an 11th class that train, convert and edge would all carry."""
    out = np.eye(NUM_CLASSES, dtype=np.float32)[np.minimum(labels, NUM_CLASSES - 1)]
    out[labels == NOT_A_DIGIT] = 1.0 / NUM_CLASSES
    return out


def add_finder_crops(train: MnistSplit, share: float, seed: int, negatives: bool = False) -> tuple[MnistSplit, dict]:
    """``train`` plus ``share`` x its size in crops that ``edge.preprocess.find_digits`` cuts
    from synthetic scenes drawn with ``train``'s own digits (see :mod:`train.finder_crops`), and
    what was made: crops, boxes that matched no drawn digit, negatives, seconds. With
    ``negatives``, the finder's merged pairs and junk are added too, labelled :data:`NOT_A_DIGIT`."""
    from tqdm import tqdm

    from train.finder_crops import finder_training_crops, scenes_for

    wanted = int(round(share * len(train)))
    scenes = scenes_for(wanted)
    _say(f"Cutting ~{wanted:,} training crops with the finder from {scenes:,} synthetic scenes "
         f"of MNIST training digits")
    started = time.perf_counter()
    with tqdm(total=scenes, desc="finder crops", unit="scene", disable=not sys.stderr.isatty(),
              leave=False) as bar:
        crops = finder_training_crops(train.images, train.labels, wanted, seed, progress=bar)
    seconds = time.perf_counter() - started
    _say(f"  {len(crops.labels):,} finder crops in {seconds:.0f} s ({crops.unmatched:,} boxes matched no "
         "drawn digit and were left out)")
    junk = crops.negatives if negatives else crops.negatives[:0]
    if negatives:
        _say(f"  {len(junk):,} negatives (merged pairs, no digit) trained towards a uniform guess")
    merged = MnistSplit(np.concatenate([train.images, crops.images, junk]),
                        np.concatenate([train.labels, crops.labels, np.full(len(junk), NOT_A_DIGIT, np.uint8)]))
    return merged, {"crops": int(len(crops.labels)), "unmatched": int(crops.unmatched),
                    "negatives": int(len(junk)), "seconds": round(seconds, 1)}


def add_semeion_crops(train: MnistSplit, semeion: Semeion, wanted: int, seed: int,
                      aspects: list[np.ndarray]) -> tuple[MnistSplit, dict]:
    """``train`` plus ``wanted`` crops of the Semeion digits outside the held-out block (see
    :mod:`train.semeion`: real European hands, cut by our finder), and what was made: crops,
    renders dropped, seconds."""
    from tqdm import tqdm

    from train.semeion import semeion_crops

    digits, _ = semeion.split()
    _say(f"Cutting {wanted:,} crops of {len(digits):,} Semeion digits (closed 4s, crossed 7s, flagged 1s), "
         "each given a random MNIST digit's proportions")
    started = time.perf_counter()
    with tqdm(total=wanted, desc="semeion crops", unit="crop", disable=not sys.stderr.isatty(),
              leave=False) as bar:
        crops = semeion_crops(digits, aspects, wanted, seed, progress=bar)
    seconds = time.perf_counter() - started
    _say(f"  {len(crops.labels):,} Semeion crops in {seconds:.0f} s ({crops.dropped} renders not cut as one digit)")
    merged = MnistSplit(np.concatenate([train.images, crops.images]), np.concatenate([train.labels, crops.labels]))
    return merged, {"crops": int(len(crops.labels)), "dropped": int(crops.dropped), "seconds": round(seconds, 1)}


def semeion_held_out_accuracy(model, crops) -> dict:
    """Accuracy on the held-out Semeion crops (:func:`train.semeion.held_out_crops`): how well
    European styles from unseen writers read, measured in every run."""
    from train.semeion import held_out_score

    return held_out_score(crops, model.predict(to_model_input(crops.images), batch_size=500, verbose=0).argmax(axis=1))


def make_optimizer(recipe: Recipe, steps_per_epoch: int):
    import keras

    if recipe.optimizer == "adadelta":
        return keras.optimizers.Adadelta(learning_rate=recipe.learning_rate)
    total = max(1, steps_per_epoch * recipe.epochs)
    # Warm-up never takes more than a fifth of the run, so short runs still reach the peak rate.
    warmup = min(int(steps_per_epoch * recipe.warmup_epochs), total // 5)
    schedule = keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=recipe.learning_rate / 25,
        decay_steps=max(1, total - warmup),
        warmup_target=recipe.learning_rate if warmup else None,
        warmup_steps=warmup,
    )
    return keras.optimizers.Adam(learning_rate=schedule)


def library_versions() -> dict[str, str]:
    import keras
    import tensorflow as tf

    return {"python": platform.python_version(), "numpy": np.__version__,
            "tensorflow": tf.__version__, "keras": keras.__version__}


def _check_out_dir(out_dir: Path, overwrite: bool) -> None:
    if (out_dir / "model.keras").exists() and not overwrite:
        raise TrainError(f"{out_dir} already holds a trained model; choose another --out or pass "
                         "--overwrite to replace it")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise TrainError(f"cannot create output directory {out_dir}: {error}") from error


def run(config: TrainConfig, data: Mnist | None = None) -> TrainResult:
    """Train, evaluate and write every output of one run; see the module docstring."""
    if config.arch not in RECIPES:
        raise TrainError(f"unknown architecture {config.arch!r}; choose one of {', '.join(RECIPES)}")
    recipe = config.recipe()
    if recipe.epochs < 1 or recipe.batch_size < 1:
        raise TrainError("--epochs and --batch-size must be at least 1")
    if recipe.finder_negatives and recipe.finder_share <= 0:
        raise TrainError("--finder-negatives comes from the finder crops: give --finder-share above 0 "
                         + (f"(the {config.arch} recipe has none)" if config.finder_share is None
                            else "(it is 0)"))
    out_dir = Path(config.out_dir) if config.out_dir else default_out_dir(config.arch)
    _check_out_dir(out_dir, config.overwrite)

    tf = configure_tensorflow(config)  # before loading data: TF device setup must come first
    import keras

    from train import report
    from train.semeion import held_out_crops, ink_aspects, load_semeion

    if data is None:
        data = load_mnist(config.data_dir, verify=config.verify_data)
    train_split, val_split = split_train_val(data.train.head(config.limit), config.val_split, config.seed)
    test_split = data.test.head(config.test_limit)
    if len(train_split) == 0:
        raise TrainError("no training images left after --limit and --val-split")

    strategy = make_strategy(tf, config.strategy)
    devices = find_devices(tf)
    _say(devices.summary())
    mnist_images = len(train_split)
    finder = {"crops": 0, "unmatched": 0, "negatives": 0, "seconds": 0.0}
    # Read before training, so a missing or damaged file fails now, not after the run.
    semeion_digits = load_semeion()
    # The Semeion training crops take MNIST's proportions per class from the training split's digits
    # (the validation digits stay unseen); the held-out measure takes all training images' (the same
    # every run). Measured before the finder crops join the split.
    aspects = ink_aspects(train_split.images, train_split.labels) if recipe.semeion_share > 0 else []
    if recipe.finder_share > 0:
        train_split, finder = add_finder_crops(train_split, recipe.finder_share, config.seed,
                                               negatives=recipe.finder_negatives)
    semeion = {"crops": 0, "dropped": 0, "seconds": 0.0}
    if recipe.semeion_share > 0:
        # A share of the MNIST images, as the finder crops' is (so --limit scales both).
        wanted = int(round(recipe.semeion_share * mnist_images))
        train_split, semeion = add_semeion_crops(train_split, semeion_digits, wanted, config.seed, aspects)
    chief = is_chief(strategy)
    steps_per_epoch = int(np.ceil(len(train_split) / recipe.batch_size))
    with strategy.scope():
        model = build_model(config.arch)
        model.compile(
            optimizer=make_optimizer(recipe, steps_per_epoch),
            loss=keras.losses.CategoricalCrossentropy(label_smoothing=recipe.label_smoothing),
            metrics=["accuracy"],
        )
    augment = build_augmenter(config.seed) if recipe.augment else None
    replicated = strategy.num_replicas_in_sync > 1
    if replicated and len(train_split) < recipe.batch_size:
        raise TrainError(f"{len(train_split)} training images do not fill one batch of "
                         f"{recipe.batch_size}; lower --batch-size or raise --limit")
    train_ds = make_dataset(tf, train_split, recipe.batch_size, shuffle=True, augment=augment,
                            seed=config.seed, drop_remainder=replicated)
    val_ds = None
    if len(val_split) >= (recipe.batch_size if replicated else 1):
        val_ds = make_dataset(tf, val_split, recipe.batch_size, shuffle=False, augment=None,
                              seed=config.seed, drop_remainder=replicated)

    timer = EpochTimer()
    guard = NanGuard()
    callbacks = [guard, timer, keras.callbacks.CSVLogger(str(out_dir / "history.csv"))]
    if chief:
        # Saved every epoch, so an interrupted or crashed run keeps its latest weights.
        callbacks.append(keras.callbacks.ModelCheckpoint(str(out_dir / "checkpoint.keras")))
    verbose = config.verbose if config.verbose is not None else (1 if sys.stdout.isatty() else 2)
    _say(f"Training {config.arch} ({model.count_params():,} parameters) on {len(train_split):,} "
         f"images, validating on {len(val_split):,}, for {recipe.epochs} epochs of batch "
         f"{recipe.batch_size} [{config.strategy} strategy, {strategy.num_replicas_in_sync} replica(s)]")
    started = time.perf_counter()
    history = model.fit(train_ds, validation_data=val_ds, epochs=recipe.epochs,
                        callbacks=callbacks, verbose=verbose, shuffle=False)  # tf.data shuffles
    wall_seconds = time.perf_counter() - started
    if guard.diverged_at is not None:
        epoch, batch = guard.diverged_at
        raise TrainError(f"the loss became NaN or infinite at epoch {epoch + 1}, batch {batch + 1}; training "
                         f"stopped and no model was saved. Lower --learning-rate (it was "
                         f"{recipe.learning_rate:g})")

    probabilities = model.predict(to_model_input(test_split.images), batch_size=500, verbose=0)
    predictions = probabilities.argmax(axis=1)
    test_accuracy = float(np.mean(predictions == test_split.labels))
    test_loss = float(keras.losses.categorical_crossentropy(
        np.eye(NUM_CLASSES)[test_split.labels], probabilities).numpy().mean())
    semeion_held_out = semeion_held_out_accuracy(
        model, held_out_crops(semeion_digits, data.train.images, data.train.labels))
    _say(f"Semeion held-out writers: {semeion_held_out['accuracy']:.2%} of {semeion_held_out['crops']} crops")

    metrics = {
        "arch": config.arch,
        "description": recipe.description,
        "test_accuracy": test_accuracy,
        "test_loss": test_loss,
        "test_images": len(test_split),
        "params": int(model.count_params()),
        "epochs": recipe.epochs,
        "seconds_per_epoch": timer.seconds,
        "mean_seconds_per_epoch": float(np.mean(timer.seconds)),
        "wall_seconds": wall_seconds,
        "seed": config.seed,
        "deterministic": config.deterministic,
        "strategy": config.strategy,
        "replicas": strategy.num_replicas_in_sync,
        "recipe": asdict(recipe),
        "train_images": len(train_split),
        "mnist_train_images": mnist_images,
        "finder_crops": finder,
        "semeion_crops": semeion,
        "semeion_held_out": semeion_held_out,
        "val_images": len(val_split),
        "final_val_accuracy": history.history.get("val_accuracy", [None])[-1],
        "data": {"dir": str(data.data_dir), "md5": data.md5, "verified": data.verified},
        "versions": library_versions(),
        "devices": asdict(devices),
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count()},
        "labels": list(LABELS),
    }
    if chief:
        model.save(out_dir / "model.keras")
        (out_dir / "checkpoint.keras").unlink(missing_ok=True)
        (out_dir / "history.json").write_text(json.dumps(
            {key: [float(v) for v in values] for key, values in history.history.items()}, indent=2))
        (out_dir / "metrics.json").write_text(json.dumps(metrics, indent=2))
        report.plot_history(history.history, out_dir / "curves.png", title=config.arch)
        report.plot_confusion(test_split.labels, predictions, out_dir / "confusion.png")
        report.plot_misclassified(test_split.images, test_split.labels, predictions,
                                  probabilities, out_dir / "misclassified.png")
    return TrainResult(out_dir=out_dir, test_accuracy=test_accuracy, test_loss=test_loss,
                       params=int(model.count_params()), seconds_per_epoch=timer.seconds,
                       wall_seconds=wall_seconds, metrics=metrics)


def _say(message: str) -> None:
    print(message, flush=True)


def EpochTimer():  # noqa: N802 - a factory so keras is imported lazily
    """A Keras callback recording wall seconds per epoch in ``.seconds``."""
    import keras

    class _EpochTimer(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.seconds: list[float] = []
            self._start = 0.0

        def on_epoch_begin(self, epoch, logs=None):
            self._start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds.append(time.perf_counter() - self._start)

    return _EpochTimer()


def NanGuard():  # noqa: N802 - a factory so keras is imported lazily
    """A Keras callback that stops training on the first batch whose loss is NaN or infinite and
    records where (``.diverged_at`` = (epoch, batch)): a diverged run must fail, not save a model
    that answers one class for everything."""
    import keras

    class _NanGuard(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.diverged_at: tuple[int, int] | None = None
            self._epoch = 0

        def on_epoch_begin(self, epoch, logs=None):
            self._epoch = epoch

        def on_train_batch_end(self, batch, logs=None):
            loss = (logs or {}).get("loss")
            if loss is not None and not np.isfinite(float(loss)) and self.diverged_at is None:
                self.diverged_at = (self._epoch, batch)
                self.model.stop_training = True

    return _NanGuard()
