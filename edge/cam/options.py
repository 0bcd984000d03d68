"""``Options``: everything ``digit-cam`` can be told, each default and help text written once.

``Options(source="demo", frames=50)`` in code; :func:`edge.cam.cli.build_parser` makes the
command-line flags and :func:`edge.cam.config.load_config` checks a TOML file from the same
fields (their :class:`Flag` metadata), so a flag and its config key cannot drift apart.

Ink polarity has one vocabulary everywhere (flag, config, ``FindConfig``, the JSON output):
``auto``, ``dark`` (dark ink on paper) and ``bright`` (white digits on black). The first words of
``--invert``, ``yes`` (= bright) and ``no`` (= dark), are still accepted.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any

from edge.cam.sources import DEMO_FPS, FRAME_TIMEOUT_S
from edge.clikit import float_between, non_negative_float, non_negative_int, positive_int, probability
from edge.clikit import seed as seed_number
from edge.constants import MIN_CONFIDENCE
from edge.errors import UsageError
from edge.interpreter import BACKENDS
from edge.preprocess import POLARITIES, Box

TOKEN_ENV = "DIGIT_CAM_TOKEN"
FPS = float_between(0.01, 1000.0, zero_allowed=True)  # a frame every 100 s at the slowest
POLARITY_ALIASES = {"yes": "bright", "no": "dark"}  # --invert's first vocabulary, still accepted
EMIT_CHOICES = ("changes", "all")


class OptionsError(UsageError, ValueError):
    """An :class:`Options` value is not one of its choices."""


def polarity_word(text: str) -> str:
    """``--invert`` text -> one of :data:`edge.preprocess.POLARITIES` (old words mapped)."""
    return POLARITY_ALIASES.get(str(text), str(text))


def roi_box(text: str) -> Box:
    """``"100,80,400,200"`` -> (x, y, w, h) in pixels."""
    try:
        x, y, w, h = (int(part) for part in str(text).split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected X,Y,W,H in pixels, e.g. 100,80,400,200; got {text!r}") from None
    if w <= 0 or h <= 0 or x < 0 or y < 0:
        raise argparse.ArgumentTypeError(f"X and Y must be >= 0 and W, H > 0; got {text!r}")
    return x, y, w, h


def serve_address(text: str) -> str:
    """``[HOST:]PORT``, checked now so a typo fails before the model loads."""
    from edge.cam.server import parse_bind

    try:
        parse_bind(str(text))
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return str(text)


@dataclass(frozen=True)
class Flag:
    """How an :class:`Options` field appears as a flag (and a config key of the same name)."""

    help: str  # argparse help; %(default)g / %(default)s show the field's default
    type: Callable[[str], Any] | None = None  # text -> value, raising argparse.ArgumentTypeError
    choices: tuple[str, ...] | None = None
    metavar: str | None = None
    name: str | None = None  # the flag, when not --field-name (e.g. --no-xnnpack)
    short: str | None = None  # e.g. -v
    env: str | None = None  # the default comes from this environment variable when set
    accepts_list: bool = False  # a TOML list is joined with commas (--roi = [x, y, w, h])


def option(default: Any, help: str, **flag: Any) -> Any:
    """A dataclass field carrying its :class:`Flag`."""
    return field(default=default, metadata={"flag": Flag(help=help, **flag)})


def flag_of(spec) -> Flag:
    return spec.metadata["flag"]


@dataclass
class Options:
    """Everything ``digit-cam`` can be told; field names are the flags' (and config keys')."""

    source: str = option(
        "auto", "auto (default: Pi camera if present, else camera 0), picamera, demo (synthetic paper "
        "scenes), a camera index or /dev/videoN, a video file, an image file, or a folder of images",
        metavar="SRC")
    model: str | None = option(None, "int8 .tflite model with its .json sidecar beside it (default: the model "
                                     "bundled with digit-edge)", metavar="PATH")
    json: bool = option(False, "print one JSON object per reading (schema in the README) instead of text")
    emit: str = option(
        "changes", "changes (default): for live sources, a reading when it is stable and differs from the "
        "last one; all: every processed frame (with a 'stable' flag). Images: always one each",
        choices=EMIT_CHOICES)
    # 3 frames is 0.2 s at 15 fps: long enough to skip a hand moving the page, short enough to feel live.
    stable_frames: int = option(3, "frames a reading must stay the same before it is reported (default "
                                   "%(default)g)", type=positive_int, metavar="N")
    min_confidence: float = option(MIN_CONFIDENCE, "digits less confident than this are reported as '?' "
                                                   "(default %(default)g)", type=probability, metavar="P")
    max_fps: float = option(0.0, "process at most F frames per second, 0.01 to 1000 (default 0: as fast as "
                                 "they come; stale frames are always dropped)", type=FPS, metavar="F")
    roi: Box | None = option(None, "only look inside this rectangle of the frame", type=roi_box,
                             metavar="X,Y,W,H", accepts_list=True)
    invert: str = option(
        "auto", "ink polarity: auto (default), dark = dark ink on paper, bright = white digits on black "
        "(yes and no, the old words for bright and dark, are still accepted)",
        type=polarity_word, choices=POLARITIES)
    threads: int | None = option(None, "interpreter threads (default: runtime's choice)", type=positive_int,
                                 metavar="N")
    xnnpack: bool = option(True, "use the builtin kernels, not XNNPACK", name="--no-xnnpack")
    backend: str | None = option(None, f"TFLite runtime: {', '.join(BACKENDS)} (default: the first that is "
                                       "installed)", choices=BACKENDS, metavar="NAME")
    frames: int | None = option(None, "stop after N processed frames", type=positive_int, metavar="N")
    duration: float | None = option(None, "stop after S seconds", type=non_negative_float, metavar="S")
    display: bool = option(False, "show a window with boxes and digits (needs a desktop)")
    save: str | None = option(None, "write annotated images of the reported readings to DIR", metavar="DIR")
    serve: str | None = option(None, "serve the annotated MJPEG stream, a page, /reading and /healthz "
                                     "(default host 127.0.0.1)", type=serve_address, metavar="[HOST:]PORT")
    collect: str | None = option(None, "save each reported digit's 28x28 crop and a context patch to DIR and "
                                       "list them in DIR/collected.csv, to label and fine-tune on "
                                       "(docs/teach.md)", metavar="DIR")
    collect_below: float | None = option(None, "with --collect, keep only digits less confident than P "
                                               "(default: all)", type=probability, metavar="P")
    # 10,000 crops with their context patches are ~30 MB: small beside an SD card, plenty to label.
    collect_max: int = option(10_000, "with --collect, stop collecting when DIR holds N crops (default "
                                      "%(default)g)", type=positive_int, metavar="N")
    allow_remote: bool = option(False, "allow --serve on a non-loopback address (needs --token)")
    token: str | None = option(None, f"access token for --serve (default: ${TOKEN_ENV}); clients send "
                                     "'Authorization: Bearer TOKEN' or ?token=TOKEN", metavar="TOKEN",
                               env=TOKEN_ENV)
    # 5 retries with doubling waits (0.5 s ... 8 s) ride out a USB reset or a ribbon reseat (~15 s).
    retries: int = option(5, "reopen a lost camera up to N times, with backoff, before exiting with code 4 "
                             "(default %(default)g)", type=non_negative_int, metavar="N")
    frame_timeout: float = option(FRAME_TIMEOUT_S, "a live source that sends no frame for S seconds is lost, "
                                                   "0.1 to 3600 (default %(default)g)",
                                  type=float_between(0.1, 3600.0), metavar="S")
    lens_position: float | None = option(
        None, "Pi camera focus, fixed, in dioptres = 1 / distance in metres (4 = 25 cm, 0 = infinity); default: "
        "continuous autofocus on cameras that have it (Camera Module 3)", type=non_negative_float, metavar="D")
    # 100 ms: three times the video default's 33 ms exposure cap, still faster than the ~10 fps read.
    max_frame_ms: float = option(100.0, "longest Pi camera frame in ms, i.e. the exposure limit in dim light "
                                        "(default %(default)g; at least 33.3, the 30 fps frame)",
                                 type=non_negative_float, metavar="MS")
    demo_fps: float = option(DEMO_FPS, "frame rate of --source demo (default %(default)g), 0.01 to 1000 or 0 "
                                       "(unpaced)", type=FPS, metavar="F")
    seed: int = option(0, "seed of --source demo's scenes (default %(default)g)", type=seed_number)
    require_sidecar: bool = option(False, "refuse a model without its .json sidecar (whose sha256 is then "
                                          "always checked); the Pi service sets it")
    verbose: bool = option(False, "print start-up details (backend, delegate, threads, model sha256 and "
                                  "accuracy) and steady-state figures", short="-v")

    def __post_init__(self) -> None:
        self.invert = polarity_word(self.invert)
        for spec in fields(self):
            choices = flag_of(spec).choices
            value = getattr(self, spec.name)
            if choices is not None and value is not None and value not in choices:
                raise OptionsError(f"{spec.name} must be one of {', '.join(choices)}, got {value!r}")


def option_fields() -> tuple:
    """The dataclass fields of :class:`Options`, in flag order."""
    return fields(Options)
