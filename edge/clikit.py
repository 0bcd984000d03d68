"""What every command line of digit-edge shares: ``return run_main(lambda: work(args), prog=...)``.

:func:`run_main` is the one place an error becomes a message and an exit code (``digit-cam``,
``digit-cam selftest``, ``python -m train``, ``python -m convert``, ``python -m devtools.*``).
The ``type=`` validators turn a command-line (or config-file) string into a value or raise
``argparse.ArgumentTypeError`` with a message argparse prints as ``error: argument --x: …``.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable, Mapping
from typing import TextIO

from edge import errors
from edge.errors import DigitEdgeError


def _number(text: str, kind):
    try:
        return kind(text)
    except ValueError:
        noun = "whole number" if kind is int else "number"
        raise argparse.ArgumentTypeError(f"{text!r} is not a {noun}") from None


def positive_int(text: str) -> int:
    value = _number(text, int)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def non_negative_int(text: str) -> int:
    value = _number(text, int)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def non_negative_float(text: str) -> float:
    value = _number(text, float)
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {text}")
    return value


def seed(text: str) -> int:
    """A random seed: 0 to 2**32 - 1, the range numpy and TensorFlow accept."""
    value = _number(text, int)
    if not 0 <= value < 2**32:
        raise argparse.ArgumentTypeError(f"must be from 0 to {2**32 - 1}, got {value}")
    return value


def at_least(minimum: int):
    """A validator for a whole number >= ``minimum``."""

    def whole(text: str) -> int:
        value = _number(text, int)
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value

    return whole


def positive_float(text: str) -> float:
    """A finite number > 0 (a learning rate, a scale)."""
    value = _number(text, float)
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text}")
    return value


def float_between(low: float, high: float, *, zero_allowed: bool = False):
    """A validator for a finite number in [``low``, ``high``] (and 0, meaning "off", when
    ``zero_allowed``). Time values are bounded because a wait of 1e300 s overflows the OS's
    clock types, and 1e-10 frames per second is a wait of three centuries."""

    def between(text: str) -> float:
        value = _number(text, float)
        if zero_allowed and value == 0:
            return 0.0
        if not math.isfinite(value) or not low <= value <= high:
            off = "0 (off) or " if zero_allowed else ""
            raise argparse.ArgumentTypeError(f"must be {off}from {low:g} to {high:g}, got {text}")
        return value

    return between


def probability(text: str) -> float:
    value = non_negative_float(text)
    if value > 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {text}")
    return value


def fraction_below(limit: float):
    """A validator for a fraction in [0, ``limit``)."""

    def fraction(text: str) -> float:
        value = _number(text, float)
        if not 0.0 <= value < limit:
            raise argparse.ArgumentTypeError(f"must be in [0, {limit}), got {value}")
        return value

    return fraction


def one_line(message: object) -> str:
    """``message`` as a single line: a supervisor's log keeps one line per error."""
    return "; ".join(line.strip() for line in str(message).splitlines() if line.strip())


def run_main(body: Callable[[], int | None], *, prog: str, interrupted: str = "interrupted",
             exit_codes: Mapping[type[DigitEdgeError], int] | None = None, err: TextIO | None = None) -> int:
    """Run a command's ``body`` and turn how it ended into an exit code.

    ``body`` returns an exit code (``None`` is success) or raises. A :class:`DigitEdgeError`
    becomes ``prog: error: <its message>`` on stderr and its ``exit_code``; ``exit_codes`` lets a
    command give a library error class another code (the first ``isinstance`` match wins).
    Ctrl-C becomes exit 130 and ``interrupted`` on its own line (say what was kept or lost).
    The code is chosen by the error's class only, never by its text. Anything else is a bug and
    keeps its traceback.
    """
    stream = err if err is not None else sys.stderr
    try:
        code = body()
    except DigitEdgeError as error:
        print(f"{prog}: error: {one_line(error)}", file=stream, flush=True)
        return exit_code_of(error, exit_codes)
    except KeyboardInterrupt:
        print(f"\n{interrupted}", file=stream, flush=True)
        return errors.INTERRUPTED
    return errors.OK if code is None else code


def exit_code_of(error: DigitEdgeError, exit_codes: Mapping[type[DigitEdgeError], int] | None = None) -> int:
    """The exit code for ``error``: a command's override for its class, else its own."""
    for kind, code in (exit_codes or {}).items():
        if isinstance(error, kind):
            return code
    return error.exit_code
