#!/usr/bin/env bash
# deploy/wheelhouse.sh: every wheel a 64-bit Pi needs for digit-cam, for offline installs.
#
#   deploy/wheelhouse.sh --python 3.11 --out wheelhouse-bookworm   # Pi OS bookworm
#   deploy/wheelhouse.sh --python 3.13 --out wheelhouse-trixie     # Pi OS trixie
#   then on the Pi: sudo deploy/install.sh --wheels wheelhouse-bookworm
#
# Runs on any machine with Python and pip (downloads from PyPI once); builds the digit-edge wheel
# from this checkout (build-wheel.sh: version from git, built in a temporary copy), downloads the
# edge extra's aarch64 wheels (never TensorFlow) and writes SHA256SUMS, which install.sh checks.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly HERE
repo=${HERE%/deploy}
python_version=3.11
out=""
host_python=${PYTHON:-python3}

usage() {
    cat <<USAGE
usage: wheelhouse.sh --out DIR [--python 3.11|3.13] [--repo DIR]
  --python   the Pi's Python: 3.11 (bookworm: deploy/constraints-bookworm.txt) or 3.13 (trixie:
             deploy/constraints-trixie.txt)
  --out      directory for the wheels (created)
  --repo     the digit-edge checkout to build (default: $repo)
The Python running pip is \$PYTHON (default python3).
USAGE
}

while [ $# -gt 0 ]; do
    case $1 in
        --python) [ $# -ge 2 ] || { usage >&2; exit 2; }; python_version=$2; shift ;;
        --out) [ $# -ge 2 ] || { usage >&2; exit 2; }; out=$2; shift ;;
        --repo) [ $# -ge 2 ] || { usage >&2; exit 2; }; repo=$2; shift ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; echo "wheelhouse.sh: unknown argument: $1" >&2; exit 2 ;;
    esac
    shift
done
[ -n "$out" ] || { usage >&2; echo "wheelhouse.sh: --out is required" >&2; exit 2; }
case $python_version in
    3.11) constraints=(--constraint "$HERE/constraints-bookworm.txt") ;;
    3.13) constraints=(--constraint "$HERE/constraints-trixie.txt") ;;
    *) echo "wheelhouse.sh: --python must be 3.11 (bookworm) or 3.13 (trixie)" >&2; exit 2 ;;
esac

mkdir -p "$out"
rm -f "$out/SHA256SUMS"
wheel=$(PYTHON=$host_python "$HERE/build-wheel.sh" --repo "$repo" --out "$out") ||
    { echo "wheelhouse.sh: building the digit-edge wheel failed" >&2; exit 1; }
# glibc: bookworm has 2.36, trixie 2.41; ai-edge-litert ships manylinux_2_27 aarch64 wheels.
"$host_python" -m pip download --quiet --dest "$out" --only-binary=:all: \
    --implementation cp --python-version "$python_version" \
    --platform manylinux_2_27_aarch64 --platform manylinux_2_17_aarch64 \
    --platform manylinux2014_aarch64 \
    "${constraints[@]}" "${wheel}[edge]"
if find "$out" -maxdepth 1 -iname 'tensorflow*' | grep -q .; then
    echo "wheelhouse.sh: TensorFlow got into $out: the edge extra must never need it" >&2
    exit 1
fi
(cd "$out" && sha256sum -- *.whl >SHA256SUMS)
echo "wheelhouse.sh: $(find "$out" -maxdepth 1 -name '*.whl' | wc -l) wheels in $out for CPython $python_version aarch64"
