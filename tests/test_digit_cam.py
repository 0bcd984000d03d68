"""``digit-cam``: every source through fakes or generated files, JSON schema, server, failures."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
import types
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import cv2
import jsonschema
import numpy as np
import pytest

from edge import errors
from edge.cam.cli import EXIT_CODES, main
from edge.cam.live import Control, Options, Runner, Stabilizer, run
from edge.cam.sources import CameraError, Frame, Source
from edge.clikit import run_main
from edge.scenes import render_scene
from tests.conftest import REPO_ROOT, needs_tensorflow, wait_for

SCHEMA = json.loads((REPO_ROOT / "docs" / "reading.schema.json").read_text())
INT8 = REPO_ROOT / "models" / "edge" / "model_int8.tflite"


def run_cli(argv, capsys) -> tuple[int, list[dict] | str, str]:
    code = main(argv)
    captured = capsys.readouterr()
    if "--json" in argv:
        records = [json.loads(line) for line in captured.out.splitlines() if line.strip()]
        for record in records:
            jsonschema.validate(record, SCHEMA)
        return code, records, captured.err
    return code, captured.out, captured.err


@pytest.fixture
def scene_files(tmp_path, pool):
    """A folder with three scene photos (known text) plus a file that is not an image."""
    folder = tmp_path / "photos"
    folder.mkdir()
    texts = {}
    for number, seed in enumerate((21, 22, 23)):
        scene = render_scene(np.random.default_rng(seed), pool, n_digits=3)
        cv2.imwrite(str(folder / f"page{number}.png"), scene.image)
        texts[f"page{number}.png"] = scene.text
    (folder / "notes.txt").write_text("not an image")
    return folder, texts


# --- sources ------------------------------------------------------------------------------

def test_demo_source_json_validates_and_frames_stop(capsys):
    # Paced slower than processing, so no frame is dropped as stale.
    code, records, _ = run_cli(["--source", "demo", "--frames", "12", "--json", "--emit", "all",
                                "--demo-fps", "5"], capsys)
    assert code == errors.OK
    assert len(records) == 12 and [r["frame"] for r in records] == list(range(12))
    assert all(r["source"] == "demo" and r["truth"] for r in records)
    stable = [r for r in records if r["stable"]]
    assert stable and sum(r["text"] == r["truth"] for r in stable) >= 0.8 * len(stable)


def test_demo_default_emits_only_new_stable_readings(capsys):
    code, records, _ = run_cli(["--source", "demo", "--frames", "25", "--json", "--demo-fps", "10"], capsys)
    assert code == errors.OK
    assert 2 <= len(records) <= 5  # a new scene every 5 frames, stable after 3
    assert all(r["stable"] for r in records)
    texts = [r["text"] for r in records]
    assert all(a != b for a, b in zip(texts, texts[1:], strict=False))


def test_folder_of_images_like_the_paper(scene_files, capsys):
    folder, texts = scene_files
    code, records, err = run_cli(["--source", str(folder), "--json"], capsys)
    assert code == errors.OK
    assert [Path(r["name"]).name for r in records] == sorted(texts)
    assert [r["text"] for r in records] == [texts[name] for name in sorted(texts)]
    assert "skipping" in err and "notes.txt" in err  # warned, and the rest processed


def test_single_image_human_output_and_save(scene_files, tmp_path, capsys):
    folder, texts = scene_files
    saved = tmp_path / "out"
    code, out, _ = run_cli(["--source", str(folder / "page1.png"), "--save", str(saved)], capsys)
    assert code == errors.OK
    assert texts["page1.png"] in out and "page1.png" in out
    written = list(saved.glob("*.png"))
    assert len(written) == 1 and cv2.imread(str(written[0])).shape == (480, 640, 3)


def test_white_on_black_paint_style_image(tmp_path, pool, capsys):
    canvas = np.zeros((200, 400), np.uint8)
    for slot, index in enumerate((0, 1, 2)):
        canvas[40:152, 20 + slot * 130:132 + slot * 130] = cv2.resize(pool.images[index], (112, 112))
    cv2.imwrite(str(tmp_path / "paint.png"), canvas)
    code, records, _ = run_cli(["--source", str(tmp_path / "paint.png"), "--json"], capsys)
    assert code == errors.OK
    assert records[0]["polarity"] == "bright"
    assert records[0]["text"] == "".join(str(pool.labels[i]) for i in (0, 1, 2))


def test_video_file_every_frame(tmp_path, pool, capsys):
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (640, 480))
    assert writer.isOpened()
    scene = render_scene(np.random.default_rng(4), pool, n_digits=3)
    for _ in range(8):
        writer.write(scene.image)
    writer.release()
    code, records, _ = run_cli(["--source", str(path), "--json"], capsys)
    assert code == errors.OK
    assert len(records) == 8  # a file is read whole, nothing dropped
    assert sum(r["text"] == scene.text for r in records) >= 7


def test_auto_with_no_camera_suggests_demo(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "picamera2", None)
    monkeypatch.setattr(cv2, "VideoCapture", lambda *_: types.SimpleNamespace(isOpened=lambda: False,
                                                                               release=lambda: None))
    code, _, err = run_cli(["--frames", "2"], capsys)
    assert code == errors.CAMERA
    assert "--source demo" in err


def test_camera_index_that_does_not_exist(capsys):
    code, _, err = run_cli(["--source", "17", "--frames", "1"], capsys)
    assert code == errors.CAMERA
    assert "camera 17 could not be opened" in err and "Traceback" not in err


# --- live behaviour -------------------------------------------------------------------------

class FlakyCamera(Source):
    """A live source that delivers a few frames, then fails."""

    live = True
    name = "flaky"
    opened = 0

    def __init__(self, frames_before_failure, image):
        self.left = frames_before_failure
        self.image = image
        self.index = 0

    def open(self):
        FlakyCamera.opened += 1
        return self

    def read(self):
        time.sleep(0.04)  # a 25 fps camera: slower than processing, so no frame is dropped
        if self.left <= 0:
            raise CameraError("flaky camera unplugged")
        self.left -= 1
        self.index += 1
        return Frame(self.image, "bgr", self.index, time.time(), self.name, 0.1)


def sources(*cameras):
    """An ``open_source`` for :class:`Runner` that hands out ``cameras`` in turn."""
    remaining = iter(cameras)
    return lambda _options: next(remaining)


def test_lost_camera_is_retried_with_backoff_then_exit_4(pool):
    image = render_scene(np.random.default_rng(1), pool, n_digits=2).image
    FlakyCamera.opened = 0
    # Works for 3 frames, is unplugged, and every reopened camera fails at once.
    runner = Runner(Options(source="flaky", retries=2, frame_timeout=2.0), out=io.StringIO(), err=io.StringIO(),
                    open_source=sources(FlakyCamera(3, image), FlakyCamera(0, image), FlakyCamera(0, image)))
    started = time.monotonic()
    with pytest.raises(CameraError, match="flaky camera unplugged; giving up after 2 retries") as raised:
        runner.run()
    assert raised.value.exit_code == errors.CAMERA
    log = runner.err.getvalue()
    assert "retry 1/2 in 0.5 s" in log and "retry 2/2 in 1.0 s" in log
    assert FlakyCamera.opened == 3 and runner.processed == 3 and 1.4 < time.monotonic() - started < 10


def test_camera_that_comes_back_resets_the_retries(pool):
    image = render_scene(np.random.default_rng(1), pool, n_digits=2).image
    control = Control()
    runner = Runner(Options(source="flaky", retries=1, frames=6), control, out=io.StringIO(), err=io.StringIO(),
                    open_source=sources(FlakyCamera(2, image), FlakyCamera(2, image), FlakyCamera(5, image)))
    runner.run()  # two losses, each followed by a working camera: no error
    assert control.exit_code == errors.OK
    assert runner.processed == 6 and runner.err.getvalue().count("retry 1/1") == 2


def test_frames_that_stop_coming_count_as_a_lost_camera():
    class Silent(Source):
        live = True
        name = "silent"

        def read(self):
            time.sleep(5)

    runner = Runner(Options(retries=0, frame_timeout=0.3), out=io.StringIO(), err=io.StringIO(),
                    open_source=sources(Silent()))
    with pytest.raises(CameraError, match="silent: no frame for 0 s"):
        runner.run()


def test_a_stop_while_the_camera_hangs_is_a_clean_stop():
    class Hanging(Source):
        live = True
        name = "hanging"

        def read(self):
            time.sleep(5)

    control = Control()
    runner = Runner(Options(frame_timeout=0.5), control, out=io.StringIO(), err=io.StringIO(),
                    open_source=sources(Hanging()))
    threading.Timer(0.2, control.stop.set).start()  # SIGTERM arrives while read() hangs
    runner.run()  # returns: a stop, not a lost camera
    assert control.exit_code == errors.OK


def test_a_camera_given_up_on_is_exit_4_and_one_line(pool):
    image = render_scene(np.random.default_rng(1), pool, n_digits=2).image
    err = io.StringIO()
    code = run_main(lambda: run(Options(retries=1), out=io.StringIO(), err=io.StringIO(),
                                open_source=sources(FlakyCamera(2, image), FlakyCamera(0, image))),
                    prog="digit-cam", exit_codes=EXIT_CODES, err=err)
    assert code == errors.CAMERA
    assert err.getvalue() == "digit-cam: error: flaky camera unplugged; giving up after 1 retries\n"


def test_newest_frame_wins_when_inference_is_slow(pool):
    image = render_scene(np.random.default_rng(1), pool, n_digits=1).image

    class Fast(Source):
        live = True
        name = "fast"
        count = 0

        def read(self):
            time.sleep(0.002)
            Fast.count += 1
            return Frame(image, "bgr", Fast.count, time.time(), "fast", 0.0)

    class SlowRunner(Runner):
        def process(self, *args):
            time.sleep(0.05)  # inference much slower than the camera
            super().process(*args)

    runner = SlowRunner(Options(frames=5, emit="all", json=True), out=io.StringIO(), err=io.StringIO(),
                        open_source=sources(Fast()))
    runner.run()
    indices = [json.loads(line)["frame"] for line in runner.out.getvalue().splitlines()]
    assert len(indices) == 5
    assert all(b - a > 3 for a, b in zip(indices, indices[1:], strict=False))  # stale frames skipped


def test_max_fps_limits_processing(capsys):
    started = time.monotonic()
    code, records, _ = run_cli(["--source", "demo", "--frames", "6", "--max-fps", "10", "--demo-fps", "0",
                                "--json", "--emit", "all"], capsys)
    assert code == errors.OK and len(records) == 6
    assert time.monotonic() - started >= 0.45  # 6 frames at <= 10 fps


def test_stabilizer():
    stabilizer = Stabilizer(3)
    assert [stabilizer.update(t) for t in ["12", "12", "12", "12", "1", "12", "12", "12"]] == \
        [False, False, True, False, False, False, False, False]
    assert [stabilizer.update(t) for t in ["", "", "", "12", "12", "12"]] == [False] * 5 + [True]


def test_model_reload_on_request_and_on_file_change(tmp_path, pool):
    model = tmp_path / "current.tflite"
    model.write_bytes(INT8.read_bytes())
    (tmp_path / "current.json").write_bytes(INT8.with_suffix(".json").read_bytes())
    control = Control()
    err = io.StringIO()
    runner = Runner(Options(source="demo", model=str(model), demo_fps=30, duration=20), control,
                    out=io.StringIO(), err=err)
    thread = threading.Thread(target=runner.run)
    thread.start()
    try:
        wait_for(lambda: runner.processed > 3)
        control.reload.set()  # what SIGHUP does
        wait_for(lambda: "model reloaded" in err.getvalue())
        sha_before = runner.recognizer.classifier.sha256
        model.write_bytes(b"corrupt" * 100)  # a bad model appears: rejected, old one kept
        wait_for(lambda: "new model rejected" in err.getvalue(), timeout=10)
        processed = runner.processed
        wait_for(lambda: runner.processed > processed + 3)  # the stream never stopped
        assert runner.recognizer.classifier.sha256 == sha_before
    finally:
        control.stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()


@pytest.mark.parametrize("signum,expected", [(signal.SIGTERM, 0), (signal.SIGINT, 130)])
def test_signals_shut_down_cleanly(signum, expected):
    process = subprocess.Popen([sys.executable, "-m", "edge", "--source", "demo", "--json", "--emit", "all"],
                               cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline().startswith("{")  # running
        process.send_signal(signum)
        assert process.wait(timeout=20) == expected
        assert "Traceback" not in process.stderr.read()
    finally:
        process.kill()


# --- HTTP server ----------------------------------------------------------------------------

def fetch(url, token=None):
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.headers, response.read(300_000 if "stream" in url else None)
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def start_serving(options: Options):
    control = Control()
    runner = Runner(options, control, out=io.StringIO(), err=io.StringIO())
    thread = threading.Thread(target=runner.run)
    thread.start()
    wait_for(lambda: runner.outputs.server is not None and runner.state.frames > 2)
    host, port = runner.outputs.server.server_address[:2]
    return runner, control, thread, f"http://{host}:{port}"


def test_server_serves_page_stream_reading_and_health():
    runner, control, thread, base = start_serving(Options(source="demo", serve="127.0.0.1:0", duration=30))
    try:
        status, headers, body = fetch(base + "/")
        assert status == 200 and b"/stream.mjpg" in body and b"/reading" in body
        status, _, body = fetch(base + "/reading")
        reading = json.loads(body)
        assert status == 200 and "text" in reading and "latency_ms" in reading
        jsonschema.validate(reading, SCHEMA)
        status, _, body = fetch(base + "/healthz")
        health = json.loads(body)
        assert status == 200 and health["status"] == "ok" and health["frames"] > 0
        assert health["model_sha256"] == runner.recognizer.classifier.sha256
        status, headers, body = fetch(base + "/stream.mjpg")
        assert status == 200 and headers["Content-Type"].startswith("multipart/x-mixed-replace")
        jpeg_start = body.index(b"\xff\xd8")
        jpeg_end = body.index(b"\xff\xd9", jpeg_start)
        frame = cv2.imdecode(np.frombuffer(body[jpeg_start:jpeg_end + 2], np.uint8), cv2.IMREAD_COLOR)
        assert frame.shape == (480, 640, 3)
        assert fetch(base + "/nope")[0] == 404
    finally:
        control.stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()
    # After the stream stops, health turns 503 once frames are stale (checked without waiting).
    healthy, body = runner.state.health(runner.state.last_frame_time + 60)
    assert not healthy and body["status"] == "no frames" and body["seconds_since_frame"] == 60


def test_server_refuses_non_loopback_without_token(capsys):
    code, _, err = run_cli(["--source", "demo", "--frames", "1", "--serve", "0.0.0.0:0"], capsys)
    assert code == errors.USAGE and "--allow-remote" in err
    code, _, err = run_cli(["--source", "demo", "--frames", "1", "--serve", "0.0.0.0:0", "--allow-remote"], capsys)
    assert code == errors.USAGE and "--token" in err


def test_token_is_enforced_when_set():
    token = "s3cret-token-0123456789"
    runner, control, thread, base = start_serving(Options(source="demo", serve="127.0.0.1:0", duration=30,
                                                          token=token))
    try:
        assert fetch(base + "/reading")[0] == 401
        assert fetch(base + "/reading", token="wrong-token-000000000")[0] == 401
        assert fetch(base + "/reading", token=token)[0] == 200
        assert fetch(base + f"/healthz?token={token}")[0] == 200
    finally:
        control.stop.set()
        thread.join(timeout=10)


# --- bad input ------------------------------------------------------------------------------

def test_missing_model(tmp_path, capsys):
    code, _, err = run_cli(["--source", "demo", "--model", str(tmp_path / "x.tflite"), "--frames", "1"], capsys)
    assert code == errors.INPUT and "not found" in err


def test_corrupt_model(tmp_path, capsys):
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(os.urandom(3000))
    code, _, err = run_cli(["--source", "demo", "--model", str(bad), "--frames", "1"], capsys)
    assert code == errors.INPUT and "not a TFLite model" in err


@pytest.mark.slow
@needs_tensorflow
def test_model_with_wrong_input_shape(tmp_path, capsys):
    import keras

    from convert.pipeline import to_tflite

    wrong = keras.Sequential([keras.Input((32, 32, 1)), keras.layers.Flatten(), keras.layers.Dense(10)])
    path = tmp_path / "wrong.tflite"
    path.write_bytes(to_tflite(wrong, "float"))
    code, _, err = run_cli(["--source", "demo", "--model", str(path), "--frames", "1"], capsys)
    assert code == errors.INPUT and "model input is (1, 32, 32, 1)" in err


def test_missing_and_unreadable_images(tmp_path, capsys):
    code, _, err = run_cli(["--source", str(tmp_path / "nope.png")], capsys)
    assert code == errors.INPUT and "not found" in err
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    code, _, err = run_cli(["--source", str(broken)], capsys)
    assert code == errors.INPUT and "not a readable image" in err
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, err = run_cli(["--source", str(empty)], capsys)
    assert code == errors.INPUT and "has no files" in err


def test_a_video_that_is_not_a_video(tmp_path, capsys):
    fake = tmp_path / "clip.mp4"
    fake.write_text("nope")
    code, _, err = run_cli(["--source", str(fake)], capsys)
    assert code == errors.INPUT and "could not be opened as a video" in err


@pytest.mark.parametrize("argv", [
    ["--frames", "0"], ["--min-confidence", "2"], ["--roi", "1,2,3"], ["--roi", "0,0,-5,5"],
    ["--invert", "maybe"], ["--serve", "host:port"], ["--serve", "99999"], ["--backend", "onnx"],
    ["--max-fps", "-1"], ["--threads", "zero"], ["--emit", "some"], ["--unknown-flag"],
])
def test_bad_flag_values_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == errors.USAGE
    assert "error:" in capsys.readouterr().err


def test_help_explains_the_flags(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    text = capsys.readouterr().out
    for flag in ("--source", "--json", "--display", "--save", "--serve", "--max-fps", "--stable-frames",
                 "--min-confidence", "--roi", "--invert", "--threads", "--no-xnnpack", "--backend", "--model",
                 "--frames", "--duration", "--config", "--verbose", "exit codes"):
        assert flag in text


def test_config_file_values_and_flags_override(tmp_path, capsys):
    config = tmp_path / "digit-cam.toml"
    config.write_text('source = "demo"\nframes = 3\njson = true\nemit = "all"\ndemo-fps = 0\n'
                      'min_confidence = 0.6\nxnnpack = false\n')
    code, records, _ = run_cli(["--config", str(config), "--json"], capsys)
    assert code == errors.OK and len(records) == 3
    code, records, _ = run_cli(["--config", str(config), "--frames", "5", "--json"], capsys)
    assert code == errors.OK and len(records) == 5  # the flag wins


@pytest.mark.parametrize("content,message", [
    ("source = demo\n", "not valid TOML"),
    ("sorce = 'demo'\n", "unknown key 'sorce'; did you mean source"),
    ("frames = 0\n", "frames = 0: must be at least 1"),
    ("json = 'yes'\n", "json must be true or false"),
    ("invert = 'maybe'\n", "invert must be one of auto, dark, bright"),
])
def test_malformed_config_file(tmp_path, content, message, capsys):
    config = tmp_path / "bad.toml"
    config.write_text(content)
    code, _, err = run_cli(["--config", str(config)], capsys)
    assert code == errors.USAGE and message in err


def test_missing_config_file(tmp_path, capsys):
    code, _, err = run_cli(["--config", str(tmp_path / "none.toml")], capsys)
    assert code == errors.INPUT and "not found" in err


def test_display_without_a_screen_is_explained(monkeypatch, capsys):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    code, _, err = run_cli(["--source", "demo", "--frames", "1", "--display"], capsys)
    assert code == errors.FAILURE and "no display found" in err and "--serve" in err


# --- self-test --------------------------------------------------------------------------------

@pytest.mark.slow
def test_selftest_passes_for_the_release_model(capsys):
    assert main(["selftest", "--json"]) == errors.OK
    result = json.loads(capsys.readouterr().out)
    assert result["passed"] and result["images"] == 10_000
    assert abs(result["measured_accuracy"] - result["sidecar_accuracy"]) <= 0.001


@pytest.mark.slow
def test_selftest_refuses_a_model_below_its_sidecar(tmp_path, capsys):
    model = tmp_path / "m.tflite"
    model.write_bytes(INT8.read_bytes())
    sidecar = json.loads(INT8.with_suffix(".json").read_text())
    sidecar["accuracy"] = 0.9999  # claims more than it delivers
    (tmp_path / "m.json").write_text(json.dumps(sidecar))
    assert main(["selftest", "--model", str(model)]) == errors.FAILURE
    assert "FAIL" in capsys.readouterr().out


def test_selftest_rejects_a_model_whose_sidecar_does_not_match(tmp_path, capsys):
    model = tmp_path / "m.tflite"
    model.write_bytes(INT8.read_bytes()[:-1] + b"\x00")  # one byte changed
    (tmp_path / "m.json").write_bytes(INT8.with_suffix(".json").read_bytes())
    assert main(["selftest", "--model", str(model)]) == errors.INPUT
    assert "does not match its sidecar" in capsys.readouterr().err


# --- regressions found in review ------------------------------------------------------------------

def test_a_lost_auto_camera_that_is_gone_on_reopen_is_retried_not_a_traceback(pool):
    image = render_scene(np.random.default_rng(1), pool, n_digits=2).image
    opened = iter([FlakyCamera(3, image)])

    def open_source(_options):
        camera = next(opened, None)
        if camera is None:
            raise CameraError("no camera found")  # what resolve_auto says while it is unplugged
        return camera

    runner = Runner(Options(source="auto", retries=2), out=io.StringIO(), err=io.StringIO(), open_source=open_source)
    with pytest.raises(CameraError, match="no camera found; giving up after 2 retries"):
        runner.run()
    assert "warning: no camera found; retry 2/2" in runner.err.getvalue()


def test_server_shutdown_ends_open_streams():
    from edge.cam.server import LiveState, start_server

    state = LiveState()
    state.publish(cv2.imencode(".jpg", np.zeros((8, 8, 3), np.uint8))[1].tobytes(), {"text": ""})
    server = start_server("0", state)
    host, port = server.server_address[:2]
    response = urllib.request.urlopen(f"http://{host}:{port}/stream.mjpg", timeout=5)
    assert response.read(50)
    server.shutdown()
    server.server_close()
    started = time.monotonic()
    while response.read(4096):  # the response ends instead of hanging
        assert time.monotonic() - started < 5


def test_page_keeps_tokens_with_url_special_characters_working():
    token = "abcdEFGH1234+/xyz=&#%"
    runner, control, thread, base = start_serving(Options(source="demo", serve="127.0.0.1:0", duration=30,
                                                          token=token))
    try:
        encoded = urllib.parse.quote(token, safe="")
        status, _, page = fetch(f"{base}/?token={encoded}")
        assert status == 200
        reading_url = page.decode().split('fetch("')[1].split('"')[0].replace("&amp;", "&")
        assert fetch(base + reading_url)[0] == 200
    finally:
        control.stop.set()
        thread.join(timeout=10)


def test_a_source_is_not_closed_under_a_hung_reader():
    class Hung(Source):
        live = True
        name = "hung"
        closed = False

        def read(self):
            time.sleep(4)

        def close(self):
            Hung.closed = True

    runner = Runner(Options(retries=0, frame_timeout=0.3), out=io.StringIO(), err=io.StringIO(),
                    open_source=sources(Hung()))
    with pytest.raises(CameraError):
        runner.run()
    assert not Hung.closed  # left for process exit rather than released under the reading thread


def test_no_xnnpack_config_key_must_be_a_boolean(tmp_path, capsys):
    config = tmp_path / "c.toml"
    config.write_text('no_xnnpack = "false"\n')
    code, _, err = run_cli(["--config", str(config)], capsys)
    assert code == errors.USAGE and "no_xnnpack must be true or false" in err
