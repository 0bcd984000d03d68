"""Arguments of ``digit-cam`` (and ``python -m edge``); the work is done by :mod:`edge.cam.live`.

The flags are made from the fields of :class:`edge.cam.options.Options`. They can also come
from a TOML file (``--config``, checked by :mod:`edge.cam.config`) whose keys are the long flag
names with underscores (``min_confidence = 0.7``); flags on the command line win.
``digit-cam selftest`` is :mod:`edge.cam.selftest`.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
from pathlib import Path

from edge import errors
from edge.cam.config import load_config
from edge.cam.live import Control, run
from edge.cam.options import TOKEN_ENV, Options, flag_of, option_fields
from edge.clikit import run_main
from edge.interpreter import BackendError

__all__ = ["TOKEN_ENV", "build_parser", "main", "options_from"]

PROG = "digit-cam"
# digit-cam (and its self-test) exit 3 when the model cannot run here, a missing TFLite runtime
# included: the install is incomplete. python -m convert counts a missing runtime as a failed job (1).
EXIT_CODES = {BackendError: errors.INPUT}


def add_option_flags(parser: argparse.ArgumentParser) -> None:
    """One flag per :class:`Options` field: ``--field-name``, its type, choices and help."""
    for spec in option_fields():
        flag = flag_of(spec)
        names = [flag.name or "--" + spec.name.replace("_", "-")] + ([flag.short] if flag.short else [])
        if isinstance(spec.default, bool):  # a switch: --x turns a False default on, --no-x a True one off
            parser.add_argument(*names, dest=spec.name, action="store_false" if spec.default else "store_true",
                                help=flag.help)
            continue
        default = os.environ.get(flag.env, spec.default) if flag.env else spec.default
        parser.add_argument(*names, dest=spec.name, default=default, type=flag.type, choices=flag.choices,
                            metavar=flag.metavar, help=flag.help)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Recognise handwritten digits live from a camera (or files) with the int8 TFLite "
                    "model, and report them as text or JSON. Run 'digit-cam --source demo' to see it "
                    "work without a camera; 'digit-cam selftest' checks a model on this device.",
        epilog="config file: TOML with the long flag names as keys (dashes or underscores), e.g. "
               "source = \"picamera\", serve = \"8080\", xnnpack = false; command-line flags win. "
               + errors.EPILOG,
    )
    parser.add_argument("--config", type=Path, metavar="FILE", help="TOML file of settings (keys mirror the flags)")
    add_option_flags(parser)
    return parser


def options_from(args: argparse.Namespace) -> Options:
    return Options(**{spec.name: getattr(args, spec.name) for spec in option_fields() if hasattr(args, spec.name)})


def parse_options(argv: list[str]) -> Options:
    """Flags over config file over defaults. Bad flags exit 2 through argparse; a bad config
    file raises :class:`edge.cam.config.ConfigError` (2) or ``ConfigNotFoundError`` (3)."""
    parser = build_parser()
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--config", type=Path)
    known, _ = pre.parse_known_args(argv)
    if known.config is not None:
        parser.set_defaults(**load_config(known.config))
    return options_from(parser.parse_args(argv))


@contextlib.contextmanager
def signals_to(control: Control):
    """SIGTERM stops (exit 0), SIGINT stops (exit 130), SIGHUP reloads the model, while inside."""

    def stop(signum, _frame):
        control.exit_code = errors.INTERRUPTED if signum == signal.SIGINT else errors.OK
        control.stop.set()

    def reload(_signum, _frame):
        control.reload.set()

    previous = {}
    wanted = {signal.SIGINT: stop, signal.SIGTERM: stop}
    if hasattr(signal, "SIGHUP"):
        wanted[signal.SIGHUP] = reload
    for signum, handler in wanted.items():
        with contextlib.suppress(ValueError):  # not the main thread (e.g. a test's worker thread)
            previous[signum] = signal.signal(signum, handler)
    try:
        yield control
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["selftest"]:
        from edge.cam import selftest

        return selftest.main(argv[1:])

    def body() -> int:
        options = parse_options(argv)
        with signals_to(Control()) as control:
            run(options, control)
        return control.exit_code

    return run_main(body, prog=PROG, exit_codes=EXIT_CODES)
