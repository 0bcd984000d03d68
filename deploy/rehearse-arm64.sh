#!/usr/bin/env bash
# deploy/rehearse-arm64.sh: rehearse the Pi install on any x86_64 Debian machine, by hand (it is
# not part of the test suite: minutes, and it downloads Debian packages and wheels).
#
#   sudo deploy/rehearse-arm64.sh                          # bookworm arm64 (Python 3.11)
#   sudo deploy/rehearse-arm64.sh --suite trixie           # trixie arm64 (Python 3.13)
#   sudo deploy/rehearse-arm64.sh --repo /path/to/checkout # rehearse another checkout
#
# Builds a Debian arm64 root with debootstrap, builds an offline wheelhouse (wheelhouse.sh) and
# runs, inside the root under qemu-user-static: install.sh --wheels, digit-cam --source demo
# --frames 50 --json, the self-test, install.sh again (idempotence) and install.sh --uninstall.
# Needs: apt-get install debootstrap qemu-user-static binfmt-support, and pip on the host.
# What it proves: the aarch64 wheels resolve and install offline for that Python (numpy pinned as
# on the Pi), install.sh works outside a checkout, the package reads the demo scenes and passes
# its self-test on arm64 code, and a re-install and --uninstall leave nothing behind.
# What it does not: the systemd unit and its sandbox (no systemd in a chroot: see
# rehearse-systemd.sh), libcamera/picamera2 and the camera (the Raspberry Pi apt repository is not
# used, so install.sh runs without the camera, as on plain Debian), a Pi 5's 16K memory pages
# (qemu-user runs on the host's 4K pages), and speed (emulated timings only prove it works).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly HERE
repo=${HERE%/deploy}
suite=bookworm
workdir=/var/tmp/digit-edge-rehearsal
mirror=http://deb.debian.org/debian
frames=50

usage() {
    cat <<USAGE
usage: rehearse-arm64.sh [--suite bookworm|trixie] [--repo DIR] [--workdir DIR] [--mirror URL]
  --suite    Debian release to rehearse (default bookworm)
  --repo     digit-edge checkout to install (default: $repo)
  --workdir  where the arm64 roots and logs go (default: $workdir; the root is kept and reused)
  --mirror   Debian mirror for debootstrap (default: $mirror)
USAGE
}

while [ $# -gt 0 ]; do
    case $1 in
        --suite) [ $# -ge 2 ] || { usage >&2; exit 2; }; suite=$2; shift ;;
        --repo) [ $# -ge 2 ] || { usage >&2; exit 2; }; repo=$2; shift ;;
        --workdir) [ $# -ge 2 ] || { usage >&2; exit 2; }; workdir=$2; shift ;;
        --mirror) [ $# -ge 2 ] || { usage >&2; exit 2; }; mirror=$2; shift ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; echo "rehearse-arm64.sh: unknown argument: $1" >&2; exit 2 ;;
    esac
    shift
done
case $suite in
    bookworm) python_version=3.11 ;;
    trixie) python_version=3.13 ;;
    *) echo "rehearse-arm64.sh: --suite must be bookworm or trixie" >&2; exit 2 ;;
esac

fail() { echo "rehearse-arm64.sh: error: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || fail "run as root (debootstrap and chroot need it)"
command -v debootstrap >/dev/null || fail "debootstrap missing: apt-get install debootstrap"
command -v qemu-aarch64-static >/dev/null || fail "qemu-aarch64-static missing: apt-get install qemu-user-static binfmt-support"
binfmt=/proc/sys/fs/binfmt_misc/qemu-aarch64
if [ ! -e "$binfmt" ] || ! grep -qx enabled "$binfmt"; then
    fail "the kernel cannot run arm64 binaries: $binfmt is missing or disabled. Try:
  mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc; update-binfmts --enable qemu-aarch64
(in a container, the host must allow binfmt_misc)"
fi

root=$workdir/$suite-arm64
log=$workdir/rehearsal-$suite.log
mkdir -p "$workdir"
: >"$log"
declare -A seconds

# Runs a named step, records its wall time, and appends its output to the log.
step() {
    local name=$1 start status=0
    shift
    echo "== $name: $*" | tee -a "$log"
    start=$(date +%s.%N)
    "$@" 2>&1 | tee -a "$log" || status=$?
    seconds[$name]=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
    echo "== $name: exit $status, ${seconds[$name]} s" | tee -a "$log"
    return "$status"
}

unmount_all() {
    local point
    for point in dev/pts dev proc; do
        if mountpoint -q "$root/$point"; then
            umount -l "$root/$point" || true
        fi
    done
}
trap unmount_all EXIT

in_root() {
    chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 "$@"
}

if [ ! -e "$root/.debootstrap-done" ]; then
    rm -rf "$root"
    step debootstrap debootstrap --arch=arm64 --variant=minbase --include=ca-certificates \
        "$suite" "$root" "$mirror"
    touch "$root/.debootstrap-done"
else
    echo "== debootstrap: reusing $root" | tee -a "$log"
fi

mount -t proc proc "$root/proc"
# /sys stays unmounted on purpose: with the host's /sys, the cpuinfo library inside ai-edge-litert
# reads an x86 CPU topology, finds no ARM cores and Interpreter() segfaults under qemu-user (an
# emulation artifact; a Pi's own /sys is fine). Without /sys it falls back to one core.
mount --bind /dev "$root/dev"
mount --bind /dev/pts "$root/dev/pts"
cp /etc/resolv.conf "$root/etc/resolv.conf"

step arch in_root uname -m
rm -rf "$root/tmp/wheels" "$root/tmp/digit-edge"
step wheelhouse "$HERE/wheelhouse.sh" --python "$python_version" --out "$root/tmp/wheels" --repo "$repo"
# Only deploy/ goes onto the "Pi", as when a user copies it with the wheelhouse.
mkdir -p "$root/tmp/digit-edge"
cp -r "$HERE" "$root/tmp/digit-edge/deploy"

step install in_root bash /tmp/digit-edge/deploy/install.sh --wheels /tmp/wheels --no-selftest
step versions in_root /opt/digit-edge/venv/bin/python -c '
import importlib.metadata as md, platform, numpy, cv2
print(platform.machine(), platform.python_version(), "numpy", numpy.__version__, numpy.__file__)
print("opencv", cv2.__version__, "ai-edge-litert", md.version("ai-edge-litert"))
import importlib.util
print("tensorflow importable:", importlib.util.find_spec("tensorflow") is not None)'
model=/var/lib/digit-edge/models/current/model.tflite
if [ -x "$root/opt/digit-edge/venv/bin/digit-cam" ]; then
    # --frame-timeout 60: emulated, a demo frame can take seconds (trixie's numpy 2.2 and OpenCV
    # 5 took ~1.7 s a frame under qemu 7.2), past digit-cam's 5 s default for a stalled camera.
    step demo in_root /opt/digit-edge/venv/bin/digit-cam --source demo --frames "$frames" --json \
        --frame-timeout 60 --model "$model"
    step selftest in_root /opt/digit-edge/venv/bin/digit-cam selftest --model "$model"
else
    echo "== digit-cam is not in this package yet: classifying the bundled digits instead" | tee -a "$log"
    step demo in_root /opt/digit-edge/venv/bin/python -c '
import sys, time, numpy as np, importlib.resources as res
from edge.interpreter import DigitClassifier
c = DigitClassifier.from_path(sys.argv[1]); print(c.describe())
data = np.load(res.files("edge") / "data" / "mnist_test.npz")
start = time.perf_counter(); p = c.predict(data["images"])
pred = p.argmax(1) if p.ndim == 2 else p
print("accuracy %.4f on %d digits in %.1f s" % ((pred == data["labels"]).mean(), len(pred), time.perf_counter() - start))' \
        "$model"
fi
step reinstall in_root bash /tmp/digit-edge/deploy/install.sh --wheels /tmp/wheels --no-selftest
step uninstall in_root bash /tmp/digit-edge/deploy/install.sh --uninstall
# shellcheck disable=SC2016  # $p expands inside the root's shell
step clean in_root sh -c 'for p in /opt/digit-edge /etc/digit-edge /var/lib/digit-edge /etc/systemd/system/digit-cam.service \
    /usr/local/bin/digit-cam; do
    if [ -e "$p" ]; then echo "left behind: $p"; exit 1; fi; done; echo "nothing left behind"'

echo "== summary ($suite arm64 under qemu-user-static, seconds):" | tee -a "$log"
for name in debootstrap wheelhouse install versions demo selftest reinstall uninstall; do
    if [ -n "${seconds[$name]:-}" ]; then
        printf '   %-12s %s\n' "$name" "${seconds[$name]}" | tee -a "$log"
    fi
done
echo "== log: $log"
