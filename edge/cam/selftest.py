"""``digit-cam selftest``: is this model, on this device, as accurate as its sidecar says?

Classifies the 10,000 MNIST test digits bundled with the package through the device's own
interpreter and compares with the ``accuracy`` recorded in the model's sidecar. A rollout (see
deploy/ansible) switches to a new model only when this passes.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from edge import errors
from edge.cam.cli import EXIT_CODES
from edge.clikit import non_negative_float, positive_int, run_main
from edge.interpreter import BACKENDS, DigitClassifier, ModelError
from edge.recognizer import default_model_path
from edge.scenes import load_digit_pool


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="digit-cam selftest",
        description="Classify the 10,000 MNIST test digits bundled with digit-edge with MODEL on this "
                    "device and compare with the accuracy its sidecar records. Exit 0 when it is "
                    "within --tolerance, 1 when below, 3 when the model or sidecar is missing, "
                    "corrupt or does not match.")
    parser.add_argument("--model", type=Path, help="model to test (default: the bundled int8 model)")
    parser.add_argument("--tolerance", type=non_negative_float, default=0.1, metavar="PP",
                        help="accepted shortfall vs the sidecar, in percentage points (default 0.1: "
                             "int8 kernels may round differently on ARM and x86)")
    parser.add_argument("--backend", choices=BACKENDS, help="TFLite runtime (default: first installed)")
    parser.add_argument("--no-xnnpack", dest="xnnpack", action="store_false", help="builtin kernels only")
    parser.add_argument("--threads", type=positive_int, help="interpreter threads (default: runtime's choice)")
    parser.add_argument("--json", action="store_true", help="print the result as one JSON object")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run_main(lambda: selftest(args), prog="digit-cam selftest", exit_codes=EXIT_CODES)


def selftest(args: argparse.Namespace) -> int:
    """Classify the bundled digits and print the verdict; exit 0 (pass) or 1 (fail)."""
    path = args.model or default_model_path()
    classifier = DigitClassifier.from_path(path, backend=args.backend, xnnpack=args.xnnpack, threads=args.threads)
    if classifier.metadata is None or classifier.metadata.accuracy is None:
        raise ModelError(f"{path} has no sidecar with an accuracy figure ({Path(path).with_suffix('.json')}); "
                         "the self-test needs the sidecar written by python -m convert")
    pool = load_digit_pool()
    started = time.perf_counter()
    predictions = classifier.predict(pool.images).argmax(axis=1)
    seconds = time.perf_counter() - started
    measured = float(np.mean(predictions == pool.labels))
    expected = float(classifier.metadata.accuracy)
    passed = measured >= expected - args.tolerance / 100
    result = {"passed": passed, "model": str(path), "sha256": classifier.sha256, "images": len(pool.labels),
              "measured_accuracy": measured, "sidecar_accuracy": expected, "tolerance_pp": args.tolerance,
              "backend": classifier.backend.name, "xnnpack": classifier.xnnpack, "seconds": round(seconds, 3)}
    if args.json:
        print(json.dumps(result))
    else:
        verdict = "PASS" if passed else "FAIL"
        print(f"{verdict}: {measured:.2%} on {len(pool.labels):,} bundled MNIST test digits "
              f"(sidecar: {expected:.2%}, tolerance {args.tolerance} pp) in {seconds:.1f} s with "
              f"{classifier.describe()}")
    return errors.OK if passed else errors.FAILURE
