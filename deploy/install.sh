#!/usr/bin/env bash
# deploy/install.sh: install (or upgrade, or remove) digit-cam as a systemd service on a
# Raspberry Pi 4/5 with 64-bit Raspberry Pi OS bookworm (Python 3.11) or trixie (Python 3.13).
#
#   sudo deploy/install.sh                        # from a checkout: its wheel, dependencies from PyPI
#   sudo deploy/install.sh --wheels ./wheelhouse  # offline (deploy/wheelhouse.sh builds it)
#   sudo deploy/install.sh --model new.tflite     # install and switch to another model
#   sudo deploy/install.sh --uninstall            # remove service, venv, config and models
#   deploy/install.sh --dry-run                   # print the plan, change nothing (no root)
#
# Running it again is safe: it only installs what is missing, reinstalls digit-edge's own wheel
# (built from the checkout, versioned from git, or taken from the wheelhouse), keeps an edited
# config and the current model, and restarts the service. digit-edge itself never comes from a
# package index by name: none publishes it, and anyone could publish that name.
set -euo pipefail
# The service runs as a dynamic user: everything installed must be world-readable.
umask 022

# Test hooks only (tests/test_deploy.py): install under another root, with another Python, and
# take the apt packages as present (a real install on a scratch directory, without root).
readonly ROOT=${DIGIT_EDGE_ROOT:-}
readonly SERVICE=digit-cam
readonly PREFIX=$ROOT/opt/digit-edge
readonly VENV=$PREFIX/venv
readonly CONF_DIR=$ROOT/etc/digit-edge
readonly CONF_FILE=$CONF_DIR/digit-cam.toml
readonly TOKEN_FILE=$CONF_DIR/token.env  # DIGIT_CAM_TOKEN=..., read by the unit's drop-in (README)
readonly STATE_DIR=$ROOT/var/lib/digit-edge
readonly MODELS_DIR=$STATE_DIR/models
readonly UNIT_FILE=$ROOT/etc/systemd/system/$SERVICE.service
readonly LINK=$ROOT/usr/local/bin/digit-cam  # so "digit-cam" works in a shell right after install
readonly MIN_PYTHON=3.11
# The system Python, always: picamera2 from apt exists only for it.
readonly PYTHON=${DIGIT_EDGE_PYTHON:-/usr/bin/python3}
readonly HEALTH_URL=http://127.0.0.1:8080/healthz  # matches serve = in config/digit-cam.toml

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly HERE
readonly REPO=${HERE%/deploy}

# Test hooks only (tests/test_deploy.py): pretend to be another OS or architecture.
readonly OS_RELEASE=${DIGIT_EDGE_OS_RELEASE:-/etc/os-release}
readonly DPKG_ARCH_OVERRIDE=${DIGIT_EDGE_DPKG_ARCH:-}

readonly APT_BASE=(python3 python3-venv python3-numpy ca-certificates)
# picamera2 is not usable from PyPI: it comes from the Raspberry Pi apt repository, built against
# apt's numpy, and the venv sees it through --system-site-packages. libcamera-ipa holds the
# tuning for the Pi camera modules.
readonly APT_CAMERA=(python3-picamera2 python3-libcamera libcamera-ipa)

wheels=""
package=""
model=""
camera=auto
start=1
selftest=1
dry_run=0
action=install
build_dir=""  # a temporary directory for the wheel built from the checkout

usage() {
    cat <<EOF
usage: install.sh [--wheels DIR] [--package SPEC] [--model FILE.tflite] [--no-camera]
                  [--no-start] [--no-selftest] [--dry-run]
       install.sh --uninstall [--dry-run]

Installs digit-cam under $PREFIX, config in $CONF_FILE, models in $MODELS_DIR
(with a "current" symlink), and the systemd service $SERVICE.

  --wheels DIR     install offline from a wheelhouse (deploy/wheelhouse.sh makes one): its
                   digit_edge wheel, checked against its SHA256SUMS, and nothing from an index
  --package SPEC   what pip installs instead (default: the wheel of this checkout, built by
                   deploy/build-wheel.sh in a temporary directory; outside a checkout, --wheels
                   is required)
  --model FILE     a .tflite with its sidecar FILE.json beside it; checked (sha256, self-test)
                   and made current (default: keep the current model; on a first install, the
                   model shipped with the package)
  --no-camera      skip python3-picamera2/libcamera (plain Debian without the Raspberry Pi
                   repository: demo source, USB cameras through OpenCV). Automatic when apt
                   has no python3-picamera2.
  --no-start       install everything but do not enable or start the service
  --no-selftest    skip the on-device self-test of the model (10,000 digits, seconds on a Pi)
  --dry-run        print what would be done and change nothing
  --uninstall      stop and remove the service, $PREFIX, $CONF_DIR and $STATE_DIR
                   (apt packages stay: other software may use them)

exit codes: 0 ok; 1 a step failed; 2 bad arguments; 3 missing or corrupt model or wheelhouse
EOF
}

say() { printf 'install.sh: %s\n' "$*" >&2; }
die() {
    local code=$1
    shift
    printf 'install.sh: error: %s\n' "$*" >&2
    exit "$code"
}

# Runs a command, or only prints it under --dry-run.
run() {
    printf '+ %s\n' "$*" >&2
    if [ "$dry_run" -eq 0 ]; then
        "$@"
    fi
}

parse_args() {
    while [ $# -gt 0 ]; do
        case $1 in
            --wheels) [ $# -ge 2 ] || die 2 "--wheels needs a directory"; wheels=$2; shift ;;
            --package) [ $# -ge 2 ] || die 2 "--package needs a pip requirement"; package=$2; shift ;;
            --model) [ $# -ge 2 ] || die 2 "--model needs a .tflite file"; model=$2; shift ;;
            --no-camera) camera=no ;;
            --no-start) start=0 ;;
            --no-selftest) selftest=0 ;;
            --dry-run) dry_run=1 ;;
            --uninstall) action=uninstall ;;
            -h | --help) usage; exit 0 ;;
            *) usage >&2; die 2 "unknown argument: $1" ;;
        esac
        shift
    done
    if [ -n "$wheels" ] && [ ! -d "$wheels" ]; then
        die 3 "--wheels $wheels: no such directory"
    fi
    if [ -n "$model" ]; then
        [ -f "$model" ] || die 3 "--model $model: no such file"
        [ -f "${model%.tflite}.json" ] || die 3 "--model $model: its sidecar ${model%.tflite}.json is missing"
    fi
}

os_field() {
    # One field of /etc/os-release, e.g. VERSION_CODENAME, without sourcing the file.
    sed -n "s/^$1=//p" "$OS_RELEASE" | tr -d '"' | head -n 1
}

check_platform() {
    local arch codename
    if [ -n "$DPKG_ARCH_OVERRIDE" ]; then
        arch=$DPKG_ARCH_OVERRIDE
    elif command -v dpkg >/dev/null; then
        arch=$(dpkg --print-architecture)
    else
        die 1 "this is not a Debian-based system (no dpkg): use Raspberry Pi OS (64-bit)"
    fi
    # The userland architecture matters, not the kernel's: 32-bit Pi OS runs a 64-bit kernel on
    # a Pi 4/5, so uname -m says aarch64 while every package is armhf.
    case $arch in
        arm64 | amd64) ;;
        armhf | armel)
            die 1 "this is 32-bit Raspberry Pi OS ($arch). digit-cam's TFLite runtime (ai-edge-litert) \
ships 64-bit ARM wheels only. Flash \"Raspberry Pi OS (64-bit)\" (bookworm or newer) with Raspberry Pi \
Imager (Pi 3, 4, 5 and Zero 2 W run it), then run this script again." ;;
        *) die 1 "unsupported architecture $arch: digit-cam runs on 64-bit ARM (arm64) Raspberry Pi OS" ;;
    esac
    [ -r "$OS_RELEASE" ] || die 1 "$OS_RELEASE is missing: cannot tell which OS this is"
    codename=$(os_field VERSION_CODENAME)
    case $codename in
        bookworm | trixie) say "OS: $(os_field PRETTY_NAME), $arch" ;;
        buster | bullseye)
            die 1 "$codename is too old (Python < $MIN_PYTHON): install Raspberry Pi OS bookworm or \
trixie (64-bit)" ;;
        *) say "warning: $codename is untested (bookworm and trixie are); carrying on" ;;
    esac
    if [ "$dry_run" -eq 0 ] && [ "$(id -u)" -ne 0 ] && [ -z "$ROOT" ]; then
        die 1 "run as root: sudo $0 $*"
    fi
}

check_python() {
    local version
    if ! [ -x "$PYTHON" ]; then
        [ "$dry_run" -eq 1 ] && return 0
        die 1 "$PYTHON is missing even after apt-get install python3"
    fi
    version=$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
    if ! "$PYTHON" -c "import sys; sys.exit(sys.version_info[:2] < (3, 11))"; then
        die 1 "$PYTHON is $version; digit-edge needs Python $MIN_PYTHON or newer (bookworm has 3.11, \
trixie 3.13). Upgrade the OS rather than installing another Python: picamera2 comes from apt and \
works only with the system Python."
    fi
    say "Python: $version"
}

is_raspberry_pi() {
    grep -qs 'Raspberry Pi' /proc/device-tree/model
}

apt_has_candidate() {
    local candidate
    candidate=$(apt-cache policy "$1" 2>/dev/null | sed -n 's/^ *Candidate: //p')
    [ -n "$candidate" ] && [ "$candidate" != "(none)" ]
}

install_apt_packages() {
    local wanted=("${APT_BASE[@]}") missing=() pkg
    if [ -n "$ROOT" ]; then
        say "apt packages: not checked (test root $ROOT)"
        return 0
    fi
    if [ "$camera" = auto ]; then
        if is_raspberry_pi || apt_has_candidate python3-picamera2; then
            camera=yes
        else
            camera=no
            say "warning: apt has no python3-picamera2 (not Raspberry Pi OS?): installing without \
the Pi camera; the demo source and USB cameras still work. On a Pi, enable the Raspberry Pi \
repository (archive.raspberrypi.com) and run again."
        fi
    fi
    if [ "$camera" = yes ]; then
        wanted+=("${APT_CAMERA[@]}")
    fi
    for pkg in "${wanted[@]}"; do
        if [ "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null)" != "install ok installed" ]; then
            missing+=("$pkg")
        fi
    done
    if [ ${#missing[@]} -eq 0 ]; then
        say "apt packages: all present (${wanted[*]})"
        return 0
    fi
    run apt-get update
    run env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
}

# pip must never replace apt's numpy inside the venv: picamera2 and its compiled helpers
# (simplejpeg, python3-libcamera) are built against it; a pip numpy 2 over bookworm's 1.24 makes
# "import picamera2" fail with "ValueError: numpy.dtype size changed". The release's file
# (constraints-bookworm.txt: numpy<2, OpenCV<4.12, which needs numpy 2) plus apt's exact version.
write_constraints() {
    local file=$1 numpy_version codename release_file
    numpy_version=$("$PYTHON" -c 'import numpy; print(numpy.__version__)' 2>/dev/null || true)
    codename=$(os_field VERSION_CODENAME)
    release_file=$HERE/constraints-$codename.txt
    {
        echo "# written by deploy/install.sh: keep the venv on apt's numpy"
        if [ -f "$release_file" ]; then
            echo "# from $release_file"
            grep -v '^#' "$release_file"
        fi
        if [ -n "$numpy_version" ]; then
            echo "numpy==$numpy_version"
            case $numpy_version in
                1.*) grep -qs '^opencv-python-headless<4.12' "$release_file" || echo "opencv-python-headless<4.12" ;;
            esac
        fi
    } >"$file"
}

# The digit_edge wheel to install: the wheelhouse's (checked against its SHA256SUMS), or one
# built from this checkout in a temporary directory. Prints its path.
package_wheel() {
    local found
    if [ -n "$wheels" ]; then
        found=$(find "$wheels" -maxdepth 1 -name 'digit_edge-*.whl')
        [ -n "$found" ] || die 3 "$wheels has no digit_edge-*.whl: make it with deploy/wheelhouse.sh"
        [ "$(printf '%s\n' "$found" | wc -l)" -eq 1 ] || die 3 "$wheels holds several digit_edge wheels: keep one"
        if [ -f "$wheels/SHA256SUMS" ]; then
            (cd "$wheels" && sha256sum --quiet --check SHA256SUMS >&2) ||
                die 3 "$wheels: a wheel does not match SHA256SUMS (corrupt or altered copy)"
        else
            say "warning: $wheels has no SHA256SUMS (an older wheelhouse.sh?): wheels not verified"
        fi
        printf '%s\n' "$found"
    elif [ -f "$REPO/pyproject.toml" ]; then
        env PYTHON="$VENV/bin/python" "$HERE/build-wheel.sh" --repo "$REPO" --out "$build_dir" ||
            die 1 "could not build the digit-edge wheel from $REPO (its message is above)"
    fi
}

install_venv() {
    local constraints pip_args=() spec=$package wheel=""
    if [ -x "$VENV/bin/python" ] && ! "$VENV/bin/python" -c 'import sys' 2>/dev/null; then
        say "the venv's Python is broken (OS upgrade?): recreating $VENV"
        run rm -rf "$VENV"
    fi
    if [ -x "$VENV/bin/python" ] && [ "$("$VENV/bin/python" -c 'import sys; print(sys.version_info[:2])')" \
        != "$("$PYTHON" -c 'import sys; print(sys.version_info[:2])')" ]; then
        say "the venv was made by another Python version: recreating $VENV"
        run rm -rf "$VENV"
    fi
    if [ ! -x "$VENV/bin/python" ]; then
        run install -d -m 0755 "$PREFIX"
        # --system-site-packages: picamera2 and libcamera come from apt.
        run "$PYTHON" -m venv --system-site-packages "$VENV"
    fi
    if [ -n "$wheels" ]; then
        pip_args+=(--no-index --find-links "$wheels")
    fi
    if [ -z "$spec" ]; then
        if [ -z "$wheels" ] && [ ! -f "$REPO/pyproject.toml" ]; then
            die 2 "not run from a checkout: pass --wheels DIR (deploy/wheelhouse.sh makes one) or --package SPEC"
        fi
        if [ "$dry_run" -eq 1 ] && [ -z "$wheels" ]; then
            say "would build the digit-edge wheel from $REPO in a temporary directory (deploy/build-wheel.sh)"
            wheel="/tmp/digit_edge-VERSION-py3-none-any.whl"
        else
            if [ -z "$wheels" ]; then
                build_dir=$(mktemp -d)  # removed on exit (trap in main)
            fi
            wheel=$(package_wheel)
        fi
        spec="${wheel}[edge]"
    fi
    constraints=$PREFIX/constraints.txt
    if [ "$dry_run" -eq 0 ]; then
        write_constraints "$constraints"
    else
        say "would write $constraints: $HERE/constraints-$(os_field VERSION_CODENAME).txt and apt's numpy"
    fi
    # The edge extra is numpy, OpenCV headless and ai-edge-litert: never TensorFlow.
    if ! run "$VENV/bin/python" -m pip install --disable-pip-version-check --no-cache-dir --upgrade \
        "${pip_args[@]}" --constraint "$constraints" "$spec"; then
        die 1 "pip could not install $spec (its message is above). A conflict on numpy means this \
version of digit-edge requires a newer numpy than apt's ($(grep '^numpy' "$constraints" || true)), \
which picamera2 is built against; use a digit-edge release that accepts it."
    fi
    if [ -n "$wheel" ]; then
        # The same version may already be installed (a rebuilt dirty checkout, a reused wheelhouse):
        # replace the package's own files anyway, leaving its dependencies alone.
        run "$VENV/bin/python" -m pip install --disable-pip-version-check --no-cache-dir --no-index \
            --no-deps --force-reinstall "$wheel"
    fi
    if [ "$dry_run" -eq 0 ] && ! "$VENV/bin/python" -c 'import importlib.util, sys
sys.exit(importlib.util.find_spec("tensorflow") is not None)'; then
        die 1 "TensorFlow ended up in $VENV: the Pi must only get the edge extra ($spec)"
    fi
    if [ -f "$HERE/README.md" ]; then
        run install -m 0644 "$HERE/README.md" "$PREFIX/README.md"
    fi
    # digit-cam on the PATH of every shell (/opt/digit-edge/venv/bin is on nobody's PATH).
    run install -d -m 0755 "$(dirname "$LINK")"
    run ln -sfn "$VENV/bin/digit-cam" "$LINK"
}

# The model that ships inside the package, as installed by pip.
bundled_model() {
    "$VENV/bin/python" - <<'EOF'
import sys
from pathlib import Path
print(Path(sys.prefix) / "share" / "digit-edge" / "models" / "model_int8.tflite")
EOF
}

# Checks a model on this device: its sidecar against digit-edge's schema and the file's sha256
# (python -m edge.metadata, the loader's own check), then the self-test (the bundled MNIST digits
# through this device's interpreter, against the sidecar's accuracy).
verify_model() {
    local tflite=$1
    "$VENV/bin/python" -m edge.metadata "${tflite%.tflite}.json" --tflite "$tflite" >/dev/null \
        || die 3 "$tflite: refused (the line above says why)"
    if [ "$selftest" -eq 0 ]; then
        say "self-test skipped (--no-selftest)"
    else
        "$VENV/bin/digit-cam" selftest --model "$tflite" || die $? "self-test failed for $tflite"
    fi
}

# The staging directory of this run, removed on any exit (with the wheel's build directory): the
# only things a failure deletes are the ones this run made.
staging=""
remove_staging() {
    if [ -n "$staging" ]; then
        rm -rf -- "$staging"
    fi
    staging=""
}
remove_temporaries() {
    remove_staging
    if [ -n "${build_dir:-}" ]; then
        rm -rf -- "$build_dir"
    fi
}

# Stages a model in a fresh temporary directory beside the releases, verifies it there, renames it
# to models/<first 12 hex of the file's own sha256>/ and points "current" at it. The name never
# comes from the sidecar, and an existing release (the active one above all) is never written to:
# one with the same name must hold the same bytes. The switch is a rename(2) of a fresh symlink
# over the old one, so readers see old or new, never neither.
install_model() {
    local source=$model sha release
    if [ -z "$source" ] && [ -L "$MODELS_DIR/current" ]; then
        say "model: keeping $(readlink "$MODELS_DIR/current") (pass --model to change it)"
        return 0
    fi
    if [ "$dry_run" -eq 1 ]; then
        say "would stage ${source:-the bundled model_int8.tflite} and its sidecar in a new $MODELS_DIR/.staging.*, \
check the sidecar, sha256 and self-test there, rename it to $MODELS_DIR/<sha256 of the file>/, then point \
$MODELS_DIR/current at it"
        return 0
    fi
    if [ -z "$source" ]; then
        source=$(bundled_model)
        [ -f "$source" ] || die 3 "the package did not install its model ($source)"
    fi
    trap remove_temporaries EXIT
    staging=$(mktemp -d "$MODELS_DIR/.staging.XXXXXX")
    run chmod 0755 "$staging"
    run install -m 0644 "$source" "$staging/model.tflite"
    run install -m 0644 "${source%.tflite}.json" "$staging/model.json"
    verify_model "$staging/model.tflite"
    sha=$(sha256sum "$staging/model.tflite" | cut -d' ' -f1)
    release=${sha:0:12}
    if [ -e "$MODELS_DIR/$release" ] || [ -L "$MODELS_DIR/$release" ]; then
        if ! cmp -s "$staging/model.tflite" "$MODELS_DIR/$release/model.tflite" \
            || ! cmp -s "$staging/model.json" "$MODELS_DIR/$release/model.json"; then
            die 3 "$MODELS_DIR/$release already exists with other content; move it away and run again"
        fi
        say "model: $release is already installed"
        remove_staging
    else
        run mv -T "$staging" "$MODELS_DIR/$release"
        staging=""
    fi
    run ln -sfn "$release" "$MODELS_DIR/current.new"
    run mv -T "$MODELS_DIR/current.new" "$MODELS_DIR/current"
    say "model: $MODELS_DIR/current -> $release"
}

install_config() {
    run install -d -m 0755 "$CONF_DIR"
    if [ -f "$CONF_FILE" ]; then
        if ! cmp -s "$HERE/config/digit-cam.toml" "$CONF_FILE"; then
            say "config: keeping your edited $CONF_FILE (the default is $HERE/config/digit-cam.toml)"
        fi
        return 0
    fi
    run install -m 0644 "$HERE/config/digit-cam.toml" "$CONF_FILE"
}

systemd_running() {
    [ -z "$ROOT" ] && [ -d /run/systemd/system ]  # never touch the host's systemd from a test root
}

install_service() {
    local changed=0
    if ! cmp -s "$HERE/systemd/digit-cam.service" "$UNIT_FILE"; then
        [ -d "$(dirname "$UNIT_FILE")" ] || run install -d -m 0755 "$(dirname "$UNIT_FILE")"
        run install -m 0644 "$HERE/systemd/digit-cam.service" "$UNIT_FILE"
        changed=1
    fi
    if [ "$start" -eq 0 ]; then
        say "service: installed, not started (--no-start); start it with: systemctl enable --now $SERVICE"
        return 0
    fi
    if ! systemd_running; then
        say "warning: systemd is not running here (container or chroot): the service is installed \
but not started"
        return 0
    fi
    if [ "$changed" -eq 1 ]; then
        run systemctl daemon-reload
    fi
    run systemctl enable "$SERVICE"
    run systemctl restart "$SERVICE"
    [ "$dry_run" -eq 1 ] || check_health
}

# The token the service was given (DIGIT_CAM_TOKEN in token.env, see the README): with one set,
# every path of the server, /healthz included, answers 401 without it.
service_token() {
    if [ -r "$TOKEN_FILE" ]; then
        sed -n 's/^DIGIT_CAM_TOKEN=//p' "$TOKEN_FILE" | tr -d "\"'" | tail -n 1
    fi
}

check_health() {
    local i
    for i in $(seq 1 30); do
        # The token goes through the environment, never the command line (ps shows that).
        if DIGIT_CAM_TOKEN=$(service_token) "$VENV/bin/python" -c 'import os, sys, urllib.request
token = os.environ.get("DIGIT_CAM_TOKEN")
request = urllib.request.Request(sys.argv[1], headers={"Authorization": f"Bearer {token}"} if token else {})
sys.exit(urllib.request.urlopen(request, timeout=2).status != 200)' "$HEALTH_URL" 2>/dev/null; then
            say "service: running and healthy ($HEALTH_URL after ${i}s)"
            return 0
        fi
        sleep 1
    done
    say "warning: $HEALTH_URL is not healthy after 30 s. The install is done; see why with:"
    say "  journalctl -u $SERVICE -n 50 --no-pager     (camera not detected? see deploy/README.md)"
    systemctl --no-pager --lines=0 status "$SERVICE" >&2 || true
}

# The service now holds the camera, so a second digit-cam would find it busy (exit 4): say the
# two ways that work.
next_steps() {
    say "done. The $SERVICE service is reading the camera. Either watch it:"
    say "  journalctl -u $SERVICE -o cat -f                        # one line per reading"
    say "  ssh -N -L 8080:127.0.0.1:8080 ${SUDO_USER:-pi}@$(hostname 2>/dev/null || echo raspberrypi).local"
    say "      (from a laptop, then open http://127.0.0.1:8080/)"
    say "or stop it and run digit-cam by hand (it is in /usr/local/bin):"
    say "  sudo systemctl stop $SERVICE && digit-cam --serve 8080    # sudo systemctl start $SERVICE to resume"
}

uninstall() {
    if [ "$dry_run" -eq 0 ] && [ "$(id -u)" -ne 0 ]; then
        die 1 "run as root: sudo $0 --uninstall"
    fi
    if systemd_running && systemctl cat "$SERVICE" >/dev/null 2>&1; then
        run systemctl disable --now "$SERVICE"
    fi
    if [ -e "$UNIT_FILE" ]; then
        run rm -f "$UNIT_FILE"
        if systemd_running; then
            run systemctl daemon-reload
            run systemctl reset-failed "$SERVICE" || true
        fi
    fi
    if [ "$(readlink "$LINK" 2>/dev/null)" = "$VENV/bin/digit-cam" ]; then
        run rm -f "$LINK"
    fi
    run rm -rf "$PREFIX" "$CONF_DIR" "$STATE_DIR"
    say "removed digit-cam; the apt packages it installed stay (other software may use them)"
}

main() {
    parse_args "$@"
    trap remove_temporaries EXIT
    if [ "$action" = uninstall ]; then
        uninstall
        return 0
    fi
    check_platform "$@"
    if [ -x "$PYTHON" ]; then
        check_python  # fail before installing anything on a too-old Python
        install_apt_packages
    else
        install_apt_packages
        check_python
    fi
    install_venv
    run install -d -m 0755 "$MODELS_DIR"
    install_model
    install_config
    install_service
    next_steps
}

# Sourced by tests (to run one function against a scratch directory), run otherwise.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    main "$@"
fi
