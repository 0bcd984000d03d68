"""pyproject's extras: each install gets exactly the TensorFlow it is meant to, never two."""

from __future__ import annotations

import tomllib

import pytest
from packaging.requirements import Requirement

from tests.conftest import REPO_ROOT

EXTRAS = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
LINUX_X86 = {"sys_platform": "linux", "platform_system": "Linux", "platform_machine": "x86_64"}
MAC_ARM = {"sys_platform": "darwin", "platform_system": "Darwin", "platform_machine": "arm64"}
PI = {"sys_platform": "linux", "platform_system": "Linux", "platform_machine": "aarch64"}


def installs(extras: list[str], environment: dict[str, str]) -> dict[str, set[str]]:
    """Distribution name -> its requested extras, following digit-edge[...] self-references."""
    found: dict[str, set[str]] = {}
    pending, seen = list(extras), set()
    while pending:
        extra = pending.pop()
        if extra in seen:
            continue
        seen.add(extra)
        for line in EXTRAS[extra]:
            requirement = Requirement(line)
            if requirement.marker and not requirement.marker.evaluate(environment):
                continue
            if requirement.name == "digit-edge":
                pending.extend(requirement.extras)
            else:
                found.setdefault(requirement.name, set()).update(requirement.extras)
    return found


def tensorflows(extras: list[str], environment: dict[str, str]) -> dict[str, set[str]]:
    return {name: more for name, more in installs(extras, environment).items() if name.startswith("tensorflow")}


@pytest.mark.parametrize("environment", [LINUX_X86, MAC_ARM, PI], ids=["linux-x86_64", "macos-arm64", "pi"])
def test_train_gpu_and_dev_each_install_exactly_one_tensorflow(environment):
    for extras in (["train"], ["gpu"], ["dev"], ["gpu", "test"]):
        assert len(tensorflows(extras, environment)) == 1, extras


def test_train_is_cpu_only_and_gpu_brings_cuda_on_linux_x86_64():
    assert tensorflows(["train"], LINUX_X86) == {"tensorflow-cpu": set()}
    assert tensorflows(["dev"], LINUX_X86) == {"tensorflow-cpu": set()}
    assert tensorflows(["gpu"], LINUX_X86) == {"tensorflow": {"and-cuda"}}
    assert tensorflows(["gpu"], MAC_ARM) == tensorflows(["train"], MAC_ARM) == {"tensorflow": set()}


def test_gpu_has_everything_train_has_but_the_tensorflow_build():
    without_tf = {name for name in installs(["train"], LINUX_X86) if not name.startswith("tensorflow")}
    assert without_tf == {name for name in installs(["gpu"], LINUX_X86) if not name.startswith("tensorflow")}
    assert {"matplotlib", "tqdm", "ai-edge-litert"} <= without_tf


def test_the_device_extra_never_has_tensorflow():
    for environment in (LINUX_X86, PI):
        assert tensorflows(["edge"], environment) == {}
        assert {"pytest", "ansible-core"}.isdisjoint(installs(["edge"], environment))
