#!/usr/bin/env bash
# deploy/build-wheel.sh: build the digit-edge wheel from a checkout; prints the wheel's path.
#
#   deploy/build-wheel.sh --out DIR                # this checkout
#   deploy/build-wheel.sh --out DIR --repo PATH    # another checkout
#
# Used by install.sh, wheelhouse.sh and the Ansible role (on the controller), so every Pi gets
# this project's own wheel by file, never "digit-edge" by name from a package index (no such
# project is published there, and anyone could publish one). Two details make upgrades work:
#   - the version comes from git: pyproject's version + ".post<commits>+g<hash>" (".dirty" when
#     the tree has changes), so each commit is a new version rather than "already satisfied";
#   - it builds in a temporary copy, so a "sudo install.sh" leaves no root-owned build/ or
#     *.egg-info in the user's checkout.
# The Python building it is $PYTHON (default python3). When it has setuptools and wheel, the build
# uses them (no download); otherwise pip fetches them into an isolated build environment.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly HERE
repo=${HERE%/deploy}
out=""
python=${PYTHON:-python3}

usage() {
    cat <<USAGE
usage: build-wheel.sh --out DIR [--repo DIR]
  --out    directory for the wheel (created); the wheel's path is printed on stdout
  --repo   the digit-edge checkout to build (default: $repo)
The Python running pip is \$PYTHON (default python3).
USAGE
}

fail() { echo "build-wheel.sh: error: $*" >&2; exit "${2:-1}"; }

while [ $# -gt 0 ]; do
    case $1 in
        --out) [ $# -ge 2 ] || { usage >&2; exit 2; }; out=$2; shift ;;
        --repo) [ $# -ge 2 ] || { usage >&2; exit 2; }; repo=$2; shift ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; echo "build-wheel.sh: unknown argument: $1" >&2; exit 2 ;;
    esac
    shift
done
[ -n "$out" ] || { usage >&2; fail "--out is required" 2; }
[ -f "$repo/pyproject.toml" ] || fail "$repo is not a digit-edge checkout (no pyproject.toml)" 3

# git refuses a repository owned by another user (sudo install.sh in pi's checkout) unless told.
git_in_repo() {
    git -c safe.directory="$repo" -C "$repo" "$@"
}

is_git_checkout() {
    command -v git >/dev/null && git_in_repo rev-parse --is-inside-work-tree >/dev/null 2>&1
}

# pyproject's version, plus where in git history this build comes from (PEP 440 local version).
build_version() {
    local base count hash local_part
    base=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$repo/pyproject.toml" | head -n 1)
    [ -n "$base" ] || fail "no version = \"...\" line in $repo/pyproject.toml"
    if ! is_git_checkout; then
        echo "$base"
        return 0
    fi
    count=$(git_in_repo rev-list --count HEAD)
    hash=$(git_in_repo rev-parse --short=12 HEAD)
    local_part=g$hash
    if [ -n "$(git_in_repo status --porcelain)" ]; then
        local_part=$local_part.dirty
    fi
    echo "$base.post$count+$local_part"
}

# The files a build needs, copied to $1: git's view (tracked and new, unignored files) in a
# checkout, else everything but caches, virtualenvs and build output.
copy_sources() {
    local target=$1
    if is_git_checkout; then
        git_in_repo ls-files -z --cached --others --exclude-standard |
            while IFS= read -r -d '' file; do
                if [ -f "$repo/$file" ]; then printf '%s\0' "$file"; fi
            done |
            tar -C "$repo" --null -T - -cf - | tar -C "$target" -xf -
    else
        tar -C "$repo" --exclude=.git --exclude=build --exclude=dist --exclude='*.egg-info' \
            --exclude=__pycache__ --exclude=.venv --exclude=venv -cf - . | tar -C "$target" -xf -
    fi
}

version=$(build_version)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/src" "$out"
copy_sources "$work/src"
sed -i "0,/^version = \".*\"$/s//version = \"$version\"/" "$work/src/pyproject.toml"
isolation=()
if "$python" -c 'import setuptools, wheel' 2>/dev/null; then
    isolation=(--no-build-isolation)
fi
rm -f "$out"/digit_edge-*.whl
"$python" -m pip wheel --quiet --disable-pip-version-check --no-cache-dir --no-deps "${isolation[@]}" \
    --wheel-dir "$out" "$work/src" >&2 || fail "pip could not build the wheel from $repo"
wheel=$(find "$out" -maxdepth 1 -name 'digit_edge-*.whl' | head -n 1)
[ -n "$wheel" ] || fail "pip built no digit_edge wheel in $out"
echo "build-wheel.sh: $wheel (version $version)" >&2
echo "$wheel"
