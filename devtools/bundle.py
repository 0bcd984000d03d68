"""``python -m devtools.bundle``: write edge/data/mnist_test.npz, the digits shipped with the package.

The 10,000 MNIST test digits (never used for training) let a Pi run ``digit-cam --source demo``
and ``digit-cam selftest`` without the dataset. MNIST is by Yann LeCun, Corinna Cortes and
Christopher J.C. Burges, and is available under CC BY-SA 3.0.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from edge import errors
from edge.scenes import BUNDLED_POOL
from train.mnist import MnistError, load_mnist


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.bundle", description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", help="MNIST IDX directory (default: as python -m train)")
    parser.add_argument("--out", default=str(BUNDLED_POOL), help=f"output .npz (default: {BUNDLED_POOL})")
    args = parser.parse_args(argv)
    try:
        test = load_mnist(args.data_dir).test
    except MnistError as error:
        print(f"error: {error}", file=sys.stderr)
        return errors.INPUT
    np.savez_compressed(args.out, images=test.images, labels=test.labels)
    print(f"wrote {len(test):,} test digits to {args.out}")
    return errors.OK


if __name__ == "__main__":
    sys.exit(main())
