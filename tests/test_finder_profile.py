"""``python -m devtools.finder_profile`` runs on a couple of tiny scenes: structure, never timings."""

from __future__ import annotations

import json
import subprocess
import types

import numpy as np
import pytest

from devtools import finder_profile
from edge import errors, preprocess


def test_profile_runs_on_two_tiny_scenes(capsys):
    code = finder_profile.main(["--scenes", "2", "--rounds", "2", "--digits", "2", "--width", "160",
                                "--height", "120", "--json"])
    assert code == errors.OK
    captured = capsys.readouterr()
    result = json.loads(captured.out)
    assert "round-1 finder" in captured.err  # loaded from git, or a message saying why not
    (plain,) = result["kinds"]
    assert plain["kind"] == "plain" and plain["frames"] == 2 and plain["current_ms"] > 0
    if result["against"] is not None:
        assert plain["against_ms"] > 0 and plain["ratio"] == pytest.approx(plain["current_ms"] / plain["against_ms"])
    steps = {row["step"]: row for row in plain["steps"]}
    assert {"background median", "components + filters", "crops: boxes"} <= set(steps)
    assert sum(row["share"] for row in plain["steps"]) == pytest.approx(1.0)
    assert preprocess.find_digits.__name__ == "find_digits" and not hasattr(preprocess.find_digits, "__wrapped__")


def test_profile_prints_a_table_for_another_kind(capsys):
    assert finder_profile.main(["--kind", "crop", "--scenes", "2", "--rounds", "1", "--no-round1"]) == errors.OK
    out = capsys.readouterr().out
    assert out.startswith("**crop**, 2 scenes") and "| step | calls/frame | ms/frame | share |" in out


def test_profile_help_and_bad_kind(capsys):
    with pytest.raises(SystemExit) as exit_info:
        finder_profile.main(["--help"])
    assert exit_info.value.code == 0 and "--kind" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exit_info:
        finder_profile.main(["--kind", "plian"])
    assert exit_info.value.code == errors.USAGE and "plain" in capsys.readouterr().err


def test_step_timer_counts_own_time_and_restores_the_module():
    module = types.SimpleNamespace()
    module.inner = lambda: sum(range(20000))
    module.outer = lambda: module.inner() + module.inner()
    original_inner, original_outer = module.inner, module.outer
    timer = finder_profile.StepTimer(module, {"outer": "outer step", "inner": "inner step", "gone": "never"})
    with timer.installed():
        module.outer()
    assert module.inner is original_inner and module.outer is original_outer
    assert timer.calls == {"outer step": 1, "inner step": 2}
    assert timer.ms["inner step"] > 0 and timer.ms["outer step"] >= 0


def test_round1_finder_missing_revision_is_a_message(tmp_path):
    module, message = finder_profile.load_finder("0" * 40, tmp_path)  # not a repository
    assert module is None and "not loaded" in message


def test_another_revision_is_timed_beside_the_current_finder(capsys):
    module, message = finder_profile.load_finder("HEAD")  # the committed finder: always loads where git history is
    if module is None:
        pytest.skip(message)
    code = finder_profile.main(["--against", "HEAD", "--kind", "crop", "--scenes", "2", "--rounds", "1"])
    captured = capsys.readouterr()
    assert code == errors.OK and "finder at HEAD loaded from git" in captured.err
    assert ", HEAD " in captured.out and "ratio" in captured.out


@pytest.mark.parametrize("revision", ["no-such-revision", "--output=/tmp/x"])
def test_a_revision_that_cannot_be_loaded_is_timed_without_it(capsys, revision):
    code = finder_profile.main([f"--against={revision}", "--kind", "crop", "--scenes", "1", "--rounds", "1", "--json"])
    captured = capsys.readouterr()
    assert code == errors.OK and f"finder at {revision} not loaded" in captured.err
    assert json.loads(captured.out)["against"] is None


def test_an_old_finder_that_fails_to_run_is_a_message(monkeypatch):
    def broken_source(*args, **kwargs):
        return subprocess.CompletedProcess(args, 0, stdout="from edge.gone import nothing\n", stderr="")

    monkeypatch.setattr(finder_profile.subprocess, "run", broken_source)
    module, message = finder_profile.load_finder("abc1234")
    assert module is None and "ModuleNotFoundError" in message and "abc1234" in message


def test_round1_finder_from_git_reads_a_scene():
    module, message = finder_profile.load_finder()
    if module is None:
        pytest.skip(message)
    frame = np.full((120, 160), 220, np.uint8)
    frame[30:90, 70:78] = 30  # a '1'
    found = module.find_digits(frame)
    assert len(found.boxes) == 1


def test_every_timed_step_exists_in_the_finder():
    """A renamed finder function must be renamed here too, or its time silently lands in 'glue'."""
    from devtools.finder_profile import STEPS
    from edge import preprocess

    assert [name for name in STEPS if not callable(getattr(preprocess, name, None))] == []
