"""``python -m train --download`` against mirrors on 127.0.0.1: good, corrupt, cut off, stalled, absent.

Never touches the real mirrors. The files served are tiny gzipped IDX files built here, with
their md5s passed in place of the published ones (or the real files, for the end-to-end test).
"""

from __future__ import annotations

import gzip
import hashlib
import http.server
import io
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import train.mnist
from edge import errors
from train.cli import main
from train.download import (
    MIRRORS,
    MIRRORS_ENV,
    PUBLISHED_GZ_MD5,
    DownloadError,
    download_mnist,
    ensure_mnist,
    mirror_urls,
)
from train.mnist import DATA_DIR_ENV, FILES, MnistError, default_data_dir, load_mnist, user_cache_dir


def tiny_idx_gz(name: str) -> bytes:
    """A valid gzipped IDX file of three items; images have a header of 3 x 28 x 28."""
    rng = np.random.default_rng(len(name))
    if "images" in name:
        header = b"".join(n.to_bytes(4, "big") for n in (0x803, 3, 28, 28))
        payload = rng.integers(0, 256, 3 * 28 * 28, dtype=np.uint8).tobytes()
    else:
        header = b"".join(n.to_bytes(4, "big") for n in (0x801, 3))
        payload = bytes([1, 7, 9])
    return gzip.compress(header + payload, mtime=0)


TINY = {f"{name}.gz": tiny_idx_gz(name) for name in FILES}
TINY_MD5 = {name: hashlib.md5(data).hexdigest() for name, data in TINY.items()}


class Mirrors:
    """A local HTTP server whose first path segment picks how a mirror misbehaves."""

    def __init__(self, files: dict[str, bytes]):
        self.files = files
        self.requests: list[str] = []
        mirrors = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - the http.server API
                kind, _, name = self.path.strip("/").partition("/")
                mirrors.requests.append(self.path)
                data = mirrors.files.get(name)
                if kind == "missing" or data is None:
                    self.send_error(404)
                    return
                if kind == "corrupt":  # right length, wrong bytes: only the md5 can tell
                    data = bytes(b ^ 0xFF for b in data[:64]) + data[64:]
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if kind == "drop":  # the server hangs up halfway through the body
                    self.wfile.write(data[: len(data) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                if kind == "stall":  # headers, then nothing for longer than the client waits
                    time.sleep(1.5)
                self.wfile.write(data)

            def log_message(self, *args):
                return None

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)

    def url(self, kind: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/{kind}/"

    def __enter__(self) -> Mirrors:
        self.thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def mirrors():
    with Mirrors(TINY) as server:
        yield server


def leftovers(directory: Path) -> list[str]:
    return sorted(path.name for path in directory.iterdir() if path.name.endswith(".part"))


def test_good_mirror_fills_an_empty_directory_with_verified_files(mirrors, tmp_path):
    log = io.StringIO()
    target = tmp_path / "cache" / "mnist"
    done = download_mnist(target, mirrors=[mirrors.url("good")], md5s=TINY_MD5, stream=log)
    assert sorted(d.path.name for d in done) == sorted(TINY)
    for name, data in TINY.items():
        assert (target / name).read_bytes() == data
    assert leftovers(target) == []
    # Not a terminal: one line per file saying what is fetched from where, and how big.
    assert log.getvalue().count("downloading http://127.0.0.1") == 4 and " MB)" in log.getvalue()


def test_corrupt_mirror_is_refused_and_the_next_one_used(mirrors, tmp_path):
    log = io.StringIO()
    done = download_mnist(tmp_path, mirrors=[mirrors.url("corrupt"), mirrors.url("good")], md5s=TINY_MD5,
                          stream=log)
    assert all(d.url.startswith(mirrors.url("good")) for d in done) and len(done) == 4
    assert all((tmp_path / name).read_bytes() == data for name, data in TINY.items())
    assert "is not the published" in log.getvalue()
    assert leftovers(tmp_path) == []


def test_a_connection_dropped_mid_file_leaves_nothing_and_the_next_mirror_is_used(mirrors, tmp_path):
    log = io.StringIO()
    done = download_mnist(tmp_path, mirrors=[mirrors.url("drop"), mirrors.url("good")], md5s=TINY_MD5,
                          stream=log)
    assert all(d.url.startswith(mirrors.url("good")) for d in done)
    assert all((tmp_path / name).read_bytes() == data for name, data in TINY.items())
    assert "connection closed after" in log.getvalue()
    assert leftovers(tmp_path) == []


def test_a_stalled_mirror_times_out_to_the_next(mirrors, tmp_path):
    md5s = {"t10k-labels-idx1-ubyte.gz": TINY_MD5["t10k-labels-idx1-ubyte.gz"]}
    started = time.perf_counter()
    done = download_mnist(tmp_path, mirrors=[mirrors.url("stall"), mirrors.url("good")], md5s=md5s,
                          timeout=0.3, stream=io.StringIO())
    assert [d.url for d in done] == [mirrors.url("good") + "t10k-labels-idx1-ubyte.gz"]
    assert time.perf_counter() - started < 1.4  # gave up on the stalled one before it answered


def test_when_every_mirror_fails_nothing_is_left_and_each_failure_is_named(mirrors, tmp_path):
    bad = [mirrors.url("missing"), mirrors.url("drop"), mirrors.url("corrupt")]
    with pytest.raises(DownloadError) as caught:
        download_mnist(tmp_path, mirrors=bad, md5s=TINY_MD5, stream=io.StringIO())
    message = str(caught.value)
    assert all(url in message for url in bad) and "404" in message and MIRRORS_ENV in message
    assert caught.value.exit_code == errors.INPUT
    assert list(tmp_path.iterdir()) == []  # no partial file, no .part, nothing to mistake for data


def test_files_already_there_are_not_fetched_again(mirrors, tmp_path):
    (tmp_path / "train-images-idx3-ubyte").write_bytes(b"raw copy, the loader checks it")
    (tmp_path / "t10k-labels-idx1-ubyte.gz").write_bytes(b"already here")
    done = download_mnist(tmp_path, mirrors=[mirrors.url("good")], md5s=TINY_MD5, stream=io.StringIO())
    assert sorted(d.path.name for d in done) == ["t10k-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"]
    assert len(mirrors.requests) == 2
    assert (tmp_path / "t10k-labels-idx1-ubyte.gz").read_bytes() == b"already here"


def test_progress_is_a_bar_on_a_terminal(mirrors, tmp_path):
    pytest.importorskip("tqdm")

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    screen = Terminal()
    download_mnist(tmp_path, mirrors=[mirrors.url("good")], md5s=TINY_MD5, stream=screen)
    assert "downloading" in screen.getvalue() and "B/s" in screen.getvalue()  # tqdm's rate


def test_mirrors_come_from_the_environment_when_set():
    assert mirror_urls({}) == MIRRORS
    assert mirror_urls({MIRRORS_ENV: "http://a/x, http://b/y/\n http://c"}) == (
        "http://a/x/", "http://b/y/", "http://c/")
    assert all(url.startswith("https://") for url in MIRRORS)


def test_published_md5s_cover_exactly_the_files_the_loader_reads():
    assert {name.removesuffix(".gz") for name in PUBLISHED_GZ_MD5} == set(FILES)
    assert all(len(md5) == 32 and int(md5, 16) >= 0 for md5 in PUBLISHED_GZ_MD5.values())


def test_cache_dir_follows_xdg(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert user_cache_dir() == tmp_path / "digit-edge" / "mnist"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/ignored")
    assert user_cache_dir() == Path.home() / ".cache" / "digit-edge" / "mnist"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert user_cache_dir() == Path.home() / ".cache" / "digit-edge" / "mnist"


def isolated_from_shared(monkeypatch, tmp_path) -> Path:
    """Pretend the repository has no ../shared beside it; returns the cache directory."""
    repo = tmp_path / "elsewhere" / "repo"
    (repo / "train").mkdir(parents=True)
    monkeypatch.setattr(train.mnist, "__file__", str(repo / "train" / "mnist.py"))
    monkeypatch.chdir(repo)
    monkeypatch.delenv(DATA_DIR_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    return tmp_path / "xdg" / "digit-edge" / "mnist"


def test_the_cache_is_the_last_place_the_loader_looks(monkeypatch, tmp_path):
    cache = isolated_from_shared(monkeypatch, tmp_path)
    assert default_data_dir() is None
    with pytest.raises(MnistError, match="python -m train --download"):
        load_mnist()
    cache.mkdir(parents=True)
    assert default_data_dir() == cache
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "explicit"))
    assert default_data_dir() == tmp_path / "explicit"  # the environment still wins


def test_missing_files_say_how_to_download_them(tmp_path):
    with pytest.raises(MnistError, match="--download"):
        load_mnist(tmp_path)


def test_ensure_fills_the_cache_only_when_nothing_complete_is_found(mirrors, monkeypatch, tmp_path):
    cache = isolated_from_shared(monkeypatch, tmp_path)
    options = {"mirrors": [mirrors.url("good")], "md5s": TINY_MD5, "stream": io.StringIO()}
    assert ensure_mnist(None, **options) == cache
    assert sorted(path.name for path in cache.iterdir()) == sorted(TINY)
    assert ensure_mnist(None, **options) == cache and len(mirrors.requests) == 4  # cached now
    complete = tmp_path / "complete"
    complete.mkdir()
    for name in TINY:
        (complete / name).write_bytes(TINY[name])
    monkeypatch.setenv(DATA_DIR_ENV, str(complete))
    assert ensure_mnist(None, **options) == complete and len(mirrors.requests) == 4


def test_cli_download_with_every_mirror_failing_is_exit_3(mirrors, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv(MIRRORS_ENV, f"{mirrors.url('missing')} {mirrors.url('corrupt')}")
    target = tmp_path / "data"
    code = main(["--download", "--data-dir", str(target), "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert code == errors.INPUT
    assert "could not download train-images-idx3-ubyte.gz from any mirror" in err
    assert mirrors.url("missing") in err and mirrors.url("corrupt") in err
    assert list(target.iterdir()) == [] and not (tmp_path / "run" / "model.keras").exists()


def test_downloaded_real_files_load_and_verify(mnist_dir, tmp_path):
    real = {path.name: path.read_bytes() for path in mnist_dir.glob("*.gz")}
    md5s = {name: hashlib.md5(data).hexdigest() for name, data in real.items()}
    with Mirrors(real) as server:
        target = ensure_mnist(tmp_path / "fresh", mirrors=[server.url("drop"), server.url("good")],
                              md5s=md5s, stream=io.StringIO())
    data = load_mnist(target)
    assert data.verified and len(data.train) == 60_000 and len(data.test) == 10_000
