"""``python -m devtools.summary models/paper models/edge``: the model comparison table (Markdown).

Reads every ``model_<mode>.json`` sidecar in the given directories, so the README's table is
generated from what ``python -m convert`` measured, not typed by hand.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from edge.clikit import run_main
from edge.errors import InputError
from edge.metadata import ModelMetadata

MODE_ORDER = ("float", "float16", "dynamic", "int8")


def rows(directories: list[Path]) -> list[tuple[str, ModelMetadata]]:
    found = []
    for directory in directories:
        for mode in MODE_ORDER:
            sidecar = directory / f"model_{mode}.json"
            if sidecar.is_file():
                found.append((f"{directory.name} {mode}", ModelMetadata.read(sidecar)))
    return found


def markdown(entries: list[tuple[str, ModelMetadata]]) -> str:
    lines = ["| model | file size | test accuracy (TFLite) | float Keras | drop (pp) | agreement | "
             "parameters |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for name, meta in entries:
        parity = meta.parity
        lines.append(f"| {name} | {meta.tflite_bytes / 1024:,.1f} KB | {meta.accuracy:.2%} | "
                     f"{parity['float_accuracy']:.2%} | {parity['drop_pp']:+.2f} | "
                     f"{parity['agreement']:.2%} | {meta.source_model['params']:,} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.summary", description=__doc__.split("\n")[0])
    parser.add_argument("directories", nargs="+", type=Path, help="directories with model_*.json sidecars")
    args = parser.parse_args(argv)
    return run_main(lambda: summary(args.directories), prog=parser.prog)


def summary(directories: list[Path]) -> None:
    """Print the table; a bad sidecar or none at all is an input error (exit 3)."""
    entries = rows(directories)
    if not entries:
        raise InputError("no model_<mode>.json sidecars in those directories")
    print(markdown(entries))


if __name__ == "__main__":
    sys.exit(main())
