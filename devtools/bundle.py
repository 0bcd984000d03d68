"""``python -m devtools.bundle``: write edge/data/mnist_test.npz, the digits shipped with the package.

The 10,000 MNIST test digits (never used for training) let a Pi run ``digit-cam --source demo``
and ``digit-cam selftest`` without the dataset. MNIST is by Yann LeCun, Corinna Cortes and
Christopher J.C. Burges, and is available under CC BY-SA 3.0.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from edge.clikit import run_main
from edge.scenes import BUNDLED_POOL
from train.mnist import load_mnist


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.bundle", description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", help="MNIST IDX directory (default: as python -m train)")
    parser.add_argument("--out", default=str(BUNDLED_POOL), help=f"output .npz (default: {BUNDLED_POOL})")
    args = parser.parse_args(argv)
    return run_main(lambda: bundle(args.data_dir, args.out), prog=parser.prog)


def bundle(data_dir: str | None, out: str) -> None:
    """Write the MNIST test split to ``out``; missing MNIST files are an input error (exit 3)."""
    test = load_mnist(data_dir).test
    np.savez_compressed(out, images=test.images, labels=test.labels)
    print(f"wrote {len(test):,} test digits to {out}")


if __name__ == "__main__":
    sys.exit(main())
