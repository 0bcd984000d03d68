"""Arguments of ``digit-cam`` (and ``python -m edge``); the work is done by :mod:`edge.cam.live`.

Flags can also come from a TOML file (``--config``) whose keys are the long flag names with
underscores (``min_confidence = 0.7``); flags on the command line win. ``digit-cam selftest``
is :mod:`edge.cam.selftest`.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import os
import signal
import sys
import tomllib
from pathlib import Path

from edge import errors
from edge.cam.live import Control, Options, run
from edge.clikit import non_negative_float, non_negative_int, positive_int, probability
from edge.interpreter import BACKENDS

TOKEN_ENV = "DIGIT_CAM_TOKEN"


class ConfigError(Exception):
    """The config file is unreadable or has unknown keys or bad values."""


def _roi(text: str) -> tuple[int, int, int, int]:
    try:
        x, y, w, h = (int(part) for part in str(text).split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected X,Y,W,H in pixels, e.g. 100,80,400,200; got {text!r}") from None
    if w <= 0 or h <= 0 or x < 0 or y < 0:
        raise argparse.ArgumentTypeError(f"X and Y must be >= 0 and W, H > 0; got {text!r}")
    return x, y, w, h


def _serve(text: str) -> str:
    from edge.cam.server import parse_bind

    try:
        parse_bind(str(text))
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return str(text)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="digit-cam",
        description="Recognise handwritten digits live from a camera (or files) with the int8 TFLite "
                    "model, and report them as text or JSON. Run 'digit-cam --source demo' to see it "
                    "work without a camera; 'digit-cam selftest' checks a model on this device.",
        epilog="config file: TOML with the long flag names as keys (dashes or underscores), e.g. "
               "source = \"picamera\", serve = \"8080\", xnnpack = false; command-line flags win. "
               + errors.EPILOG,
    )
    add = parser.add_argument
    add("--config", type=Path, metavar="FILE", help="TOML file of settings (keys mirror the flags)")
    add("--source", default="auto", metavar="SRC",
        help="auto (default: Pi camera if present, else camera 0), picamera, demo (synthetic paper "
             "scenes), a camera index or /dev/videoN, a video file, an image file, or a folder of images")
    add("--model", metavar="PATH", help="int8 .tflite model with its .json sidecar beside it "
                                        "(default: the model bundled with digit-edge)")
    add("--json", action="store_true", help="print one JSON object per reading (schema in the README) "
                                           "instead of text")
    add("--emit", choices=("changes", "all"), default="changes",
        help="changes (default): for live sources, a reading when it is stable and differs from the "
             "last one; all: every processed frame (with a 'stable' flag). Images: always one each")
    add("--stable-frames", type=positive_int, default=3, metavar="N",
        help="frames a reading must stay the same before it is reported (default 3)")
    add("--min-confidence", type=probability, default=0.5, metavar="P",
        help="digits less confident than this are reported as '?' (default 0.5)")
    add("--max-fps", type=non_negative_float, default=0.0, metavar="F",
        help="process at most F frames per second (default 0: as fast as they come; stale frames "
             "are always dropped)")
    add("--roi", type=_roi, metavar="X,Y,W,H", help="only look inside this rectangle of the frame")
    add("--invert", choices=("auto", "yes", "no"), default="auto",
        help="ink polarity: auto (default), yes = white digits on black, no = dark ink on paper")
    add("--threads", type=positive_int, metavar="N", help="interpreter threads (default: runtime's choice)")
    add("--no-xnnpack", dest="xnnpack", action="store_false", help="use the builtin kernels, not XNNPACK")
    add("--backend", choices=BACKENDS, metavar="NAME",
        help=f"TFLite runtime: {', '.join(BACKENDS)} (default: the first that is installed)")
    add("--frames", type=positive_int, metavar="N", help="stop after N processed frames")
    add("--duration", type=non_negative_float, metavar="S", help="stop after S seconds")
    add("--display", action="store_true", help="show a window with boxes and digits (needs a desktop)")
    add("--save", metavar="DIR", help="write annotated images of the reported readings to DIR")
    add("--serve", type=_serve, metavar="[HOST:]PORT",
        help="serve the annotated MJPEG stream, a page, /reading and /healthz (default host 127.0.0.1)")
    add("--allow-remote", action="store_true", help="allow --serve on a non-loopback address (needs --token)")
    add("--token", metavar="TOKEN", default=os.environ.get(TOKEN_ENV),
        help=f"access token for --serve (default: ${TOKEN_ENV}); clients send 'Authorization: Bearer "
             "TOKEN' or ?token=TOKEN")
    add("--retries", type=non_negative_int, default=5, metavar="N",
        help="reopen a lost camera up to N times, with backoff, before exiting with code 4 (default 5)")
    add("--frame-timeout", type=non_negative_float, default=5.0, metavar="S",
        help="a live source that sends no frame for S seconds is lost (default 5)")
    add("--demo-fps", type=non_negative_float, default=15.0, metavar="F", help="frame rate of --source demo")
    add("--seed", type=int, default=0, help="seed of --source demo's scenes (default 0)")
    add("--verbose", "-v", action="store_true", help="print start-up details (backend, delegate, threads, "
                                                     "model sha256 and accuracy) and steady-state figures")
    return parser


def load_config(path: Path, parser: argparse.ArgumentParser) -> dict:
    """Read a TOML config and validate every key and value as if it were a flag."""
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"config file {path} not found") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"config file {path} cannot be read: {error}") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"config file {path} is not valid TOML: {error}") from None
    actions = {action.dest: action for action in parser._actions if action.dest not in ("help", "config")}
    values = {}
    for key, value in data.items():
        dest = key.replace("-", "_")
        if dest == "no_xnnpack":
            if not isinstance(value, bool):
                raise ConfigError(f"{path}: {key} must be true or false, got {value!r}")
            dest, value = "xnnpack", not value
        action = actions.get(dest)
        if action is None:
            close = difflib.get_close_matches(dest, actions, n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else f"; known keys: {', '.join(sorted(actions))}"
            raise ConfigError(f"{path}: unknown key {key!r}{hint}")
        if isinstance(action, argparse._StoreTrueAction | argparse._StoreFalseAction):
            if not isinstance(value, bool):
                raise ConfigError(f"{path}: {key} must be true or false, got {value!r}")
        else:
            if isinstance(value, dict | list) and dest != "roi":
                raise ConfigError(f"{path}: {key} must be a single value, got {value!r}")
            text = ",".join(map(str, value)) if isinstance(value, list) else str(value)
            try:
                value = action.type(text) if action.type else text
            except (argparse.ArgumentTypeError, ValueError) as error:
                raise ConfigError(f"{path}: {key} = {data[key]!r}: {error}") from None
            if action.choices is not None and value not in action.choices:
                raise ConfigError(f"{path}: {key} must be one of {', '.join(map(str, action.choices))}, "
                                  f"got {value!r}")
        values[dest] = value
    return values


def options_from(args: argparse.Namespace) -> Options:
    fields = Options.__dataclass_fields__
    return Options(**{name: getattr(args, name) for name in fields if hasattr(args, name)})


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["selftest"]:
        from edge.cam import selftest

        return selftest.main(argv[1:])
    parser = build_parser()
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--config", type=Path)
    known, _ = pre.parse_known_args(argv)
    if known.config is not None:
        try:
            parser.set_defaults(**load_config(known.config, parser))
        except ConfigError as error:
            print(f"digit-cam: error: {error}", file=sys.stderr)
            return errors.INPUT if "not found" in str(error) else errors.USAGE
    args = parser.parse_args(argv)
    options = options_from(args)

    control = Control()

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
        return run(options, control)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
