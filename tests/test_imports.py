"""The layout's import directions, enforced: device core <- camera app <- workstation tools.

In the spirit of click's tests/test_imports.py: import the modules in a fresh interpreter and
look at ``sys.modules``. Rules:

* the device core (``edge`` outside ``edge.cam``) imports nothing from ``edge.cam``,
  ``devtools``, ``train``, ``convert``, and no TensorFlow/Keras (a Pi installs none of them);
* the camera app ``edge.cam`` imports nothing from ``devtools``, ``train``, ``convert``, and no
  TensorFlow;
* ``train`` and ``convert`` never import ``edge.cam`` or ``devtools``.

A forbidden import hidden inside a function would escape ``sys.modules`` until it runs, so the
source is also read for import statements naming a forbidden package. ``__main__`` modules are
entry points, not imported by anything: ``python -m edge`` runs ``digit-cam`` on purpose.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

TENSORFLOW = ("tensorflow", "keras", "tf_keras")
CORE_NEVER = ("edge.cam", "devtools", "train", "convert")  # packages the device core never imports
CAM_NEVER = ("devtools", "train", "convert")
STAGE_NEVER = ("edge.cam", "devtools")  # for train and convert

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
                          timeout=300)


def module_names(package: str) -> list[str]:
    """Every module of ``package`` (dotted names) except ``__main__`` entry points."""
    root = REPO_ROOT / package.replace(".", "/")
    names = []
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(REPO_ROOT).with_suffix("").parts
        if parts[-1] == "__main__":
            continue
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def core_modules() -> list[str]:
    return [name for name in module_names("edge") if not is_under(name, "edge.cam")]


def is_under(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def loaded_after_importing(modules: list[str], prelude: str = "") -> list[str]:
    """``sys.modules`` of a fresh interpreter after importing ``modules``."""
    code = prelude + textwrap.dedent(f"""
        import importlib, json, sys
        for name in {modules!r}:
            importlib.import_module(name)
        print(json.dumps(sorted(sys.modules)))
    """)
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


def forbidden_in(loaded: list[str], forbidden: tuple[str, ...]) -> list[str]:
    return [name for name in loaded if any(is_under(name, package) for package in forbidden)]


def imported_names(path: Path) -> set[str]:
    """Every module named by an ``import`` statement anywhere in ``path`` (functions included)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)  # from edge import cam
    return names


def source_of(module: str) -> Path:
    path = REPO_ROOT / module.replace(".", "/")
    return path / "__init__.py" if path.is_dir() else path.with_suffix(".py")


def test_the_device_core_imports_no_camera_app_tools_stages_or_tensorflow():
    modules = core_modules()
    assert {"edge", "edge.recognizer", "edge.clikit", "edge.errors"} <= set(modules)
    loaded = loaded_after_importing(modules, BLOCK_TENSORFLOW)
    assert forbidden_in(loaded, CORE_NEVER + TENSORFLOW) == []


def test_the_camera_app_imports_no_tools_stages_or_tensorflow():
    modules = module_names("edge.cam")
    assert {"edge.cam.cli", "edge.cam.live", "edge.cam.outputs", "edge.cam.server"} <= set(modules)
    loaded = loaded_after_importing(modules, BLOCK_TENSORFLOW)
    assert forbidden_in(loaded, CAM_NEVER + ("tensorflow",)) == []
    assert "edge.cam.display" in loaded  # the check saw the whole app


def test_train_and_convert_import_neither_the_camera_app_nor_the_tools():
    modules = module_names("train") + module_names("convert")
    loaded = loaded_after_importing(modules)
    assert "convert.pipeline" in loaded and "train.training" in loaded
    assert forbidden_in(loaded, STAGE_NEVER) == []


@pytest.mark.parametrize("package,forbidden", [
    ("edge", CORE_NEVER), ("edge.cam", CAM_NEVER), ("train", STAGE_NEVER), ("convert", STAGE_NEVER),
])
def test_no_function_level_import_crosses_a_boundary(package, forbidden):
    """The same rules for imports inside functions, which only run later (TensorFlow is left out:
    edge.interpreter may fall back to tensorflow.lite when it is the only runtime installed)."""
    modules = core_modules() if package == "edge" else module_names(package)
    crossings = {module: sorted(name for name in imported_names(source_of(module))
                                if any(is_under(name, banned) for banned in forbidden))
                 for module in modules}
    assert {module: names for module, names in crossings.items() if names} == {}


def test_the_rules_catch_a_crossing():
    """The checks can fail: the camera app does import the device core."""
    assert forbidden_in(["edge.cam.live", "edge.recognizer"], ("edge.cam",)) == ["edge.cam.live"]
    assert "edge.cam.sources" in imported_names(source_of("edge.cam.live"))
    assert not is_under("edge.camera", "edge.cam")


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
