"""Small pieces the workstation tools share: the CPU's name for their reports, and the argparse
type of a ``--kind`` flag."""

from __future__ import annotations

import argparse
import platform
from pathlib import Path

from edge.scenes import resolve_kind


def cpu_name() -> str:
    """The CPU's model name (from /proc/cpuinfo on Linux), else what ``platform`` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def scene_kind(text: str) -> str:
    """argparse type of ``--kind``: a kind of edge.scenes.KINDS or ``all``, with close matches on a typo."""
    if text == "all":
        return text
    try:
        return resolve_kind(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
