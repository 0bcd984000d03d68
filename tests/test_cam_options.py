"""``digit-cam``'s options: one dataclass, from which the flags and the config checker are made."""

from __future__ import annotations

import argparse
import inspect
from dataclasses import fields

import pytest

from edge.cam.cli import build_parser, main, options_from
from edge.cam.config import ConfigError, ConfigNotFoundError, check_config, load_config
from edge.cam.options import Options, OptionsError, polarity_word
from edge.cam.sources import DEMO_FPS, FRAME_TIMEOUT_S
from edge.constants import MIN_CONFIDENCE
from edge.errors import INPUT, USAGE
from edge.preprocess import POLARITIES
from edge.recognizer import Recognizer


def test_every_default_comes_from_the_dataclass():
    parsed = options_from(build_parser().parse_args([]))
    assert parsed == Options()
    assert (Options().min_confidence, Options().demo_fps, Options().frame_timeout) == (
        MIN_CONFIDENCE, DEMO_FPS, FRAME_TIMEOUT_S)
    assert inspect.signature(Recognizer.__init__).parameters["min_confidence"].default == MIN_CONFIDENCE


def test_every_field_is_a_flag_and_a_config_key():
    parser = build_parser()
    help_text = parser.format_help()
    for spec in fields(Options):
        flag = "--no-xnnpack" if spec.name == "xnnpack" else "--" + spec.name.replace("_", "-")
        assert flag in help_text, flag
    values = check_config({"source": "demo", "min-confidence": 0.7, "roi": [1, 2, 3, 4], "no_xnnpack": True,
                           "verbose": True}, "c.toml")
    assert values == {"source": "demo", "min_confidence": 0.7, "roi": (1, 2, 3, 4), "xnnpack": False,
                      "verbose": True}


def test_help_shows_the_defaults_from_the_dataclass(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert f"(default {MIN_CONFIDENCE:g})" in text and f"frame rate of --source demo (default {DEMO_FPS:g})" in text


@pytest.mark.parametrize("word,polarity", [
    ("auto", "auto"), ("dark", "dark"), ("bright", "bright"), ("yes", "bright"), ("no", "dark"),
])
def test_one_polarity_vocabulary_with_the_old_words_as_aliases(word, polarity):
    assert options_from(build_parser().parse_args(["--invert", word])).invert == polarity
    assert check_config({"invert": word}, "c.toml") == {"invert": polarity}
    assert Options(invert=word).invert == polarity
    assert polarity in POLARITIES


def test_an_unknown_polarity_is_refused_everywhere(capsys):
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(["--invert", "maybe"])
    err = capsys.readouterr().err
    assert exit_info.value.code == USAGE and "invalid choice: 'maybe'" in err and "'bright'" in err
    with pytest.raises(ConfigError, match="invert must be one of auto, dark, bright"):
        check_config({"invert": "maybe"}, "c.toml")
    with pytest.raises(OptionsError, match="invert must be one of"):
        Options(invert="maybe")
    assert polarity_word("maybe") == "maybe"  # left for the choices check to refuse


def test_config_errors_are_usage_and_a_missing_file_is_input(tmp_path):
    with pytest.raises(ConfigNotFoundError) as missing:
        load_config(tmp_path / "none.toml")
    assert missing.value.exit_code == INPUT
    bad = tmp_path / "bad.toml"
    bad.write_text("frames = [1]\n")
    with pytest.raises(ConfigError, match="frames must be a single value") as wrong:
        load_config(bad)
    assert wrong.value.exit_code == USAGE


def test_the_token_default_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("DIGIT_CAM_TOKEN", "from-the-environment-123")
    assert build_parser().parse_args([]).token == "from-the-environment-123"
    assert isinstance(build_parser(), argparse.ArgumentParser)
