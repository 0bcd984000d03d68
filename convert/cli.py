"""Arguments of ``python -m convert``; the work is done by :func:`convert.pipeline.run`.

Library code raises; :func:`edge.clikit.run_main` turns those errors into one message and an exit code.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from convert.pipeline import MODES
from edge import errors
from edge.clikit import at_least, non_negative_float, positive_int, run_main, seed
from edge.constants import NUM_CLASSES
from edge.interpreter import BACKENDS
from train.mnist import DATA_DIR_ENV


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m convert",
        description="Convert a trained Keras digit model to TFLite (full int8 by default), check it, "
                    "and prove on all 10,000 MNIST test images, through the same interpreter the Pi "
                    "uses, that it is as accurate as the float model. Writes model_<mode>.tflite, "
                    "its sidecar model_<mode>.json, parity_<mode>.json and changed_<mode>.png.",
        epilog="modes — int8: int8 weights, activations, input and output (what the Pi runs); "
               "float16: float16 weights; dynamic: int8 weights, float activations; float: float32. "
               + errors.EPILOG,
    )
    parser.add_argument("--model", type=Path, metavar="PATH",
                        help="Keras model to convert (default: the newest runs/*/model.keras)")
    parser.add_argument("--quantize", choices=MODES, default="int8", metavar="MODE",
                        help=f"quantisation mode, one of {', '.join(MODES)} (default: int8)")
    parser.add_argument("--calibration-samples", type=at_least(NUM_CLASSES), default=500, metavar="N",
                        help="representative images for int8 calibration, drawn from the training "
                             "set only, stratified by digit, seeded (at least one per digit; default: "
                             "500 = 50 per digit)")
    parser.add_argument("--seed", type=seed, default=0, help="seed of the calibration draw (default: 0)")
    parser.add_argument("--out", type=Path, metavar="DIR",
                        help="output directory (default: the source model's directory)")
    parser.add_argument("--max-drop", type=non_negative_float, default=0.1, metavar="PP",
                        help="largest accepted test-accuracy loss in percentage points; above it the "
                             "model is written as model_<mode>.rejected.tflite without a sidecar and "
                             "the exit code is 1 (default: 0.1)")
    parser.add_argument("--data-dir", metavar="DIR",
                        help=f"MNIST IDX directory (default: ${DATA_DIR_ENV}, else ../shared/data/mnist, "
                             "else the cache python -m train --download fills, ~/.cache/digit-edge/mnist)")
    parser.add_argument("--no-verify", dest="verify_data", action="store_false",
                        help="accept MNIST files whose md5 differs from the published one")
    parser.add_argument("--test-limit", type=positive_int, metavar="N",
                        help="check parity on the first N test images only (smoke tests; the "
                             "release proof uses all 10,000)")
    parser.add_argument("--backend", choices=BACKENDS, metavar="NAME",
                        help=f"TFLite runtime for the parity run, one of {', '.join(BACKENDS)} "
                             "(default: the first installed, as on the Pi)")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.out is not None and args.out.exists() and not args.out.is_dir():
        parser.error(f"argument --out: {args.out} exists and is not a directory")
    return run_main(lambda: convert(args), prog=parser.prog,
                    interrupted="interrupted: nothing was written for this mode")


def convert(args: argparse.Namespace) -> int:
    """Convert and check as ``args`` say and print the result; a model that loses more than
    ``--max-drop`` is a :class:`ConvertError` (exit 1) once its report is printed."""
    from convert.pipeline import ConvertConfig, ConvertError, run

    config = ConvertConfig(model=args.model, mode=args.quantize,
                           calibration_samples=args.calibration_samples, seed=args.seed,
                           out_dir=args.out, data_dir=args.data_dir, verify_data=args.verify_data,
                           max_drop_pp=args.max_drop, test_limit=args.test_limit, backend=args.backend)
    result = run(config)
    meta, parity = result.metadata, result.parity
    print(parity.table(args.quantize))
    print(f"{result.tflite_path}: {meta.tflite_bytes / 1024:.1f} KB, input {meta.input.dtype} "
          f"(scale {meta.input.scale:.6g}, zero point {meta.input.zero_point}), output "
          f"{meta.output.dtype}; parity checked with {meta.parity['images']:,} test images")
    if args.quantize == "int8":
        print("full-int8 check: every op computes in int8")
    if not result.passed:
        raise ConvertError(f"{args.quantize} loses {parity.drop_pp:.2f} pp of accuracy, more than "
                           f"--max-drop {args.max_drop} pp; the model was written as {result.tflite_path.name} "
                           "(no sidecar) for inspection only")
    print(f"OK: drop {parity.drop_pp:+.2f} pp (limit {args.max_drop}), agreement "
          f"{parity.agreement:.2%}; sidecar {result.tflite_path.with_suffix('.json')}")
    return errors.OK
