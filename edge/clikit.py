"""argparse ``type=`` validators shared by ``python -m train``, ``python -m convert`` and ``digit-cam``.

Each turns a command-line (or config-file) string into a value or raises
``argparse.ArgumentTypeError`` with a message argparse prints as ``error: argument --x: …``.
"""

from __future__ import annotations

import argparse
import math


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
