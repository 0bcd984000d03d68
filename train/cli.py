"""Arguments of ``python -m train``; the work is done by :func:`train.training.run`.

Library code raises; :func:`edge.clikit.run_main` turns those errors into one message and an exit code.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from edge import errors
from edge.clikit import fraction_below, non_negative_float, positive_float, positive_int, run_main, seed
from train.download import MIRRORS_ENV, ensure_mnist
from train.finetune import DEFAULT_MAX_MNIST_DROP, FINETUNE_EPOCHS
from train.mnist import DATA_DIR_ENV
from train.models import ARCHITECTURES, RECIPES
from train.training import STRATEGIES, TrainConfig

CACHE_HINT = "$XDG_CACHE_HOME/digit-edge/mnist (~/.cache/digit-edge/mnist)"


def build_parser() -> argparse.ArgumentParser:
    recipes = "; ".join(f"{name}: {r.description}, {r.epochs} epochs, batch {r.batch_size}"
                        for name, r in RECIPES.items())
    parser = argparse.ArgumentParser(
        prog="python -m train",
        description="Train a handwritten-digit CNN on MNIST (offline, from local IDX files; "
                    "--download fetches them once) and write model.keras, history, metrics.json "
                    "and PNG reports to a run directory.",
        epilog=f"architectures — {recipes}. {errors.EPILOG}",
    )
    parser.add_argument("--arch", choices=ARCHITECTURES, default="edge",
                        help="network to train: 'edge' (default) is the small int8-friendly CNN; "
                             "'paper' is Jain et al.'s network with its original recipe")
    parser.add_argument("--epochs", type=positive_int,
                        help="passes over the training set (default: the architecture's recipe)")
    parser.add_argument("--batch-size", type=positive_int,
                        help="global batch size, split across replicas (default: the recipe's)")
    parser.add_argument("--learning-rate", type=positive_float,
                        help="peak learning rate (default: the recipe's; paper: Adadelta 1.0)")
    parser.add_argument("--no-augment", dest="augment", action="store_false", default=None,
                        help="turn off augmentation (geometry, elastic, pen width, gaps, styles, finder "
                             "artefacts, blur/noise; edge arch)")
    parser.add_argument("--finder-share", type=non_negative_float, metavar="F",
                        help="add F x the MNIST training images in crops cut by the digit finder from "
                             "synthetic scenes of MNIST training digits, so the model learns the "
                             "finder's artefacts (default: the recipe's; edge 0.25, paper 0; 0 = off)")
    parser.add_argument("--finder-negatives", action=argparse.BooleanOptionalAction, default=None,
                        help="with finder crops, also train on the finder's non-digits (two touching "
                             "digits read as one box, rule stubs, shadows) towards a uniform guess, so "
                             "the model is unsure of them and the finder splits the pair (default: "
                             "the recipe's, on for edge; see docs/training.md for what it gains)")
    parser.add_argument("--semeion-share", type=non_negative_float, metavar="F",
                        help="add F x the MNIST training images in crops of the bundled Semeion digits "
                             "(1,394 digits by real European hands: closed 4s, crossed 7s, flagged 1s; "
                             "CC BY 4.0, see train/semeion.py), each given a random MNIST digit's "
                             "proportions and cut by the digit finder (default 0 = off: about 0.1 read unseen "
                             "Semeion writers better but real photos no better; docs/training.md). Every "
                             "run reports its accuracy on the Semeion writers no run trains on")
    parser.add_argument("--seed", type=seed, default=42,
                        help="seed for the validation split, weights, shuffling and augmentation "
                             "(default: 42)")
    parser.add_argument("--deterministic", action="store_true",
                        help="also enable TensorFlow op determinism: bit-identical reruns on the "
                             "same machine and versions, somewhat slower")
    parser.add_argument("--out", type=Path, metavar="DIR",
                        help="run directory (default: runs/<arch>-<timestamp>); an existing run "
                             "is never overwritten without --overwrite")
    parser.add_argument("--overwrite", action="store_true",
                        help="allow replacing a model already in --out")
    parser.add_argument("--data-dir", metavar="DIR",
                        help=f"directory with the four MNIST IDX files (.gz or raw); default: "
                             f"${DATA_DIR_ENV}, else ../shared/data/mnist, else the download cache "
                             f"{CACHE_HINT}, the first that exists")
    parser.add_argument("--download", action="store_true",
                        help=f"fetch whichever MNIST files are missing from the public mirrors "
                             f"(${MIRRORS_ENV} overrides them), md5-checked, into --data-dir or "
                             f"else {CACHE_HINT}; without it nothing is ever downloaded")
    parser.add_argument("--no-verify", dest="verify_data", action="store_false",
                        help="accept MNIST files whose md5 differs from the published one")
    parser.add_argument("--limit", type=positive_int, metavar="N",
                        help="train on the first N training images only (smoke tests)")
    parser.add_argument("--test-limit", type=positive_int, metavar="N",
                        help="evaluate on the first N test images only (smoke tests)")
    parser.add_argument("--val-split", type=fraction_below(0.5), default=0.05, metavar="F",
                        help="fraction of training images held out (stratified, seeded) for "
                             "validation curves (default: 0.05; 0 disables)")
    parser.add_argument("--strategy", choices=STRATEGIES, default="default",
                        help="tf.distribute strategy: default (one device), mirrored (all local "
                             "GPUs, else the logical CPUs), multi-worker (cluster from TF_CONFIG)")
    parser.add_argument("--logical-cpus", type=positive_int, metavar="N",
                        help="split the CPU into N logical devices (lets --strategy mirrored run "
                             "without GPUs, e.g. to test a multi-device setup)")
    parser.add_argument("--finetune", type=Path, metavar="MODEL.keras",
                        help="fine-tune this model on the labelled crops of --extra (mixed with MNIST) "
                             "instead of training from scratch (docs/teach.md)")
    parser.add_argument("--extra", type=Path, action="append", default=[], metavar="DIR",
                        help="a digit-cam --collect folder labelled with python -m train.label; "
                             "repeat for several")
    parser.add_argument("--max-mnist-drop", type=non_negative_float, default=DEFAULT_MAX_MNIST_DROP, metavar="PP",
                        help="with --finetune, refuse to write the model when MNIST test accuracy drops "
                             "by more than PP percentage points (default %(default)s)")
    parser.add_argument("--quiet", action="store_true",
                        help="no per-epoch progress (the summary is still printed)")
    return parser


def summary(result) -> str:
    """Concise human summary of a finished run."""
    m = result.metrics
    per_epoch = m["mean_seconds_per_epoch"]
    return "\n".join([
        f"Done: {m['arch']} — test accuracy {result.test_accuracy:.2%} on {m['test_images']:,} "
        f"images (loss {result.test_loss:.4f})",
        f"  {result.params:,} parameters, {m['epochs']} epochs, {per_epoch:.1f} s/epoch, "
        f"{result.wall_seconds / 60:.1f} min in all",
        f"  outputs in {result.out_dir}/: model.keras, metrics.json, history.csv/json, "
        "curves.png, confusion.png, misclassified.png",
        f"  next: python -m convert --model {result.out_dir / 'model.keras'}",
    ])


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if bool(args.finetune) != bool(args.extra):
        parser.error("--finetune MODEL.keras and --extra DIR go together")
    if args.finetune:
        return run_main(lambda: finetune(args), prog=parser.prog,
                        interrupted="interrupted: nothing was written")
    out = args.out or "the run directory"
    interrupted = f"interrupted: the last finished epoch is saved as checkpoint.keras in {out}"
    if args.download:
        interrupted += " (an unfinished download leaves no partial file)"
    return run_main(lambda: train(args), prog=parser.prog, interrupted=interrupted)


def finetune(args: argparse.Namespace) -> int:
    """Fine-tune as ``args`` say (see :mod:`train.finetune`) and print the before/after summary."""
    import time

    from train import finetune as tuning

    config = tuning.FinetuneConfig(
        model=args.finetune, extra=args.extra, data_dir=args.data_dir,
        out_dir=args.out or Path("runs") / f"finetune-{time.strftime('%Y%m%d-%H%M%S')}",
        epochs=args.epochs or FINETUNE_EPOCHS, batch_size=args.batch_size or 128,
        learning_rate=args.learning_rate or tuning.FINETUNE_LEARNING_RATE,
        max_mnist_drop=args.max_mnist_drop, augment=args.augment is not False, seed=args.seed,
        limit=args.limit, test_limit=args.test_limit, overwrite=args.overwrite,
        verbose=0 if args.quiet else 2)
    print(tuning.summary(tuning.finetune(config)))
    return errors.OK


def train(args: argparse.Namespace) -> int:
    """Train as ``args`` say and print the summary; errors propagate to :func:`run_main`."""
    data_dir = args.data_dir
    if args.download:  # before TensorFlow's slow import, so a failed download is told at once
        data_dir = str(ensure_mnist(args.data_dir))
    config = TrainConfig(
        arch=args.arch, out_dir=args.out, data_dir=data_dir, verify_data=args.verify_data,
        epochs=args.epochs, batch_size=args.batch_size, learning_rate=args.learning_rate,
        augment=args.augment, finder_share=args.finder_share, finder_negatives=args.finder_negatives,
        semeion_share=args.semeion_share,
        seed=args.seed, limit=args.limit,
        test_limit=args.test_limit,
        val_split=args.val_split, strategy=args.strategy, logical_cpus=args.logical_cpus,
        deterministic=args.deterministic, overwrite=args.overwrite,
        verbose=0 if args.quiet else None,
    )
    from train.training import run

    result = run(config)
    print(summary(result))
    return errors.OK
