"""Issue 13: hostile sidecars, bad reloads, a starved server, decompression bombs, one-line errors.

Each test here failed before its fix (a traceback, a hang, a write outside the models directory,
or a silent success); servers bind 127.0.0.1 only, and bombs are built as headers, never decoded.
"""

from __future__ import annotations

import io
import json
import time
from pathlib import Path

import pytest

from edge import errors
from edge.cam.cli import main as cam_main
from edge.cam.live import Control, Options, Runner
from edge.cam.selftest import main as selftest_main
from edge.interpreter import DigitClassifier, ModelError
from edge.metadata import MetadataError, ModelMetadata
from tests.conftest import REPO_ROOT, needs_tensorflow, wait_for

INT8 = REPO_ROOT / "models" / "edge" / "model_int8.tflite"
SIDECAR = json.loads(INT8.with_suffix(".json").read_text())


def model_with_sidecar(directory: Path, sidecar: bytes | dict, name: str = "model") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    tflite = directory / f"{name}.tflite"
    tflite.write_bytes(INT8.read_bytes())
    raw = sidecar if isinstance(sidecar, bytes) else json.dumps(sidecar).encode()
    tflite.with_suffix(".json").write_bytes(raw)
    return tflite


HOSTILE_SIDECARS = {
    "random bytes": bytes(range(256)) * 4,
    "non-UTF-8 in a string": json.dumps(SIDECAR).replace('"int8"', '"int8\udcff"', 1).encode(
        "utf-8", "surrogateescape"),
    "sha256 null": {**SIDECAR, "tflite_sha256": None},
    "sha256 path traversal": {**SIDECAR, "tflite_sha256": "../../../../"},
    "sha256 upper case": {**SIDECAR, "tflite_sha256": SIDECAR["tflite_sha256"].upper()},
    "accuracy a string": {**SIDECAR, "accuracy": "0.99"},
    "accuracy above 1": {**SIDECAR, "accuracy": 7},
    "labels a number": {**SIDECAR, "labels": 10},
    "input a list": {**SIDECAR, "input": [1, 28, 28, 1]},
    "input shape of strings": {**SIDECAR, "input": {**SIDECAR["input"], "shape": ["a"]}},
    "output dtype a number": {**SIDECAR, "output": {**SIDECAR["output"], "dtype": 8}},
    "pixel_scale NaN": json.dumps({**SIDECAR, "pixel_scale": float("nan")}).encode(),
    "tflite_bytes a bool": {**SIDECAR, "tflite_bytes": True},
    "format_version a float": {**SIDECAR, "format_version": 1.0},
    "a JSON list": [SIDECAR],
    "deeply nested": b"[" * 100_000 + b"]" * 100_000,
}


@pytest.mark.parametrize("case", sorted(HOSTILE_SIDECARS))
def test_a_hostile_sidecar_is_one_metadata_error(tmp_path, case):
    tflite = model_with_sidecar(tmp_path, HOSTILE_SIDECARS[case])
    with pytest.raises(MetadataError):
        ModelMetadata.read(tflite.with_suffix(".json"))
    with pytest.raises(ModelError):
        DigitClassifier.from_path(tflite)


@pytest.mark.parametrize("case", ["random bytes", "non-UTF-8 in a string", "sha256 null", "accuracy a string"])
def test_a_hostile_sidecar_is_exit_3_and_one_line_in_digit_cam_and_selftest(tmp_path, case, capsys):
    tflite = model_with_sidecar(tmp_path, HOSTILE_SIDECARS[case])
    assert cam_main(["--source", "demo", "--frames", "1", "--model", str(tflite)]) == errors.INPUT
    assert selftest_main(["--model", str(tflite)]) == errors.INPUT
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 2 and "Traceback" not in err, err


def test_the_release_sidecar_passes_the_schema_and_the_metadata_command(capsys):
    from edge.metadata import main as metadata_main

    assert metadata_main([str(INT8.with_suffix(".json")), "--tflite", str(INT8)]) == errors.OK
    assert capsys.readouterr().out.strip() == SIDECAR["tflite_sha256"]
    assert metadata_main([str(INT8.with_suffix(".json")), "--tflite", str(INT8.with_suffix(".json"))]) == errors.INPUT
    assert "does not match" in capsys.readouterr().err


# --- 3. a bad reload keeps the running model ------------------------------------------------

def reload_with(tmp_path: Path, tflite_bytes: bytes, sidecar: bytes | dict | None) -> tuple[Runner, str, str]:
    """A runner on a good model, then the files replaced and SIGHUP's flag set: what it logs."""
    model = model_with_sidecar(tmp_path / "models", SIDECAR)
    err = io.StringIO()
    runner = Runner(Options(source="demo", model=str(model)), Control(), out=io.StringIO(), err=err)
    runner.load_model()
    before = runner.recognizer.classifier.sha256
    model.write_bytes(tflite_bytes)
    if sidecar is None:
        model.with_suffix(".json").unlink()
    else:
        model.with_suffix(".json").write_bytes(sidecar if isinstance(sidecar, bytes) else json.dumps(sidecar).encode())
    runner.control.reload.set()
    runner.maybe_reload()
    return runner, before, err.getvalue()


@pytest.mark.parametrize("case", ["random bytes", "sha256 null", "accuracy a string", "deeply nested"])
def test_a_bad_sidecar_on_reload_keeps_the_old_model_and_logs_one_line(tmp_path, case):
    runner, before, log = reload_with(tmp_path, INT8.read_bytes(), HOSTILE_SIDECARS[case])
    assert runner.recognizer.classifier.sha256 == before
    assert log.count("\n") == 1 and "new model rejected" in log, log


def test_an_unexpected_failure_on_reload_keeps_the_old_model(tmp_path, monkeypatch):
    import edge.cam.live as live

    def broken(_options):
        raise IndexError("something nobody thought of")

    model = model_with_sidecar(tmp_path, SIDECAR)
    err = io.StringIO()
    runner = Runner(Options(source="demo", model=str(model)), Control(), out=io.StringIO(), err=err)
    runner.load_model()
    old = runner.recognizer
    monkeypatch.setattr(live, "load_recognizer", broken)
    runner.control.reload.set()
    runner.maybe_reload()
    assert runner.recognizer is old and "IndexError: something nobody thought of" in err.getvalue()


@pytest.fixture(scope="module")
def odd_models(tmp_path_factory) -> dict[str, Path]:
    """Float models the sweep found: an output of (1, 2, 10), and a batch fixed at 1."""
    pytest.importorskip("keras", reason="building odd models needs TensorFlow: pip install -e '.[train]'")
    import keras

    from convert.pipeline import to_tflite

    directory = tmp_path_factory.mktemp("odd")
    two = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(20),
                            keras.layers.Reshape((2, 10))])
    inputs = keras.Input((28, 28, 1), batch_size=1)
    fixed = keras.Model(inputs, keras.layers.Dense(10)(keras.layers.Flatten()(inputs)))
    paths = {}
    for name, model in (("two_by_ten", two), ("fixed_batch", fixed)):
        paths[name] = directory / f"{name}.tflite"
        paths[name].write_bytes(to_tflite(model, "float"))
    return paths


@pytest.mark.slow
def test_odd_output_shapes_are_refused_and_a_fixed_batch_is_fed_one_at_a_time(odd_models, tmp_path, capsys):
    import numpy as np

    with pytest.raises(ModelError, match=r"model output is \(1, 2, 10\)"):
        DigitClassifier.from_path(odd_models["two_by_ten"])
    fixed = DigitClassifier.from_path(odd_models["fixed_batch"])
    crops = np.random.default_rng(0).integers(0, 255, (5, 28, 28), dtype=np.uint8)
    together = fixed.probabilities(crops)
    alone = np.concatenate([fixed.probabilities(crops[i:i + 1]) for i in range(5)])
    assert together.shape == (5, 10) and np.allclose(together, alone, atol=1e-6)
    assert cam_main(["--source", "demo", "--frames", "3", "--model", str(odd_models["fixed_batch"])]) == errors.OK
    assert cam_main(["--source", "demo", "--frames", "1", "--model", str(odd_models["two_by_ten"])]) == errors.INPUT
    assert "Traceback" not in capsys.readouterr().err
    runner, before, log = reload_with(tmp_path, odd_models["two_by_ten"].read_bytes(), None)
    assert runner.recognizer.classifier.sha256 == before and "model output is (1, 2, 10)" in log


# --- 1 and 2. install.sh: names from the file, staged, the active release never written ----------

def snapshot(root: Path) -> dict[str, bytes | None]:
    return {str(p.relative_to(root)): (p.read_bytes() if p.is_file() and not p.is_symlink() else None)
            for p in sorted(root.rglob("*"))}


def install_model_sh(root: Path, model: Path, *, selftest: bool = False):
    """deploy/install.sh's install_model, sourced, against ``root``/var/lib/digit-edge/models."""
    import os
    import subprocess
    import sys

    bin_dir = root / "opt" / "digit-edge" / "venv" / "bin"
    if not bin_dir.exists():
        bin_dir.mkdir(parents=True)
        (bin_dir / "python").write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
        (bin_dir / "digit-cam").write_text(f'#!/bin/sh\nexec "{sys.executable}" -m edge "$@"\n')
        for tool in bin_dir.iterdir():
            tool.chmod(0o755)
    env = dict(os.environ, DIGIT_EDGE_ROOT=str(root), PYTHONPATH=str(REPO_ROOT))
    script = (f'source "{REPO_ROOT}/deploy/install.sh"; model="{model}"; selftest={int(selftest)}; '
              'install_model')
    return subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture
def device_root(tmp_path) -> Path:
    """A scratch "/" with a models directory whose current release is the shipped model."""
    root = tmp_path / "root"
    (root / "var" / "lib" / "digit-edge" / "models").mkdir(parents=True)
    first = model_with_sidecar(tmp_path / "first", SIDECAR)
    assert install_model_sh(root, first).returncode == 0
    (root / "victim").mkdir()
    (root / "victim" / "keep.txt").write_text("not digit-edge's")
    return root


def test_install_sh_refuses_a_traversing_sidecar_and_writes_nothing_outside_models(tmp_path, device_root):
    before = snapshot(tmp_path)
    evil = model_with_sidecar(tmp_path / "controller", {**SIDECAR, "tflite_sha256": "../../victim/x"}, "evil")
    before = snapshot(tmp_path)
    result = install_model_sh(device_root, evil)
    assert result.returncode == errors.INPUT, result.stderr
    assert "tflite_sha256 must be 64 lower-case hex digits" in result.stderr
    assert snapshot(tmp_path) == before  # no staging left, nothing written anywhere


def test_install_sh_never_writes_into_the_active_release(tmp_path, device_root):
    models = device_root / "var" / "lib" / "digit-edge" / "models"
    current = (models / "current").resolve()
    # New bytes, but the sidecar still carries the current model's sha256.
    impostor = model_with_sidecar(tmp_path / "controller", SIDECAR, "impostor")
    impostor.write_bytes(INT8.read_bytes() + b"not the model the sidecar describes")
    before = snapshot(tmp_path)
    result = install_model_sh(device_root, impostor)
    assert result.returncode == errors.INPUT and "does not match the sidecar" in result.stderr
    assert snapshot(tmp_path) == before and (models / "current").resolve() == current


def test_install_sh_stages_verifies_and_switches_a_good_model(tmp_path, device_root):
    import hashlib

    models = device_root / "var" / "lib" / "digit-edge" / "models"
    new = model_with_sidecar(tmp_path / "controller", SIDECAR, "new")
    new.write_bytes(INT8.read_bytes() + b"padding a flatbuffer ignores")
    sha = hashlib.sha256(new.read_bytes()).hexdigest()
    new.with_suffix(".json").write_text(json.dumps({**SIDECAR, "tflite_sha256": sha,
                                                    "tflite_bytes": new.stat().st_size}))
    result = install_model_sh(device_root, new, selftest=True)
    assert result.returncode == 0, result.stderr
    assert (models / "current").readlink() == Path(sha[:12])
    assert sorted(p.name for p in models.iterdir()) == sorted([SIDECAR["tflite_sha256"][:12], sha[:12], "current"])
    assert (models / sha[:12] / "model.tflite").read_bytes() == new.read_bytes()


# --- 5. the HTTP server: headers, host check, tokens, timeouts, a connection cap --------------

TOKEN = "0123456789abcdef0123456789abcdef"  # openssl rand -hex 16 shape: 128 bits


@pytest.fixture
def served(server_factory):
    """start(spec, token) -> (host, port) of a server showing an empty LiveState."""
    def start(spec="127.0.0.1:0", token=TOKEN):
        return server_factory(spec, token=token).server_address[:2]

    return start


def raw_get(host, port, path="/", headers=None, family=None):
    import http.client

    connection = http.client.HTTPConnection(host, port, timeout=5)
    connection.putrequest("GET", path, skip_host=headers is not None and "Host" in headers)
    for name, value in (headers or {}).items():
        connection.putheader(name, value)
    connection.endheaders()
    response = connection.getresponse()
    body = response.read()
    connection.close()
    return response.status, response, body


def test_every_answer_carries_the_security_headers_and_no_python_version(served):
    host, port = served()
    for path, status in (("/", 200), ("/healthz", 503), ("/nope", 404)):
        got, response, _ = raw_get(host, port, path, {"Authorization": f"Bearer {TOKEN}"})
        assert got == status
        assert response.getheader("X-Content-Type-Options") == "nosniff"
        assert response.getheader("X-Frame-Options") == "DENY"
        assert response.getheader("Referrer-Policy") == "no-referrer"
        assert "default-src 'none'" in response.getheader("Content-Security-Policy")
        assert response.getheader("Server") == "digit-cam"
    assert raw_get(host, port, "/", {})[0] == 401  # the token is still required (and headers sent)


def test_a_loopback_server_refuses_foreign_host_names(served):
    host, port = served()
    auth = {"Authorization": f"Bearer {TOKEN}"}
    assert raw_get(host, port, "/", {**auth, "Host": "rebound.example.com"})[0] == 403
    assert raw_get(host, port, "/", {**auth, "Host": f"rebound.example.com:{port}"})[0] == 403
    for name in (f"localhost:{port}", f"127.0.0.1:{port}", "[::1]:8080", "localhost"):
        assert raw_get(host, port, "/", {**auth, "Host": name})[0] == 200, name


@pytest.mark.parametrize("token,why", [("   ", "only whitespace"), ("\t\n", "only whitespace"),
                                       ("s3cret", "too weak"), ("a" * 40, "too weak"),
                                       ("0123456789abcdef", "too weak")])
def test_blank_and_weak_tokens_are_refused_with_how_to_make_one(token, why, capsys):
    code = cam_main(["--source", "demo", "--frames", "1", "--serve", "127.0.0.1:0", "--token", token])
    err = capsys.readouterr().err
    assert code == errors.USAGE and why in err and "openssl rand -hex 16" in err


def test_a_non_ascii_token_works_in_the_header_too(served):
    token = "jeton-très-secret-ünïcødé-0123456789"
    host, port = served(token=token)
    assert raw_get(host, port, "/", {"Authorization": ("Bearer " + token).encode()})[0] == 200  # curl: UTF-8
    assert raw_get(host, port, "/", {"Authorization": "Bearer " + token})[0] == 200  # http.client: latin-1
    assert raw_get(host, port, "/", {"Authorization": "Bearer jeton-tres-secret"})[0] == 401
    from urllib.parse import quote

    assert raw_get(host, port, "/?token=" + quote(token), {})[0] == 200


def test_serve_on_ipv6_loopback(served):
    host, port = served("[::1]:0")
    assert host == "::1"
    assert raw_get("::1", port, "/", {"Authorization": f"Bearer {TOKEN}"})[0] == 200


def test_idle_connections_time_out_and_streams_are_capped(served, monkeypatch):
    import socket

    import edge.cam.server as server_module

    monkeypatch.setattr(server_module, "READ_TIMEOUT_S", 0.5)
    monkeypatch.setattr(server_module, "MAX_STREAMS", 2)
    host, port = served()
    idle = socket.create_connection((host, port), timeout=5)
    idle.sendall(b"GET / HTTP/1.1\r\n")  # and never the rest
    started = time.monotonic()
    assert idle.recv(100) == b"" and time.monotonic() - started < 3  # closed by the server
    idle.close()
    streams = [socket.create_connection((host, port), timeout=5) for _ in range(2)]
    for stream in streams:
        stream.sendall(f"GET /stream.mjpg?token={TOKEN} HTTP/1.0\r\n\r\n".encode())
        assert stream.recv(100).startswith(b"HTTP/1.0 200")
    assert raw_get(host, port, f"/stream.mjpg?token={TOKEN}", {})[0] == 503
    for stream in streams:
        stream.close()


def flood_server(tmp_path, nofile: int):
    """digit-cam --serve in a child limited to ``nofile`` descriptors (systemd's default is 1,024)."""
    import resource
    import socket
    import subprocess
    import sys

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    def limit():
        resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

    with open(tmp_path / "stderr.txt", "wb") as err:  # the child keeps its own copy of the descriptor
        process = subprocess.Popen(
            [sys.executable, "-m", "edge", "--source", "demo", "--max-fps", "5", "--serve", f"127.0.0.1:{port}"],
            cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=err, preexec_fn=limit)
    return process, port


def healthz(port: int, timeout: float = 5.0) -> int | None:
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=timeout) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return None


@pytest.mark.slow
def test_a_flood_of_idle_and_resetting_connections_neither_starves_nor_floods_the_journal(tmp_path):
    import socket
    import struct

    process, port = flood_server(tmp_path, nofile=256)
    idle = []
    try:
        wait_for(lambda: healthz(port) == 200, timeout=60)
        for _ in range(400):  # more than the child's descriptors
            idle.append(socket.create_connection(("127.0.0.1", port), timeout=5))
        started = time.monotonic()
        status = healthz(port)
        assert status in (200, 503) and time.monotonic() - started < 5, status  # it answers, quickly
        for connection in idle:
            connection.close()
        idle.clear()
        wait_for(lambda: healthz(port) == 200, timeout=15)  # and recovers once they are gone
        for _ in range(50):  # clients that send half a request and reset the connection
            connection = socket.create_connection(("127.0.0.1", port), timeout=5)
            connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n")
            connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            connection.close()
        for _ in range(20):  # and clients that ask for the stream and vanish
            connection = socket.create_connection(("127.0.0.1", port), timeout=5)
            connection.sendall(b"GET /stream.mjpg HTTP/1.0\r\n\r\n")
            connection.recv(10)
            connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            connection.close()
        time.sleep(1)
        assert healthz(port) == 200 and process.poll() is None
    finally:
        for connection in idle:
            connection.close()
        process.terminate()
        process.wait(timeout=15)
    err = (tmp_path / "stderr.txt").read_text()
    assert "Traceback" not in err and len(err.splitlines()) <= 2, err


# --- 6. decompression bombs: sizes read from headers, never decoded --------------------------

def png_bomb(path: Path, width: int = 20_000, height: int = 20_000) -> Path:
    """A real, valid grey PNG of width x height zeros (~600 KB for 20000x20000), built row by row."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    compressor = zlib.compressobj(9)
    row = bytes(width + 1)  # filter byte 0, then the pixels
    idat = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
                     + chunk(b"IDAT", idat) + chunk(b"IEND", b""))
    return path


def header_only_bombs(directory: Path) -> dict[str, Path]:
    """20000x20000 headers of the other formats, each followed by a few bytes of nothing."""
    import struct

    directory.mkdir(parents=True, exist_ok=True)
    w = h = 20_000
    bodies = {
        "gif": b"GIF89a" + struct.pack("<HH", w, h) + bytes(40),
        "bmp": b"BM" + bytes(12) + struct.pack("<IiiHH", 40, w, -h, 1, 24) + bytes(40),
        "webp": b"RIFF" + bytes(4) + b"WEBPVP8X" + bytes(8) + (w - 1).to_bytes(3, "little")
                + (h - 1).to_bytes(3, "little") + bytes(40),
        # SOI, an APP0 segment to walk past, then a baseline start-of-frame
        "jpg": b"\xff\xd8\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00" + bytes(9)
               + b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, h, w, 1) + bytes(40),
    }
    paths = {}
    for suffix, body in bodies.items():
        paths[suffix] = directory / f"bomb.{suffix}"
        paths[suffix].write_bytes(body)
    return paths


def test_image_headers_are_read_for_every_format_opencv_writes(tmp_path):
    import cv2
    import numpy as np

    from edge.images import header_size

    image = np.random.default_rng(0).integers(0, 255, (37, 53, 3), dtype=np.uint8)
    for suffix in ("png", "jpg", "bmp", "webp"):
        cv2.imwrite(str(tmp_path / f"a.{suffix}"), image)
        assert header_size(tmp_path / f"a.{suffix}") == (53, 37), suffix
    for suffix, path in header_only_bombs(tmp_path / "bombs").items():
        assert header_size(path) == (20_000, 20_000), suffix


def test_bomb_headers_are_refused_before_decoding(tmp_path):
    from edge.images import ImageTooLargeError, read_image

    for path in header_only_bombs(tmp_path).values():
        with pytest.raises(ImageTooLargeError, match="20000x20000 pixels .* over the 50 MP limit"):
            read_image(path)


def test_a_folder_skips_a_bomb_and_reads_the_rest(tmp_path, capsys):
    import cv2
    import numpy as np

    folder = tmp_path / "photos"
    header_only_bombs(folder)
    cv2.imwrite(str(folder / "z-page.png"), np.full((120, 160, 3), 255, np.uint8))
    assert cam_main(["--source", str(folder), "--json"]) == errors.OK
    captured = capsys.readouterr()
    assert len(captured.out.splitlines()) == 1 and captured.err.count("over the 50 MP limit") == 4


def run_limited(argv: list[str], tmp_path: Path, *, address_space_gb: float = 3.0):
    """``python -m MODULE argv`` in a child whose address space is capped (so a regression cannot
    take the machine), returning (exit code, stderr, peak RSS in MB)."""
    import resource
    import subprocess
    import sys

    def limit():
        cap = int(address_space_gb * (1 << 30))
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))

    # VmHWM is this process's own peak: ru_maxrss would include the pytest parent's (a forked
    # child inherits it), which after a full run is several hundred MB.
    wrapper = ("import runpy, sys\n"
               "module = sys.argv.pop(1)\n"
               "try:\n    runpy.run_module(module, run_name='__main__', alter_sys=True)\n"
               "finally:\n"
               "    hwm = [l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM:')]\n"
               "    print('peak_rss_kb', hwm[0], file=sys.stderr)\n")
    result = subprocess.run([sys.executable, "-c", wrapper, *argv], cwd=REPO_ROOT, capture_output=True,
                            text=True, timeout=300, preexec_fn=limit)
    lines = result.stderr.splitlines()
    peak = [int(line.split()[1]) for line in lines if line.startswith("peak_rss_kb")]
    err = "\n".join(line for line in lines if not line.startswith("peak_rss_kb"))
    return result.returncode, err, (peak[0] / 1024 if peak else None)


@pytest.mark.slow
def test_a_png_bomb_is_exit_3_in_bounded_memory(tmp_path):
    bomb = png_bomb(tmp_path / "bomb.png")
    assert bomb.stat().st_size < 1_000_000
    code, err, peak_mb = run_limited(["edge", "--source", str(bomb)], tmp_path)
    assert code == errors.INPUT and "over the 50 MP limit" in err and "Traceback" not in err, err
    assert peak_mb is not None and peak_mb < 400, peak_mb


@pytest.mark.slow
@needs_tensorflow  # python -m train checks its data after importing TensorFlow
def test_an_mnist_gzip_bomb_is_refused_after_its_header(mnist_copy, mnist_dir, tmp_path):
    import gzip
    import zlib

    images = mnist_copy / "train-images-idx3-ubyte.gz"
    header = gzip.decompress(images.read_bytes())[:16]  # the real header: (60000, 28, 28)
    compressor = zlib.compressobj(1, zlib.DEFLATED, 31)  # gzip container
    zeros = bytes(1 << 24)
    parts = [compressor.compress(header)] + [compressor.compress(zeros) for _ in range(64)]  # 1 GB
    images.write_bytes(b"".join(parts) + compressor.flush())
    code, err, peak_mb = run_limited(["train", "--data-dir", str(mnist_copy), "--epochs", "1"], tmp_path,
                                     address_space_gb=12)
    assert code == errors.INPUT and "has trailing bytes" in err and "Traceback" not in err, err
    assert peak_mb is not None and peak_mb < 1500, peak_mb
    liar = mnist_copy / "t10k-labels-idx1-ubyte.gz"
    liar.write_bytes(gzip.compress((0x801).to_bytes(4, "big") + (4_000_000_000).to_bytes(4, "big")))
    from train.mnist import MnistError, load_mnist

    images.write_bytes((mnist_dir / images.name).read_bytes())
    with pytest.raises(MnistError, match="holds 4000000000 items"):
        load_mnist(mnist_copy)


# --- 7, 8, 9: one line (and the right code) where one line is promised ------------------------

@pytest.mark.parametrize("argv", [
    ["--seed", "-2"], ["--seed", "-1"], ["--max-fps", "1e-10"], ["--frame-timeout", "1e300"],
    ["--frame-timeout", "0"], ["--demo-fps", "1e-10"], ["--max-fps", "nan"],
])
def test_digit_cam_flags_that_used_to_crash_are_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cam_main(["--source", "demo", "--frames", "1", *argv])
    err = capsys.readouterr().err
    assert exit_info.value.code == errors.USAGE and f"argument {argv[0]}" in err and "Traceback" not in err


def test_a_bad_flag_error_is_our_line_only(tmp_path):
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "edge", "--source", "demo", "--frames", "1",
                             "--serve", "127.0.0.1:0", "--token", "short"],
                            cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == errors.USAGE
    assert result.stderr.splitlines() == [result.stderr.strip()] and result.stderr.startswith("digit-cam: error:")


@pytest.mark.parametrize("content,code,message", [
    ("roi = " + "[" * 100_000 + "]" * 100_000, errors.USAGE, "nested too deeply"),
    ("source = ", errors.USAGE, "not valid TOML"),  # as the README's exit-code table says
    ('source = "demo"\nnot_found = 1\n', errors.USAGE, "unknown key 'not_found'"),
    (b"\xff\xfe", errors.USAGE, "cannot be read"),
])
def test_config_file_errors_are_one_line_with_the_documented_code(tmp_path, content, code, message, capsys):
    config = tmp_path / "digit-cam.toml"
    config.write_bytes(content if isinstance(content, bytes) else content.encode())
    assert cam_main(["--config", str(config), "--frames", "1"]) == code
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_a_config_that_is_a_device_never_hangs(capsys):
    started = time.monotonic()
    assert cam_main(["--config", "/dev/zero", "--frames", "1"]) == errors.USAGE
    assert "not a regular file" in capsys.readouterr().err and time.monotonic() - started < 5


def test_duration_is_honoured_while_waiting_for_a_slow_max_fps(capsys):
    started = time.monotonic()
    assert cam_main(["--source", "demo", "--max-fps", "0.01", "--duration", "1"]) == errors.OK
    assert time.monotonic() - started < 10  # not 100 s: the wait is cut at the duration


def test_save_keeps_a_png_and_a_jpg_of_the_same_name_apart(tmp_path, capsys):
    import cv2
    import numpy as np

    folder, out = tmp_path / "in", tmp_path / "out"
    folder.mkdir()
    cv2.imwrite(str(folder / "a.png"), np.full((60, 80, 3), 255, np.uint8))
    cv2.imwrite(str(folder / "a.jpg"), np.full((90, 70, 3), 255, np.uint8))
    assert cam_main(["--source", str(folder), "--save", str(out)]) == errors.OK
    assert sorted(p.name for p in out.iterdir()) == ["a.jpg.annotated.png", "a.png.annotated.png"]


def test_a_missing_sidecar_is_warned_about_and_can_be_required(tmp_path, capsys):
    lonely = tmp_path / "lonely.tflite"
    lonely.write_bytes(INT8.read_bytes())
    assert cam_main(["--source", "demo", "--frames", "1", "--model", str(lonely)]) == errors.OK
    assert "has no sidecar (lonely.json): its sha256 is not checked" in capsys.readouterr().err
    assert cam_main(["--source", "demo", "--frames", "1", "--model", str(lonely), "--require-sidecar"]) == errors.INPUT
    assert "require_sidecar" in capsys.readouterr().err
    deploy_config = REPO_ROOT / "deploy" / "config" / "digit-cam.toml"
    assert "require_sidecar = true" in deploy_config.read_text()


def run_module(*argv: str, timeout: float = 300):
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-m", *argv], cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=timeout)


@pytest.mark.parametrize("argv,flag", [
    (["train", "--seed", "-1"], "--seed"), (["train", "--learning-rate", "nan"], "--learning-rate"),
    (["train", "--learning-rate", "-0.1"], "--learning-rate"), (["train", "--learning-rate", "inf"], "--learning-rate"),
    (["convert", "--calibration-samples", "5"], "--calibration-samples"), (["convert", "--seed", "-3"], "--seed"),
])
def test_train_and_convert_flags_that_used_to_run_are_exit_2(argv, flag, capsys):
    import importlib

    main = importlib.import_module(f"{argv[0]}.cli").main
    with pytest.raises(SystemExit) as exit_info:
        main(argv[1:])
    assert exit_info.value.code == errors.USAGE and f"argument {flag}" in capsys.readouterr().err


def test_convert_out_naming_an_existing_file_is_exit_2(tmp_path, capsys):
    from convert.cli import main

    existing = tmp_path / "model_int8.tflite"
    existing.write_bytes(b"keep me")
    with pytest.raises(SystemExit) as exit_info:
        main(["--out", str(existing)])
    assert exit_info.value.code == errors.USAGE and "is not a directory" in capsys.readouterr().err
    assert existing.read_bytes() == b"keep me"


@pytest.mark.slow
@needs_tensorflow
def test_a_diverging_run_stops_with_exit_1_and_no_model(tmp_path, mnist_dir):
    out = tmp_path / "run"
    result = run_module("train", "--limit", "512", "--test-limit", "100", "--epochs", "2", "--val-split", "0",
                        "--learning-rate", "1e30", "--data-dir", str(mnist_dir), "--out", str(out), "--quiet")
    assert result.returncode == errors.FAILURE, result.stderr
    assert "loss became NaN or infinite" in result.stderr and "Traceback" not in result.stderr
    assert not (out / "model.keras").exists()


def test_an_unreadable_mnist_directory_is_one_line(mnist_copy, monkeypatch):
    """As root nothing is unreadable, so the PermissionError pathlib raises for a directory this
    user may not search is simulated."""
    import pathlib

    from train.mnist import MnistError, load_mnist

    real_is_file = pathlib.Path.is_file

    def is_file(self):
        if self.parent == mnist_copy:
            raise PermissionError(13, "Permission denied", str(self))
        return real_is_file(self)

    monkeypatch.setattr(pathlib.Path, "is_file", is_file)
    with pytest.raises(MnistError, match="cannot be read: Permission denied. Check the permissions"):
        load_mnist(mnist_copy)


def test_formats_without_a_parsed_header_meet_opencvs_limit(tmp_path):
    """PNM and TIFF sizes are not parsed here: OpenCV's own limit, set by edge/__init__.py before
    cv2 loads (so in a fresh process, as digit-cam runs), refuses them, as one line."""
    import os

    from edge.constants import MAX_IMAGE_PIXELS

    assert os.environ["OPENCV_IO_MAX_IMAGE_PIXELS"] == str(MAX_IMAGE_PIXELS)
    bomb = tmp_path / "bomb.pgm"
    bomb.write_bytes(b"P5\n20000 20000\n255\n" + bytes(1000))
    code, err, peak_mb = run_limited(["edge", "--source", str(bomb)], tmp_path)
    assert code == errors.INPUT and "over the 50 MP limit" in err and len(err.strip().splitlines()) == 1, err


def test_a_video_with_frames_over_the_pixel_limit_is_refused_before_reading(tmp_path, monkeypatch):
    import cv2
    import numpy as np

    from edge.cam import sources

    path = tmp_path / "big.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 5, (64, 48))
    assert writer.isOpened()
    for _ in range(3):
        writer.write(np.full((48, 64, 3), 200, np.uint8))
    writer.release()
    monkeypatch.setattr(sources, "MAX_IMAGE_PIXELS", 64 * 48 - 1)  # the same check, at a size a test can make
    with pytest.raises(sources.SourceError, match="64x48 frames, over the"):
        sources.VideoFileSource(path).open()
    monkeypatch.setattr(sources, "MAX_IMAGE_PIXELS", 64 * 48)
    with sources.VideoFileSource(path).open() as video:
        assert video.read() is not None
