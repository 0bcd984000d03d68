"""The Pi installs no TensorFlow: ``edge`` must import without it, and CLIs must start fast."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from tests.conftest import REPO_ROOT

BLOCK_TENSORFLOW = textwrap.dedent("""
    import importlib.abc, sys
    class Block(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in {"tensorflow", "keras", "tf_keras"}:
                raise ImportError(f"{name} is blocked: edge must not need it")
    sys.meta_path.insert(0, Block())
""")


def run_python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=120)


def test_every_edge_module_imports_with_tensorflow_blocked():
    code = BLOCK_TENSORFLOW + textwrap.dedent("""
        import importlib, pkgutil, edge
        names = [m.name for m in pkgutil.walk_packages(edge.__path__, "edge.")
                 if not m.name.endswith("__main__")]  # __main__ runs digit-cam
        for name in names:
            importlib.import_module(name)
        print(len(names), "modules")
    """)
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    assert "modules" in result.stdout


def test_train_cli_parses_without_importing_tensorflow():
    code = textwrap.dedent("""
        import sys
        import train.cli
        train.cli.build_parser().parse_args(["--arch", "paper"])
        heavy = sorted(m for m in ("tensorflow", "keras", "matplotlib") if m in sys.modules)
        print("heavy:", heavy)
    """)
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    assert "heavy: []" in result.stdout
