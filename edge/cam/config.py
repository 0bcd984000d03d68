"""``digit-cam --config FILE``: a TOML file of settings, checked field by field against :class:`Options`.

``load_config(Path("/etc/digit-edge/digit-cam.toml"))`` -> ``{"source": "picamera", ...}``, the
values already converted, ready for ``parser.set_defaults``. Keys are the long flag names with
dashes or underscores; ``no_xnnpack = true`` is accepted for ``xnnpack = false``. A wrong key is
answered with the closest valid ones.
"""

from __future__ import annotations

import argparse
import difflib
import tomllib
from pathlib import Path
from typing import Any

from edge.cam.options import flag_of, option_fields
from edge.errors import InputError, UsageError


class ConfigError(UsageError):
    """The config file is not valid TOML or has an unknown key or a bad value."""


class ConfigNotFoundError(InputError):
    """The config file does not exist."""


MAX_CONFIG_BYTES = 1 << 20  # a settings file is a few hundred bytes; /dev/zero is endless


def read_toml(path: Path) -> dict[str, Any]:
    """The TOML table in ``path``: a regular file of at most :data:`MAX_CONFIG_BYTES`."""
    if not path.exists():
        raise ConfigNotFoundError(f"config file {path} not found")
    if not path.is_file():
        raise ConfigError(f"config file {path} is not a regular file")
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_CONFIG_BYTES + 1)
        if len(raw) > MAX_CONFIG_BYTES:
            raise ConfigError(f"config file {path} is over {MAX_CONFIG_BYTES // 1024} KB: not a settings file")
        return tomllib.loads(raw.decode("utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"config file {path} cannot be read: {error}") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"config file {path} is not valid TOML: {error}") from None
    except RecursionError:
        raise ConfigError(f"config file {path} is nested too deeply") from None


def load_config(path: Path) -> dict[str, Any]:
    """Read a TOML config and validate every key and value as if it were a flag."""
    return check_config(read_toml(path), path)


def check_config(data: dict[str, Any], path: Path | str) -> dict[str, Any]:
    """``{key: TOML value}`` -> ``{Options field: value}``, or :class:`ConfigError` naming the key."""
    specs = {spec.name: spec for spec in option_fields()}
    values = {}
    for key, value in data.items():
        name = key.replace("-", "_")
        if name == "no_xnnpack":
            if not isinstance(value, bool):
                raise ConfigError(f"{path}: {key} must be true or false, got {value!r}")
            name, value = "xnnpack", not value
        spec = specs.get(name)
        if spec is None:
            close = difflib.get_close_matches(name, specs, n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else f"; known keys: {', '.join(sorted(specs))}"
            raise ConfigError(f"{path}: unknown key {key!r}{hint}")
        values[name] = _value(spec, key, value, path)
    return values


def _value(spec, key: str, value: Any, path: Path | str) -> Any:
    """One config value converted and checked exactly as its flag's text would be."""
    flag = flag_of(spec)
    if isinstance(spec.default, bool):
        if not isinstance(value, bool):
            raise ConfigError(f"{path}: {key} must be true or false, got {value!r}")
        return value
    if isinstance(value, dict) or (isinstance(value, list) and not flag.accepts_list):
        raise ConfigError(f"{path}: {key} must be a single value, got {value!r}")
    text = ",".join(map(str, value)) if isinstance(value, list) else str(value)
    try:
        converted = flag.type(text) if flag.type else text
    except (argparse.ArgumentTypeError, ValueError) as error:
        raise ConfigError(f"{path}: {key} = {value!r}: {error}") from None
    if flag.choices is not None and converted not in flag.choices:
        raise ConfigError(f"{path}: {key} must be one of {', '.join(map(str, flag.choices))}, got {converted!r}")
    return converted
