#!/usr/bin/env bash
# deploy/rehearse-systemd.sh: start the real, hardened digit-cam.service under systemd as PID 1
# in a systemd-nspawn container, on the demo source, and check it starts, reads, reloads a new
# model and serves /healthz from inside its sandbox. By hand (not part of the test suite: it needs
# root and systemd-nspawn, and boots a container for a minute):
#
#   sudo apt-get install systemd-container
#   sudo deploy/rehearse-systemd.sh                 # this checkout, python3's packages
#   sudo PYTHON=/path/to/venv/bin/python deploy/rehearse-systemd.sh
#
# The container is this machine's own root, read-only (--volatile=state: /var is a fresh tmpfs),
# so no image is downloaded. Into it are bound, read-only: the unit file (unchanged) and a
# drop-in that only swaps ExecStart's source for the demo (the camera is the one thing a
# container cannot have), the checkout's code, a Python installation and a site-packages dir
# with numpy/OpenCV/ai-edge-litert (as /opt/python and /opt/deps), the default config and two
# model releases. A one-shot probe unit inside does the checks and writes report.json; the
# script prints it and exits 0 only when every check passed.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly HERE
repo=${HERE%/deploy}
python=${PYTHON:-python3}
timeout_s=150
keep=0

usage() {
    cat <<USAGE
usage: rehearse-systemd.sh [--repo DIR] [--timeout S] [--keep]
  --repo     the digit-edge checkout to run (default: $repo)
  --timeout  give up on the container after S seconds (default $timeout_s)
  --keep     keep the scratch directory (journal, report) for a look afterwards
The Python whose installation and site-packages are used is \$PYTHON (default python3); it must
have numpy, OpenCV and a TFLite runtime (pip install '.[edge]').
USAGE
}

fail() { echo "rehearse-systemd.sh: error: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
    case $1 in
        --repo) [ $# -ge 2 ] || { usage >&2; exit 2; }; repo=$2; shift ;;
        --timeout) [ $# -ge 2 ] || { usage >&2; exit 2; }; timeout_s=$2; shift ;;
        --keep) keep=1 ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; echo "rehearse-systemd.sh: unknown argument: $1" >&2; exit 2 ;;
    esac
    shift
done

[ "$(id -u)" -eq 0 ] || fail "run as root (systemd-nspawn needs it)"
command -v systemd-nspawn >/dev/null || fail "systemd-nspawn missing: apt-get install systemd-container"
[ -x /lib/systemd/systemd ] || [ -x /usr/lib/systemd/systemd ] || fail "no systemd on this machine to boot"
python_home=$("$python" -c 'import sys; print(sys.base_prefix)')
site=$("$python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
pyver=$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
"$python" -c 'import numpy, cv2' 2>/dev/null || fail "$python lacks numpy or OpenCV: pip install '.[edge]'"

work=$(mktemp -d /var/tmp/digit-edge-systemd.XXXXXX)
chmod 0755 "$work"
cleanup() {
    if [ "$keep" -eq 0 ]; then rm -rf "$work"; else echo "rehearse-systemd.sh: kept $work" >&2; fi
}
trap cleanup EXIT

# --- /opt/digit-edge: a venv on the bound Python, seeing the deps and the checkout ------------
venv=$work/opt/venv
mkdir -p "$venv/bin" "$venv/lib/python$pyver/site-packages"
ln -s "/opt/python/bin/python$pyver" "$venv/bin/python"
printf 'home = /opt/python/bin\ninclude-system-site-packages = false\nversion = %s\n' "$pyver" >"$venv/pyvenv.cfg"
printf '/opt/digit-edge/src\n/opt/deps\n' >"$venv/lib/python$pyver/site-packages/digit-edge.pth"
cat >"$venv/bin/digit-cam" <<'EOF'
#!/opt/digit-edge/venv/bin/python
import sys
from edge.cam.cli import main
sys.exit(main())
EOF
chmod 0755 "$venv/bin/digit-cam"

# --- models: the release model, and a second release (same weights, other bytes) to reload ----
"$python" - "$repo/models/edge/model_int8.tflite" "$work/models" <<'EOF'
import hashlib, json, sys
from pathlib import Path

source, models = Path(sys.argv[1]), Path(sys.argv[2])
for padding in (b"", b"rehearse-systemd: second release"):
    data = source.read_bytes() + padding  # flatbuffers ignore a tail
    sha = hashlib.sha256(data).hexdigest()
    release = models / sha[:12]
    release.mkdir(parents=True)
    (release / "model.tflite").write_bytes(data)
    sidecar = json.loads(source.with_suffix(".json").read_text())
    sidecar.update(tflite_sha256=sha, tflite_bytes=len(data))
    (release / "model.json").write_text(json.dumps(sidecar))
    print(sha)
EOF
first=$(find "$work/models" -mindepth 1 -maxdepth 1 -type d | head -n 1)
ln -s "$(basename "$first")" "$work/models/current"
chmod -R a+rX "$work/models"

# --- units: the real one, a drop-in for the demo source, and the probe ------------------------
mkdir -p "$work/units/digit-cam.service.d" "$work/results" "$work/conf"
cp "$HERE/systemd/digit-cam.service" "$work/units/digit-cam.service"
cp "$HERE/config/digit-cam.toml" "$work/conf/digit-cam.toml"
cat >"$work/units/digit-cam.service.d/rehearsal.conf" <<EOF
# The only changes: the demo source (no camera in a container) and where the bound Python's
# shared library is (its own rpath points into /root, which ProtectHome=yes hides).
[Service]
ExecStart=
ExecStart=/opt/digit-edge/venv/bin/digit-cam --config /etc/digit-edge/digit-cam.toml --source demo
Environment=LD_LIBRARY_PATH=/opt/python/lib
EOF
cat >"$work/units/digit-cam-probe.service" <<'EOF'
[Unit]
Description=rehearse-systemd.sh: check digit-cam.service from inside the container
Wants=digit-cam.service
After=digit-cam.service

[Service]
Type=oneshot
ExecStart=/usr/bin/python3 /probe/probe.py
ExecStopPost=/bin/systemctl --no-block poweroff
EOF
mkdir -p "$work/probe"
cat >"$work/probe/probe.py" <<'EOF'
"""Inside the container: health, a model reload through systemctl reload, the sandbox as seen
from /proc, and the journal; writes /results/report.json."""
import json, os, subprocess, time, urllib.request

URL = "http://127.0.0.1:8080/healthz"
MODELS = "/var/lib/digit-edge/models"
report = {"checks": {}}


def health():
    try:
        with urllib.request.urlopen(URL, timeout=2) as response:
            return response.status, json.load(response)
    except Exception as error:
        return None, {"error": str(error)}


def wait(predicate, seconds=90):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        status, body = health()
        if predicate(status, body):
            return status, body
        time.sleep(1)
    return health()


def show(prop):
    return subprocess.run(["systemctl", "show", "-p", prop, "--value", "digit-cam"], capture_output=True,
                          text=True).stdout.strip()


started = time.monotonic()
status, body = wait(lambda s, b: s == 200 and b.get("frames", 0) >= 5)
report["first_health"] = {"status": status, "body": body, "after_s": round(time.monotonic() - started, 1)}
report["checks"]["starts_reads_and_serves_healthz"] = status == 200 and body.get("frames", 0) >= 5
first_sha = body.get("model_sha256")

pid = int(show("MainPID") or 0)
proc = {}
if pid:
    with open(f"/proc/{pid}/status") as handle:
        proc = dict(line.rstrip("\n").split(":\t", 1) for line in handle if ":\t" in line)
report["sandbox"] = {"user": show("User"), "dynamic_user": show("DynamicUser"), "uid": proc.get("Uid"),
                     "groups": proc.get("Groups"), "no_new_privs": proc.get("NoNewPrivs"),
                     "cap_eff": proc.get("CapEff"), "seccomp": proc.get("Seccomp"),
                     "protect_system": show("ProtectSystem"), "device_policy": show("DevicePolicy")}
report["checks"]["unprivileged_sandbox"] = (
    pid > 0 and proc.get("Uid", "0").split()[0] != "0" and proc.get("NoNewPrivs") == "1"
    and int(proc.get("CapEff", "1"), 16) == 0 and proc.get("Seccomp") == "2")

mounts = {}
if pid:
    with open(f"/proc/{pid}/mountinfo") as handle:
        for line in handle:
            fields = line.split()
            mounts[fields[4]] = fields[5]  # mount point -> per-mount options (ro/rw)
report["sandbox"]["mounts"] = {point: mounts.get(point) for point in ("/", "/var/lib/digit-edge/models", "/tmp")}
report["checks"]["read_only_file_system"] = all(
    (mounts.get(point) or "").startswith("ro") for point in ("/", "/var/lib/digit-edge/models"))
log = subprocess.run(["journalctl", "-b", "--no-pager", "-o", "cat"], capture_output=True, text=True).stdout
report["systemd_warnings"] = [line for line in log.splitlines() if "digit-cam" in line and any(
    word in line.lower() for word in ("ignoring", "not supported", "unsupported", "failed"))]

releases = sorted(name for name in os.listdir(MODELS) if name != "current")
current = os.readlink(f"{MODELS}/current")
other = next(name for name in releases if name != current)
os.symlink(other, f"{MODELS}/current.new")
os.rename(f"{MODELS}/current.new", f"{MODELS}/current")
reload = subprocess.run(["systemctl", "reload", "digit-cam"], capture_output=True, text=True)
status, body = wait(lambda s, b: s == 200 and (b.get("model_sha256") or "")[:12] == other, 60)
report["reload"] = {"systemctl_rc": reload.returncode, "stderr": reload.stderr, "status": status,
                    "from": (first_sha or "")[:12], "to": (body.get("model_sha256") or "")[:12],
                    "main_pid_unchanged": int(show("MainPID") or 0) == pid}
report["checks"]["reloads_a_new_model_in_place"] = (
    reload.returncode == 0 and status == 200 and (body.get("model_sha256") or "")[:12] == other
    and report["reload"]["main_pid_unchanged"])
report["state"] = {"active": show("ActiveState"), "restarts": show("NRestarts")}
report["checks"]["still_active_without_restarts"] = show("ActiveState") == "active" and show("NRestarts") == "0"
report["journal"] = subprocess.run(["journalctl", "-u", "digit-cam", "--no-pager", "-o", "cat", "-n", "40"],
                                   capture_output=True, text=True).stdout.splitlines()
with open("/results/report.json", "w") as handle:
    json.dump(report, handle, indent=1)
EOF

# --- boot -------------------------------------------------------------------------------------
echo "rehearse-systemd.sh: booting this machine's root read-only in systemd-nspawn (up to ${timeout_s}s)" >&2
status=0
timeout "$timeout_s" systemd-nspawn --quiet --register=no --keep-unit -M digit-edge-rehearsal \
    --directory=/ --volatile=yes --console=pipe \
    --bind-ro="$python_home:/opt/python" --bind-ro="$site:/opt/deps" \
    --bind-ro="$repo:/opt/digit-edge/src" --bind-ro="$venv:/opt/digit-edge/venv" \
    --bind-ro="$work/conf:/etc/digit-edge" --bind="$work/models:/var/lib/digit-edge/models" \
    --bind-ro="$work/units/digit-cam.service:/etc/systemd/system/digit-cam.service" \
    --bind-ro="$work/units/digit-cam.service.d:/etc/systemd/system/digit-cam.service.d" \
    --bind-ro="$work/units/digit-cam-probe.service:/etc/systemd/system/digit-cam-probe.service" \
    --bind-ro="$work/probe:/probe" --bind="$work/results:/results" \
    --boot -- systemd.wants=digit-cam-probe.service >"$work/console.log" 2>&1 || status=$?
[ -f "$work/results/report.json" ] || {
    tail -n 30 "$work/console.log" >&2
    fail "the probe wrote no report (container exit $status)"
}
cat "$work/results/report.json"
echo
"$python" - "$work/results/report.json" <<'EOF'
import json, sys

checks = json.load(open(sys.argv[1]))["checks"]
for name, ok in checks.items():
    print(f"rehearse-systemd.sh: {'ok  ' if ok else 'FAIL'} {name}", file=sys.stderr)
sys.exit(0 if checks and all(checks.values()) else 1)
EOF
