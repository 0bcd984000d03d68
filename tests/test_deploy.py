"""deploy/: the Pi installer, the systemd unit, the Ansible role and their config, checked here.

    python -m pytest tests/test_deploy.py

Static checks (shellcheck, ``bash -n``, ``systemd-analyze verify`` and ``security``,
``ansible-playbook --syntax-check``, ``ansible-lint``), ``install.sh --dry-run`` on a pretend
bookworm/arm64, and the model roll-out of the Ansible role run for real against localhost: real
``digit-cam`` processes serve the demo source, the role switches their ``current`` symlink, and
bad models must leave them on the old one. A missing tool fails its test with the install command;
the arm64 rehearsal (``deploy/rehearse-arm64.sh``) is run by hand.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import tomllib
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import missing

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
ANSIBLE = DEPLOY / "ansible"
SCRIPTS = sorted(DEPLOY.glob("*.sh"))
UNIT = DEPLOY / "systemd" / "digit-cam.service"
CONFIG = DEPLOY / "config" / "digit-cam.toml"
MODEL = ROOT / "models" / "edge" / "model_int8.tflite"

INSTALL_HINTS = {
    "shellcheck": "apt-get install shellcheck",
    "systemd-analyze": "apt-get install systemd",
    "ansible-playbook": "pip install ansible-core",
    "ansible-lint": "pip install ansible-lint",
}


def tool(name: str) -> str:
    """Path of a command-line tool: beside this Python (a venv's bin) first, then $PATH."""
    beside = Path(sys.executable).parent / name
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which(name)
    if found is None:
        missing(f"{name} is not installed; these checks need it: {INSTALL_HINTS[name]}")
    return found


def run(args: list[str], **kwargs) -> subprocess.CompletedProcess:
    kwargs.setdefault("timeout", 300)
    return subprocess.run(args, capture_output=True, text=True, **kwargs)


# --- shell scripts ---------------------------------------------------------------------------

def test_the_deploy_scripts_exist():
    assert {p.name for p in SCRIPTS} >= {"install.sh", "wheelhouse.sh", "rehearse-arm64.sh"}


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_shellcheck_is_clean(script):
    result = run([tool("shellcheck"), "--severity=style", str(script)])
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_scripts_parse_are_strict_and_executable(script):
    assert run(["bash", "-n", str(script)]).returncode == 0
    assert "set -euo pipefail" in script.read_text()
    assert os.access(script, os.X_OK), f"chmod +x {script}"


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_scripts_answer_help_and_refuse_unknown_flags(script):
    assert run([str(script), "--help"]).returncode == 0
    result = run([str(script), "--no-such-flag"])
    assert result.returncode == 2
    assert "--no-such-flag" in result.stderr


def fake_os(tmp_path: Path, codename: str) -> Path:
    release = tmp_path / f"os-release-{codename}"
    release.write_text(f'PRETTY_NAME="Debian GNU/Linux ({codename})"\nID=debian\nVERSION_CODENAME={codename}\n')
    return release


def install_sh(tmp_path: Path, *args: str, codename: str = "bookworm", arch: str = "arm64"):
    env = dict(os.environ, DIGIT_EDGE_OS_RELEASE=str(fake_os(tmp_path, codename)), DIGIT_EDGE_DPKG_ARCH=arch)
    return run([str(DEPLOY / "install.sh"), *args], env=env)


def test_install_dry_run_plans_an_edge_only_venv_with_system_site_packages(tmp_path):
    result = install_sh(tmp_path, "--dry-run")
    assert result.returncode == 0, result.stderr
    plan = result.stderr
    assert "-m venv --system-site-packages /opt/digit-edge/venv" in plan
    pip_line = next(line for line in plan.splitlines() if "-m pip install" in line)
    assert "[edge]" in pip_line and "--constraint /opt/digit-edge/constraints.txt" in pip_line
    assert "tensorflow" not in pip_line.lower()
    assert "install -m 0644 " + str(DEPLOY / "systemd" / "digit-cam.service") in plan
    assert "/var/lib/digit-edge/models/current" in plan


def wheelhouse(tmp_path: Path, *, tampered: bool = False) -> Path:
    """A wheelhouse as wheelhouse.sh leaves it: wheels and their SHA256SUMS."""
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    wheel = wheels / "digit_edge-0.1.0.post7+gabc-py3-none-any.whl"
    wheel.write_bytes(b"a wheel")
    (wheels / "SHA256SUMS").write_text(f"{sha256(wheel)}  {wheel.name}\n")
    if tampered:
        wheel.write_bytes(b"another wheel")
    return wheels


def test_install_dry_run_offline_uses_only_the_wheelhouse_and_checks_its_sums(tmp_path):
    wheels = wheelhouse(tmp_path)
    result = install_sh(tmp_path, "--dry-run", "--wheels", str(wheels))
    assert result.returncode == 0, result.stderr
    pip_lines = [line for line in result.stderr.splitlines() if "-m pip install" in line]
    assert f"--no-index --find-links {wheels}" in pip_lines[0]
    wheel = next(wheels.glob("*.whl"))
    assert pip_lines[0].endswith(f"{wheel}[edge]")  # the file, never "digit-edge" by name
    assert "--no-deps --force-reinstall" in pip_lines[1] and pip_lines[1].endswith(str(wheel))


def test_install_refuses_a_wheelhouse_that_does_not_match_its_sums(tmp_path):
    result = install_sh(tmp_path, "--dry-run", "--wheels", str(wheelhouse(tmp_path, tampered=True)))
    assert result.returncode == 3 and "SHA256SUMS" in result.stderr


def test_install_outside_a_checkout_needs_a_wheelhouse(tmp_path):
    deploy = tmp_path / "copy" / "deploy"
    shutil.copytree(DEPLOY, deploy)
    env = dict(os.environ, DIGIT_EDGE_OS_RELEASE=str(fake_os(tmp_path, "bookworm")), DIGIT_EDGE_DPKG_ARCH="arm64")
    result = run([str(deploy / "install.sh"), "--dry-run"], env=env)
    assert result.returncode == 2 and "--wheels" in result.stderr
    assert "digit-edge[edge]" not in result.stderr


def checkout_copy(target: Path) -> Path:
    """This checkout's files (as git sees them) in a fresh one-commit git repository."""
    listed = run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT).stdout
    for name in filter(None, listed.split("\0")):
        if (ROOT / name).is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, target / name)
    commit(target, "init")
    return target


def commit(repo: Path, message: str) -> None:
    env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.com", GIT_COMMITTER_NAME="t",
               GIT_COMMITTER_EMAIL="t@example.com")
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", message]):
        assert run(["git", *args], cwd=repo, env=env).returncode == 0


def test_install_from_a_checkout_twice_replaces_the_code_and_leaves_the_checkout_clean(tmp_path):
    """A real install.sh run into a scratch root (test hooks: another root and Python, apt taken as
    present, systemd left alone); the venv sees this test venv's numpy/OpenCV/TFLite through a .pth
    file, so pip needs no index."""
    import sysconfig

    # With no package index (below), build-wheel.sh can only use this Python's own build backend.
    if run([sys.executable, "-c", "import setuptools, wheel"]).returncode != 0:
        missing("setuptools and wheel build the wheel offline: pip install setuptools wheel")
    checkout = checkout_copy(tmp_path / "checkout")
    root = tmp_path / "root"
    venv = root / "opt/digit-edge/venv"
    assert run([sys.executable, "-m", "venv", "--without-pip", str(venv)]).returncode == 0
    # The dependencies, through a .pth file: this venv's packages except TensorFlow (install.sh
    # rightly refuses a venv where it is importable) and the editable digit-edge.
    deps = tmp_path / "deps"
    deps.mkdir()
    for entry in Path(sysconfig.get_paths()["purelib"]).iterdir():
        if not entry.name.startswith(("tensorflow", "__editable__", "digit_edge")) and entry.suffix != ".pth":
            (deps / entry.name).symlink_to(entry)
    site = next(venv.glob("lib/python3*/site-packages"))
    (site / "deps.pth").write_text(f"{deps}\n")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(DIGIT_EDGE_OS_RELEASE=str(fake_os(tmp_path, "trixie")), DIGIT_EDGE_DPKG_ARCH="arm64",
               DIGIT_EDGE_ROOT=str(root), DIGIT_EDGE_PYTHON=sys.executable, PIP_NO_INDEX="1")

    def install() -> str:
        result = run([str(checkout / "deploy/install.sh"), "--no-selftest"], env=env, timeout=600)
        assert result.returncode == 0, result.stderr
        return result.stderr

    def installed(code: str) -> str:
        result = run([str(venv / "bin/python"), "-c", code], env=env, cwd=tmp_path)  # not this checkout
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    log = install()
    link = root / "usr/local/bin/digit-cam"
    assert link.is_symlink() and os.readlink(link) == str(venv / "bin/digit-cam")
    assert "journalctl -u digit-cam -o cat -f" in log and "sudo systemctl stop digit-cam" in log
    first = installed("import importlib.metadata as m; print(m.version('digit-edge'))")
    assert re.fullmatch(r"0\.1\.0\.post1\+g[0-9a-f]{12}", first), first
    assert (root / "var/lib/digit-edge/models/current/model.tflite").is_file()
    constraints = (root / "opt/digit-edge/constraints.txt").read_text()
    assert "numpy>=2,<3" in constraints  # deploy/constraints-trixie.txt, plus apt's exact numpy
    # Nothing root-owned (or otherwise) left behind in the checkout: the build ran in a copy.
    assert run(["git", "status", "--porcelain", "--ignored"], cwd=checkout).stdout == ""

    init = checkout / "edge/cam/__init__.py"
    init.write_text(init.read_text() + 'SECOND_INSTALL = "yes"\n')
    commit(checkout, "change")
    install()
    assert installed("import edge.cam; print(edge.cam.SECOND_INSTALL)") == "yes"
    assert installed("import edge.cam; print(edge.cam.__file__)").startswith(str(venv))
    second = installed("import importlib.metadata as m; print(m.version('digit-edge'))")
    assert second.startswith("0.1.0.post2+g") and second != first
    assert run(["git", "status", "--porcelain", "--ignored"], cwd=checkout).stdout == ""
    # The command on the PATH runs the installed package.
    demo = run([str(link), "--source", "demo", "--frames", "2", "--json", "--emit", "all"], env=env,
               cwd=tmp_path, timeout=120)
    assert demo.returncode == 0, demo.stderr
    assert json.loads(demo.stdout.splitlines()[0])["source"] == "demo"


def test_install_refuses_32_bit_pi_os_and_says_what_to_do(tmp_path):
    result = install_sh(tmp_path, "--dry-run", arch="armhf")
    assert result.returncode == 1
    assert "32-bit" in result.stderr and "Raspberry Pi OS (64-bit)" in result.stderr


def test_install_refuses_an_os_with_too_old_a_python(tmp_path):
    result = install_sh(tmp_path, "--dry-run", codename="bullseye")
    assert result.returncode == 1
    assert "bookworm" in result.stderr and "trixie" in result.stderr


def test_install_rejects_a_missing_model_or_wheelhouse(tmp_path):
    result = install_sh(tmp_path, "--dry-run", "--model", str(tmp_path / "nope.tflite"))
    assert result.returncode == 3 and "nope.tflite" in result.stderr
    result = install_sh(tmp_path, "--dry-run", "--wheels", str(tmp_path / "no-wheels"))
    assert result.returncode == 3 and "no-wheels" in result.stderr
    lonely = tmp_path / "lonely.tflite"
    lonely.write_bytes(MODEL.read_bytes())
    result = install_sh(tmp_path, "--dry-run", "--model", str(lonely))
    assert result.returncode == 3 and "sidecar" in result.stderr


def test_uninstall_dry_run_removes_everything_it_installed(tmp_path):
    result = install_sh(tmp_path, "--uninstall", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "rm -rf /opt/digit-edge /etc/digit-edge /var/lib/digit-edge" in result.stderr


def constraint_lines(codename: str) -> list[str]:
    return [line for line in (DEPLOY / f"constraints-{codename}.txt").read_text().splitlines()
            if line and not line.startswith("#")]


def test_bookworm_constraints_keep_numpy_1_and_trixie_numpy_2():
    assert constraint_lines("bookworm") == ["numpy<2", "opencv-python-headless<4.12"]
    assert constraint_lines("trixie") == ["numpy>=2,<3"]


def test_install_dry_run_uses_the_release_constraints(tmp_path):
    for codename in ("bookworm", "trixie"):
        result = install_sh(tmp_path, "--dry-run", codename=codename)
        assert f"constraints-{codename}.txt" in result.stderr


# --- systemd unit ----------------------------------------------------------------------------

def unit_settings() -> dict[str, list[str]]:
    settings: dict[str, list[str]] = {}
    for line in UNIT.read_text().splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, value = line.split("=", 1)
            settings.setdefault(key, []).append(value)
    return settings


def test_unit_sandbox_has_what_the_issue_and_the_camera_need():
    s = unit_settings()
    for key, value in {"ProtectSystem": "strict", "ProtectHome": "yes", "PrivateTmp": "yes",
                       "NoNewPrivileges": "yes", "CapabilityBoundingSet": "", "DevicePolicy": "closed",
                       "Restart": "on-failure", "SupplementaryGroups": "video",
                       "StandardOutput": "journal"}.items():
        assert s.get(key) == [value], key
    # libcamera needs /dev/video*, /dev/media* and /dev/dma_heap/*: PrivateDevices=yes breaks it.
    assert "PrivateDevices" not in s
    assert set(s["DeviceAllow"]) == {"char-video4linux rw", "char-media rw", "char-dma_heap rw"}
    assert "AF_INET" in s["RestrictAddressFamilies"][0].split()
    assert s["ExecReload"] == ["/bin/kill -HUP $MAINPID"]
    assert s["ExecStart"] == ["/opt/digit-edge/venv/bin/digit-cam --config /etc/digit-edge/digit-cam.toml"]
    assert "StartLimitBurst" in s and "StartLimitIntervalSec" in s
    assert s["RestartPreventExitStatus"] == ["2 3"]
    # Issue 13: descriptors and memory are bounded (the server's connection cap fits inside).
    from edge.cam.server import MAX_CONNECTIONS

    assert MAX_CONNECTIONS * 2 < int(s["LimitNOFILE"][0]) <= 1024
    assert s["MemoryMax"] == ["768M"] and "TasksMax" in s


def test_unit_verifies_cleanly(tmp_path):
    # verify checks that ExecStart exists, so give it a root holding the unit, the installed
    # paths and the system's own units (sysinit.target and friends).
    system_units = next(p for p in (Path("/usr/lib/systemd/system"), Path("/lib/systemd/system")) if p.is_dir())
    shutil.copytree(system_units, tmp_path / "usr/lib/systemd/system", symlinks=True)
    for exe in ("opt/digit-edge/venv/bin/digit-cam", "bin/kill"):
        path = tmp_path / exe
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("#!/bin/sh\n")
        path.chmod(0o755)
    (tmp_path / "etc/systemd/system").mkdir(parents=True)
    shutil.copy(UNIT, tmp_path / "etc/systemd/system")
    result = run([tool("systemd-analyze"), "verify", f"--root={tmp_path}", "digit-cam.service"])
    assert result.returncode == 0 and result.stderr.strip() == "", result.stderr


def test_unit_exposure_score_is_ok():
    result = run([tool("systemd-analyze"), "security", "--offline=true", "--no-pager", str(UNIT)])
    match = re.search(r"Overall exposure level for digit-cam\.service: (\d+\.\d+) (\w+)", result.stdout)
    assert match, result.stdout + result.stderr
    score, verdict = float(match.group(1)), match.group(2)
    assert verdict == "OK" and score <= 2.0, f"exposure {score} {verdict} (was 1.5 OK)"


# --- config and Ansible ----------------------------------------------------------------------

def test_config_keys_are_digit_cam_flags():
    config = tomllib.loads(CONFIG.read_text())
    help_text = run([sys.executable, "-m", "edge", "--help"], cwd=ROOT).stdout
    for key in config:
        assert f"--{key.replace('_', '-')}" in help_text, key
    assert config["model"] == "/var/lib/digit-edge/models/current/model.tflite"
    assert config["serve"].startswith("127.0.0.1:")


def test_config_runs_digit_cam_on_the_demo_source(tmp_path):
    port = free_port()
    config = CONFIG.read_text().replace("/var/lib/digit-edge/models/current/model.tflite", str(MODEL))
    config = config.replace("127.0.0.1:8080", f"127.0.0.1:{port}")
    (tmp_path / "digit-cam.toml").write_text(config)
    result = run([sys.executable, "-m", "edge", "--config", str(tmp_path / "digit-cam.toml"),
                  "--source", "demo", "--frames", "20"], cwd=tmp_path, timeout=120)
    assert result.returncode == 0, result.stderr
    readings = [json.loads(line) for line in result.stdout.splitlines()]
    assert readings and all("text" in r for r in readings)


def test_ansible_template_renders_the_same_config_as_install_sh():
    try:
        import jinja2
        import yaml
    except ImportError:
        missing("jinja2 and PyYAML come with ansible-core: pip install ansible-core")

    defaults = yaml.safe_load((ANSIBLE / "roles/digit_cam/defaults/main.yml").read_text())
    env = jinja2.Environment(trim_blocks=True, undefined=jinja2.StrictUndefined)
    env.filters["to_json"] = json.dumps
    template = env.from_string((ANSIBLE / "roles/digit_cam/templates/digit-cam.toml.j2").read_text())
    rendered = template.render(digit_cam_config=defaults["digit_cam_config"], ansible_managed="test")
    assert tomllib.loads(rendered) == tomllib.loads(CONFIG.read_text())


def test_role_installs_the_same_unit_file():
    assert (ANSIBLE / "roles/digit_cam/files/digit-cam.service").resolve() == UNIT.resolve()


def ansible_env(tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "ansible-home"
    home.mkdir(exist_ok=True)
    return dict(os.environ, ANSIBLE_CONFIG=str(ANSIBLE / "ansible.cfg"), ANSIBLE_HOME=str(home),
                ANSIBLE_LOCAL_TEMP=str(home / "tmp"), ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")


def test_playbooks_pass_syntax_check(tmp_path):
    result = run([tool("ansible-playbook"), "--syntax-check", "-i", "inventory.example.yml",
                  "install.yml", "model.yml"], cwd=ANSIBLE, env=ansible_env(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr


def test_ansible_lint_is_clean_at_the_production_profile(tmp_path):
    result = run([tool("ansible-lint"), "--offline", "--profile", "production", "--nocolor"],
                 cwd=ANSIBLE, env=ansible_env(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr


# --- the model roll-out, for real against localhost ------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def make_model(directory: Path, name: str, *, padding: bytes, **sidecar_changes) -> Path:
    """A valid copy of the release model with different bytes (flatbuffers ignore a tail)."""
    directory.mkdir(parents=True, exist_ok=True)
    tflite = directory / f"{name}.tflite"
    tflite.write_bytes(MODEL.read_bytes() + padding)
    sidecar = json.loads(MODEL.with_suffix(".json").read_text())
    sidecar.update(tflite_sha256=sha256(tflite), tflite_bytes=tflite.stat().st_size)
    sidecar.update(sidecar_changes)
    tflite.with_suffix(".json").write_text(json.dumps(sidecar))
    return tflite


class Device:
    """One pretend Pi: a models directory with a current release and a real digit-cam serving
    the demo source from models/current (it reloads on SIGHUP and when the link changes). A
    ``stuck`` one serves the first release's file itself, so it never picks up a new model."""

    def __init__(self, root: Path, first_model: Path, stuck: bool = False, token: str | None = None):
        self.root = root
        self.token = token
        self.models = root / "models"
        release = self.models / sha256(first_model)[:12]
        release.mkdir(parents=True)
        shutil.copy(first_model, release / "model.tflite")
        shutil.copy(first_model.with_suffix(".json"), release / "model.json")
        (self.models / "current").symlink_to(release.name)
        bin_dir = root / "venv" / "bin"
        bin_dir.mkdir(parents=True)
        (bin_dir / "digit-cam").write_text(f'#!/bin/sh\nexec "{sys.executable}" -m edge "$@"\n')
        (bin_dir / "python").write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
        for tool in bin_dir.iterdir():
            tool.chmod(0o755)
        self.port = free_port()
        served = (release if stuck else self.models / "current") / "model.tflite"
        env = dict(os.environ)
        if token:  # as the unit's drop-in gives it: EnvironmentFile=/etc/digit-edge/token.env
            (root / "token.env").write_text(f"DIGIT_CAM_TOKEN={token}\n")
            env["DIGIT_CAM_TOKEN"] = token
        self.process = subprocess.Popen(
            [sys.executable, "-m", "edge", "--source", "demo", "--max-fps", "5", "--model", str(served),
             "--serve", f"127.0.0.1:{self.port}", "--frame-timeout", "60"],  # a loaded CI machine is slow
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while self.health() is None:
            assert self.process.poll() is None, "digit-cam exited before serving"
            assert time.monotonic() < deadline, "digit-cam never became healthy"
            time.sleep(0.3)

    def health(self) -> dict | None:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}/healthz", headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=2) as response:
                return json.load(response)
        except OSError:
            return None

    def current(self) -> str:
        return os.readlink(self.models / "current")

    def host_vars(self, model: Path) -> dict:
        return {"ansible_connection": "local", "ansible_python_interpreter": sys.executable,
                "digit_cam_models_dir": str(self.models), "digit_cam_venv": str(self.root / "venv"),
                "digit_cam_model_src": str(model),
                "digit_cam_reload_command": ["kill", "-HUP", str(self.process.pid)],
                "digit_cam_health_url": f"http://127.0.0.1:{self.port}/healthz",
                "digit_cam_health_retries": 4, "digit_cam_health_delay": 1,
                "digit_cam_token_file": str(self.root / "token.env")}

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()


@pytest.fixture
def devices(tmp_path):
    started: list[Device] = []

    def start(name: str, first_model: Path, stuck: bool = False, token: str | None = None) -> Device:
        device = Device(tmp_path / name, first_model, stuck, token)
        started.append(device)
        return device

    yield start
    for device in started:
        device.stop()


def roll_out(tmp_path: Path, hosts: dict[str, dict], serial, max_fail: int) -> subprocess.CompletedProcess:
    inventory = tmp_path / "inventory.json"
    inventory.write_text(json.dumps({"all": {"hosts": hosts}}))
    extra = {"digit_cam_hosts": "all", "digit_cam_become": False, "digit_cam_serial": serial,
             "digit_cam_max_fail_percentage": max_fail}
    return run([tool("ansible-playbook"), "-i", str(inventory), "model.yml", "-e", json.dumps(extra)],
               cwd=ANSIBLE, env=ansible_env(tmp_path), timeout=600)


def test_rollout_switches_good_models_rolls_back_bad_ones_and_stops_the_batches(tmp_path, devices):
    models = tmp_path / "controller"
    old = make_model(models, "old", padding=b"")
    new = make_model(models, "new", padding=b"digit-edge test: new")
    good = devices("good", old)
    # Passes the copy, sha256 and self-test checks, but this device's service keeps serving the
    # old model, so /healthz reports the old sha256: the health check must fail and switch back.
    stuck = devices("stuck", old, stuck=True)
    never = devices("never", old)
    hosts = {"pi-good": good.host_vars(new), "pi-stuck": stuck.host_vars(new),
             "pi-never": never.host_vars(new)}
    result = roll_out(tmp_path, hosts, serial=1, max_fail=0)
    log = result.stdout + result.stderr
    assert result.returncode != 0, log
    new_release, old_release = sha256(new)[:12], sha256(old)[:12]
    assert good.current() == new_release and good.health()["model_sha256"] == sha256(new), log
    assert stuck.current() == old_release, log
    assert "Rolled back to " + old_release in log
    assert not (stuck.models / new_release).exists()
    # max_fail_percentage 0 with one host per batch: the third Pi is never touched.
    assert never.current() == old_release and not (never.models / new_release).exists(), log
    assert "pi-never" not in re.sub(r"PLAY RECAP.*", "", log, flags=re.S)


def test_rollout_refuses_corrupt_and_inaccurate_models_without_touching_current(tmp_path, devices):
    models = tmp_path / "controller"
    old = make_model(models, "old", padding=b"")
    corrupt = make_model(models, "corrupt", padding=b"digit-edge test: corrupt")
    corrupt.write_bytes(corrupt.read_bytes() + b"flipped after the sidecar was written")
    # The self-test measures 99.66% here; a sidecar promising 99.99% must be refused.
    boastful = make_model(models, "boastful", padding=b"digit-edge test: boastful", accuracy=0.9999)
    first, second = devices("first", old), devices("second", old)
    hosts = {"pi-1": first.host_vars(corrupt), "pi-2": second.host_vars(boastful)}
    result = roll_out(tmp_path, hosts, serial=2, max_fail=100)
    log = result.stdout + result.stderr
    assert result.returncode != 0, log
    old_release = sha256(old)[:12]
    for device in (first, second):
        assert device.current() == old_release, log
        assert device.health()["model_sha256"] == sha256(old)
        assert sorted(p.name for p in device.models.iterdir()) == sorted([old_release, "current"]), log
    assert "does not match the sidecar" in log
    assert "Self-test on the device" in log and "current was not touched" in log


def test_rollout_works_when_the_service_has_a_token(tmp_path, devices):
    """With DIGIT_CAM_TOKEN set, /healthz answers 401 without it: the checks must send it."""
    models = tmp_path / "controller"
    old = make_model(models, "old", padding=b"")
    new = make_model(models, "new", padding=b"digit-edge test: token")
    device = devices("tokened", old, token="a-token-of-32-characters-or-so!!")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"http://127.0.0.1:{device.port}/healthz", timeout=5)
    assert refused.value.code == 401
    result = roll_out(tmp_path, {"pi-token": device.host_vars(new)}, serial=1, max_fail=0)
    log = result.stdout + result.stderr
    assert result.returncode == 0, log
    assert device.current() == sha256(new)[:12] and device.health()["model_sha256"] == sha256(new)
    assert "a-token-of-32" not in log  # never printed


def test_a_failed_first_rollout_keeps_the_only_model(tmp_path):
    """No current before (the service is down, exiting 3): the health check fails, and there is
    nothing to switch back to, so the new release must stay, not be deleted under current."""
    models_dir = tmp_path / "pi" / "models"
    models_dir.mkdir(parents=True)
    bin_dir = tmp_path / "pi" / "venv" / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "digit-cam").write_text(f'#!/bin/sh\nexec "{sys.executable}" -m edge "$@"\n')
    (bin_dir / "python").write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    for tool in bin_dir.iterdir():
        tool.chmod(0o755)
    new = make_model(tmp_path / "controller", "new", padding=b"digit-edge test: first")
    host = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable,
            "digit_cam_models_dir": str(models_dir), "digit_cam_venv": str(bin_dir.parent),
            "digit_cam_model_src": str(new), "digit_cam_reload_command": ["true"],
            "digit_cam_health_url": f"http://127.0.0.1:{free_port()}/healthz",  # nothing listens
            "digit_cam_health_retries": 1, "digit_cam_health_delay": 1,
            "digit_cam_token_file": str(tmp_path / "pi" / "token.env")}
    result = roll_out(tmp_path, {"pi-first": host}, serial=1, max_fail=0)
    log = result.stdout + result.stderr
    assert result.returncode != 0, log
    release = sha256(new)[:12]
    assert os.readlink(models_dir / "current") == release, log
    assert (models_dir / "current" / "model.tflite").is_file(), log
    assert "no previous model to go back to" in log


def test_rollout_names_releases_by_file_never_writes_the_active_one_nor_outside_models(tmp_path, devices):
    """Issue 13: a sidecar's tflite_sha256 of '../../victim' made the rescue delete a tree outside
    models/, and a new file whose sidecar carried the current sha256 was copied over the active
    release before being refused."""
    models = tmp_path / "controller"
    old = make_model(models, "old", padding=b"")
    evil = make_model(models, "evil", padding=b"digit-edge test: evil", tflite_sha256="../../victim")
    impostor = make_model(models, "impostor", padding=b"digit-edge test: impostor", tflite_sha256=sha256(old))
    first, second = devices("first", old), devices("second", old)
    for device in (first, second):
        (device.root / "victim").mkdir()
        (device.root / "victim" / "keep.txt").write_text("not digit-edge's")
    active = {d: (d.models / sha256(old)[:12] / "model.tflite").read_bytes() for d in (first, second)}
    hosts = {"pi-1": first.host_vars(evil), "pi-2": second.host_vars(impostor)}
    result = roll_out(tmp_path, hosts, serial=2, max_fail=100)
    log = result.stdout + result.stderr
    assert result.returncode != 0, log
    assert "tflite_sha256 must be 64 lower-case hex digits" in log and "does not match the sidecar" in log
    for device in (first, second):
        assert (device.root / "victim" / "keep.txt").read_text() == "not digit-edge's", log
        assert device.current() == sha256(old)[:12]
        assert (device.models / device.current() / "model.tflite").read_bytes() == active[device]
        assert sorted(p.name for p in device.models.iterdir()) == sorted([sha256(old)[:12], "current"]), log
        assert device.health()["model_sha256"] == sha256(old)
