"""``python -m devtools.ablation``: which step of the recogniser earns its place, leave-one-out.

For the full finder, for the finder with each optional step of :data:`edge.preprocess.FINDER_STEPS`
switched off in turn, for the recogniser with one width limit for every digit instead of one per
class (:data:`CLASS_WIDTHS`) -- and, with ``--classifier NAME=MODEL``, for the full finder with
another classifier (e.g. one trained without some augmentation) -- it reads the real-image dev set
(exact accuracy per kind, digit accuracy overall; its photos again on a dark desk and turned 8°)
and seeded synthetic scenes of every kind (digit /
whole-string accuracy), and writes ``docs/ablation.json`` and the Markdown tables of
``docs/ablation.md``. A row's change against the first row is what that step is worth. Takes about
six minutes on 2 cores with three other classifiers.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from devtools import robustness
from devtools.common import DEV_SET, REPO_ROOT, percent_cell
from devtools.evaluate import DEFAULT_SEED, score_scene
from devtools.realeval import evaluate_images, summarize
from edge.clikit import positive_int, run_main
from edge.constants import NUM_CLASSES
from edge.errors import InputError
from edge.preprocess import FINDER_STEPS, FindConfig
from edge.recognizer import Recognizer
from edge.scenes import KINDS, load_digit_pool, render_scene

FULL = "(nothing: the full finder)"
# The recogniser's width prior (edge.recognizer.DIGIT_ASPECT_LIMITS) measured against the flat
# limit it replaced: one width, 1.5 x the height, for every digit.
CLASS_WIDTHS = "class-widths"
ONE_WIDTH = (1.5,) * NUM_CLASSES


DESK = "on a dark desk"  # the robustness change that shows what page-edges is for
TURNED = "turned 8° right"  # ... and the one that shows what level-lines is for
# The dev photos once more after each of these changes (devtools.robustness): row key -> change.
PHOTO_CHANGES = {"desk_photo": DESK, "turned_photo": TURNED}
CHANGE_NAMES = {"desk_photo": "photos on a desk", "turned_photo": "photos turned 8°"}


def measure_real(recognizer: Recognizer, images: Path) -> dict:
    """The dev set per kind (exact) and overall (exact, digits), with ``recognizer`` as configured,
    and its photos' exact accuracy once more after each of :data:`PHOTO_CHANGES`
    (:data:`devtools.robustness.PERTURBATIONS`): the dev photos are mostly framed on the page, and
    mostly level."""
    summary = summarize(evaluate_images(recognizer, images))
    row = {f"real_{kind}": values["exact_accuracy"] for kind, values in summary["kinds"].items()}
    row["real_all"] = summary["overall"]["exact_accuracy"]
    row["real_digits"] = summary["overall"]["digit_accuracy"]
    changed = robustness.measure(recognizer, images, list(PHOTO_CHANGES.values()), kinds=("photo",))
    for key, change in PHOTO_CHANGES.items():
        if "photo" in changed[change]:
            row[key] = changed[change]["photo"]
    return row


Run = tuple[str, Recognizer, FindConfig]


def measure_scenes(runs: list[Run], scenes: int, seed: int, kinds: tuple[str, ...]) -> list[dict]:
    """Digit and whole-string accuracy per kind for every run. Each scene is rendered once and read
    by every run in turn (rendering costs more than reading, and this way every row sees exactly
    the same scenes: the ones ``python -m devtools.evaluate --seed SEED`` renders)."""
    pool = load_digit_pool()
    rows: list[dict] = [{} for _ in runs]
    for kind in kinds:
        rng = np.random.default_rng(seed)
        totals = [[0, 0, 0] for _ in runs]  # digits, digits read right, strings read right
        for _ in range(scenes):
            scene = render_scene(rng, pool, kind=kind)
            for total, (_, reader, config) in zip(totals, runs, strict=True):
                reader.find_config = config
                score = score_scene(scene, reader.read(scene.image))
                total[0] += score.digits
                total[1] += score.digits_correct
                total[2] += score.string_correct
        for row, (digits, correct, strings) in zip(rows, totals, strict=True):
            row[f"{kind}_digits"] = correct / max(1, digits)
            row[f"{kind}_strings"] = strings / max(1, scenes)
    for row in rows:
        if kinds:
            row["synthetic_strings_mean"] = sum(row[f"{kind}_strings"] for kind in kinds) / len(kinds)
    return rows


def ablate(recognizer: Recognizer, images: Path, scenes: int, seed: int, progress=print,
           classifiers: dict[str, Recognizer] | None = None, kinds: tuple[str, ...] = KINDS) -> list[dict]:
    """Rows for the full finder, then one per step switched off, then the recogniser with one
    width limit for all digits (:data:`CLASS_WIDTHS`), then one per other classifier (named
    ``classifier: NAME``) behind the full finder."""
    base = recognizer.find_config
    one_width = copy.copy(recognizer)  # the same classifier and settings, but one width for all digits
    one_width.width_limits = ONE_WIDTH
    runs: list[Run] = [(FULL, recognizer, base)]
    runs += [(step, recognizer, replace(base, steps=base.steps - {step})) for step in FINDER_STEPS]
    runs.append((CLASS_WIDTHS, one_width, base))
    runs += [(f"classifier: {name}", other, base) for name, other in (classifiers or {}).items()]
    started = time.perf_counter()
    real = []
    for _, reader, config in runs:
        reader.find_config = config
        real.append(measure_real(reader, images))
    progress(f"real images: {len(runs)} rows in {time.perf_counter() - started:.0f} s")
    synthetic = measure_scenes(runs, scenes, seed, kinds)
    recognizer.find_config = base
    rows = [{"without": name, **real_row, **synthetic_row}
            for (name, _, _), real_row, synthetic_row in zip(runs, real, synthetic, strict=True)]
    for row in rows:
        progress(f"{row['without']}: real {row['real_all']:.1%}, synthetic strings mean "
                 f"{row.get('synthetic_strings_mean', 0.0):.1%}")
    progress(f"done in {time.perf_counter() - started:.0f} s")
    return rows


CARRIED_MARK = "†"
ROW_LABELS = ("without", "carried", "baseline")  # a row's keys that hold no measurement


def carried_rows(path: Path) -> tuple[list[dict], list[str]]:
    """The ``classifier:`` rows of an earlier ``ablation.json`` and the ``--classifier`` flags
    that made them: rows whose models are no longer at hand, kept as they were measured (with
    that run's finder), marked ``carried`` and given that run's full row as their ``baseline``."""
    try:
        earlier = json.loads(path.read_text())
        full = next((row for row in earlier["rows"] if row["without"] == FULL), None)
        if full is None:
            raise ValueError(f"it has no {FULL!r} row")
        baseline = {key: value for key, value in full.items() if key not in ROW_LABELS}
        rows = [{**row, "carried": True, "baseline": row.get("baseline", baseline)}
                for row in earlier["rows"] if row["without"].startswith("classifier: ")]
        lists = [earlier.get("carried_classifiers", []), earlier.get("classifiers", [])]
        if not all(isinstance(flags, list) and all(isinstance(flag, str) for flag in flags) for flags in lists):
            raise ValueError("its classifiers are not a list of NAME=MODEL strings")
        flags = [*lists[0], *lists[1]]
        for row in rows:
            for values in (row, row["baseline"]):
                if not all(isinstance(v, int | float) and not isinstance(v, bool) for k, v in values.items()
                           if k not in ROW_LABELS):
                    raise ValueError(f"row {row['without']!r} holds a value that is no number")
        return rows, flags
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise InputError(f"--carry {path}: not an ablation.json this tool wrote ({error})") from error


def _name(row: dict, full: dict) -> str:
    if row is full:
        return row["without"]
    return f"`{row['without']}`" + (f" {CARRIED_MARK}" if row.get("carried") else "")


def _table(rows: list[dict], columns: list[str], header: list[str], *, decimals: int = 1,
           hide_zero: bool = False, align: str = "---") -> str:
    """A Markdown table, one row per ablation row, each cell against the first (full) row."""
    lines = ["| " + " | ".join(header) + " |", "|" + f" {align} |" * len(header)]
    full = rows[0]
    for row in rows:
        cells = [_name(row, full)]
        against = row.get("baseline", full)  # a carried row against the full row of its own run
        cells += [percent_cell(row[column], None if row is full else against[column], decimals, hide_zero)
                  for column in columns]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def summary_table(rows: list[dict]) -> str:
    """The README's short table: real dev set exact per kind and overall, and the mean of the
    synthetic kinds' whole-string accuracy, two decimals (the README quotes generated numbers)."""
    real = sorted(k for k in rows[0] if k.startswith("real_") and k not in ("real_all", "real_digits"))
    changed = [key for key in PHOTO_CHANGES if key in rows[0]]
    header = ["without", *(f"real {k.removeprefix('real_')}" for k in real), "real, all",
              *(CHANGE_NAMES[key] for key in changed), "synthetic, mean"]
    return _table(rows, [*real, "real_all", *changed, "synthetic_strings_mean"], header, decimals=2,
                  hide_zero=True, align="---:")


def markdown(rows: list[dict], scenes: int, seed: int, model: str) -> str:
    """docs/ablation.md: one table for the real dev set, one for synthetic whole strings, one for
    synthetic digits."""
    real = [*sorted(k for k in rows[0] if k.startswith("real_") and k not in ("real_all", "real_digits")),
            "real_all", "real_digits", *(key for key in PHOTO_CHANGES if key in rows[0])]
    kinds = [k.removesuffix("_strings") for k in rows[0] if k.endswith("_strings") and k != "synthetic_strings_mean"]
    names = {"real_all": "all, exact", "real_digits": "all, digits",
             **{key: f"{name}, exact" for key, name in CHANGE_NAMES.items()},
             **{k: k.removeprefix("real_") + ", exact" for k in real if k.startswith("real_")}}
    return (f"Generated by `python -m devtools.ablation` with {model}: the real-image dev set and "
            f"{scenes} synthetic scenes of each kind (seed {seed}). Each row switches one step off "
            "(or swaps the classifier; `class-widths`: one width limit for every digit instead of one per "
            "class); in brackets, percentage points against the first row: a "
            "negative number is what the step earns.\n\n"
            f"## Real dev set (exact strings per kind; digits overall; photos again {DESK}, and {TURNED})\n\n"
            + _table(rows, real, ["without", *(names[c] for c in real)])
            + "\n## Synthetic scenes: whole strings read exactly\n\n"
            + _table(rows, [f"{k}_strings" for k in kinds], ["without", *kinds])
            + "\n## Synthetic scenes: digits read\n\n"
            + _table(rows, [f"{k}_digits" for k in kinds], ["without", *kinds])
            + "\n## Summary (quoted in the README)\n\n" + summary_table(rows) + _carried_note(rows))


def _carried_note(rows: list[dict]) -> str:
    if not any(row.get("carried") for row in rows):
        return ""
    return (f"\n{CARRIED_MARK} Carried from an earlier run (`--carry`): measured with that run's finder, "
            "in brackets against that run's full row; the models are no longer at hand to measure again.\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.ablation", description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="TFLite model (default: the bundled int8 release model)")
    parser.add_argument("--images", type=Path, default=DEV_SET,
                        help="labelled real images (labels.csv: file,text,kind); default ../shared/data/realdigits-dev")
    parser.add_argument("--scenes", type=positive_int, default=200,
                        help="synthetic scenes per kind (default 200)")
    parser.add_argument("--kind", action="append", choices=KINDS, metavar="KIND",
                        help=f"synthetic kinds to render, repeatable (default: all of {', '.join(KINDS)})")
    parser.add_argument("--classifier", action="append", default=[], metavar="NAME=MODEL",
                        help="also measure the full finder with another TFLite classifier (e.g. one "
                             "trained without finder crops); repeatable")
    parser.add_argument("--carry", type=Path, metavar="ABLATION_JSON",
                        help="keep the 'classifier:' rows of an earlier ablation.json whose models are not "
                             "at hand (marked as carried, measured with that run's finder)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"scene seed (default {DEFAULT_SEED})")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "docs",
                        help="where ablation.json and ablation.md go (default docs/)")
    args = parser.parse_args(argv)

    def body() -> int:
        carried, carried_flags = carried_rows(args.carry) if args.carry else ([], [])  # before the long run
        recognizer = Recognizer.from_path(args.model, find_config=FindConfig())
        classifiers = {}
        for item in args.classifier:
            name, sep, path = item.partition("=")
            if not sep or not name or not path:
                parser.error(f"--classifier wants NAME=MODEL, got {item!r}")
            classifiers[name] = Recognizer.from_path(path, find_config=FindConfig())
        rows = ablate(recognizer, args.images, args.scenes, args.seed,
                      progress=lambda line: print(line, file=sys.stderr), classifiers=classifiers,
                      kinds=tuple(args.kind or KINDS))
        names = {row["without"] for row in rows}
        for row in carried:  # checked before anything is written
            if row["without"] in names:
                raise InputError(f"--carry {args.carry}: {row['without']!r} is measured in this run too")
            names.add(row["without"])
            missing = sorted((rows[0].keys() - row.keys()) | (rows[0].keys() - {"without"} - row["baseline"].keys()))
            if missing:
                raise InputError(f"--carry {args.carry}: row {row['without']!r} or its run's full row lacks "
                                 f"{', '.join(missing)} (measured over other kinds?)")
        rows += carried
        model = args.model or "the release model"
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "ablation.json").write_text(json.dumps(
            {"model": model, "scenes": args.scenes, "seed": args.seed, "classifiers": args.classifier,
             "carried_classifiers": carried_flags, "rows": rows}, indent=2) + "\n")
        text = markdown(rows, args.scenes, args.seed, model)
        (args.out / "ablation.md").write_text("# Ablation: what each step earns\n\n" + text)
        print(text)
        return 0

    return run_main(body, prog="python -m devtools.ablation")


if __name__ == "__main__":
    sys.exit(main())
