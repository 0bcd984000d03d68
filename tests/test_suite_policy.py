"""The two CI jobs' rule (tests/conftest.py): what is missing skips on a Pi, fails on a workstation."""

from __future__ import annotations

import pytest

from tests import conftest


def test_missing_skips_only_in_the_edge_only_run(monkeypatch):
    monkeypatch.setattr(conftest, "HAVE_TENSORFLOW", True)
    monkeypatch.delenv(conftest.EDGE_ONLY_ENV, raising=False)
    with pytest.raises(pytest.fail.Exception, match="MNIST files not found"):
        conftest.missing("MNIST files not found")  # the full job: a real failure
    monkeypatch.setenv(conftest.EDGE_ONLY_ENV, "1")
    with pytest.raises(pytest.skip.Exception, match="edge-only run: MNIST files not found"):
        conftest.missing("MNIST files not found")
    monkeypatch.delenv(conftest.EDGE_ONLY_ENV)
    monkeypatch.setattr(conftest, "HAVE_TENSORFLOW", False)  # a Pi that did not set the variable
    with pytest.raises(pytest.skip.Exception):
        conftest.missing("MNIST files not found")
