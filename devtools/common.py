"""Small pieces the workstation tools share: where the repository and the real-image dev set are,
the CPU's name for their reports, the argparse type of a ``--kind`` flag, a percentage cell
with its change against a baseline, and a report written as JSON and Markdown side by side."""

from __future__ import annotations

import argparse
import json
import platform
from pathlib import Path

from edge.scenes import resolve_kind

REPO_ROOT = Path(__file__).resolve().parents[1]
DEV_SET = REPO_ROOT.parent / "shared" / "data" / "realdigits-dev"  # beside the repository, never in it


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


def percent_cell(value: float, base: float | None, decimals: int = 1, hide_zero: bool = False) -> str:
    """``value`` as a percentage and, when there is a ``base``, its change in points in brackets:
    "92.5% (-1.3)". ``hide_zero`` leaves out a change that rounds to zero."""
    text = f"{value:.{decimals}%}"
    if base is None:
        return text
    delta = (value - base) * 100
    if hide_zero and round(delta, decimals) == 0:
        return text
    return f"{text} ({delta:+.{decimals}f})"


def write_report(out: Path, name: str, data: dict, title: str, text: str) -> None:
    """``out/name.json`` (``data``, indented) and ``out/name.md`` (``# title`` and ``text``), the
    directory made if needed."""
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps(data, indent=2) + "\n")
    (out / f"{name}.md").write_text(f"# {title}\n\n{text}")
