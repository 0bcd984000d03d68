"""The ``/label`` page of ``digit-cam --serve --collect``, over HTTP: rows, crops, labels saved
atomically under the collector's lock, the token and the same-origin rule for writes, clear 4xx."""

from __future__ import annotations

import http.client
import json
import os
import threading
import time

import pytest

from edge.cam.collect import CSV_NAME, Collector, read_rows, write_items
from edge.cam.labeling import Change, LabelRequestError, LabelStore, page_window, parse_change, write_refusal
from edge.collected import write_rows
from tests.test_collect import collect, offer

TOKEN = "0123456789abcdef0123456789abcdef"  # openssl rand -hex 16 shape: 128 bits
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def crops(tmp_path):
    """A collect folder with 4 crops predicted 0-3 (crop-000000.png ... crop-000003.png)."""
    folder = tmp_path / "crops"
    collect(folder, 0.9, 0.8, 0.7, 0.6)
    return folder


@pytest.fixture
def serve(server_factory):
    """start(labels, token=TOKEN) -> (host, port) of a loopback server."""
    def start(labels: LabelStore | None, token: str | None = TOKEN):
        return server_factory(token=token, labels=labels).server_address[:2]

    return start


def request(address, method: str, path: str, body: bytes | dict | None = None, headers=None):
    """(status, parsed JSON or raw bytes) of one request."""
    connection = http.client.HTTPConnection(*address, timeout=5)
    if isinstance(body, dict):
        body = json.dumps(body).encode()
        headers = {"Content-Type": "application/json", **(headers or {})}
    connection.request(method, path, body=body, headers=headers or {})
    response = connection.getresponse()
    data = response.read()
    connection.close()
    if response.getheader("Content-Type", "").startswith("application/json"):
        return response.status, json.loads(data)
    return response.status, data


def labels_on_disk(folder) -> list[str]:
    return [row["label"] for row in read_rows(folder / CSV_NAME)]


def test_the_page_and_its_rows_need_the_token(crops, serve):
    address = serve(LabelStore(crops))
    status, page = request(address, "GET", "/label", headers=AUTH)
    assert status == 200 and b"Label collected crops" in page and b"<script>" in page
    assert request(address, "GET", "/label")[0] == 401
    assert request(address, "GET", "/label/rows")[0] == 401
    status, listing = request(address, "GET", f"/label/rows?token={TOKEN}")
    assert status == 200 and listing["total"] == 4 and listing["labelled"] == 0
    assert [(r["row"], r["file"], r["predicted"]) for r in listing["rows"]] == [
        (1, "crop-000000.png", "0"), (2, "crop-000001.png", "1"), (3, "crop-000002.png", "2"),
        (4, "crop-000003.png", "3")]
    assert b'href="/label' in request(address, "GET", "/", headers=AUTH)[1]  # linked from the live page


def test_without_collect_the_label_routes_say_how_to_turn_it_on(serve):
    address = serve(None)
    for method, body in (("GET", None), ("POST", {"file": "crop-000000.png", "label": "1"})):
        status, answer = request(address, method, "/label", body, AUTH)
        assert status == 404 and "--collect DIR" in answer["error"]
    assert b"/label" not in request(address, "GET", "/", headers=AUTH)[1]


def test_rows_can_be_paged_and_filtered(crops, serve):
    store = LabelStore(crops)
    store.set_label(Change("crop-000001.png", "7"))
    address = serve(store)
    listing = request(address, "GET", "/label/rows?start=1&count=2&todo=1", headers=AUTH)[1]
    assert listing["matching"] == 3 and [r["row"] for r in listing["rows"]] == [3, 4]
    assert listing["labelled"] == 1
    status, answer = request(address, "GET", "/label/rows?count=0", headers=AUTH)
    assert status == 400 and "count must be a whole number 1-1000" in answer["error"]


def test_crops_are_served_only_when_listed(crops, serve):
    address = serve(LabelStore(crops))
    status, png = request(address, "GET", "/label/crop/crop-000002.png", headers=AUTH)
    assert status == 200 and png == (crops / "crop-000002.png").read_bytes()
    assert request(address, "GET", "/label/crop/crop-000002.context.png", headers=AUTH)[0] == 200
    (crops / "secret.txt").write_text("no")
    (crops / "crop-000099.png").write_bytes(b"not listed")
    for name in ("../collected.csv", "..%2fcollected.csv", "%2e%2e%2fcollected.csv", "secret.txt",
                 "crop-000099.png", "%2Fetc%2Fpasswd", "crop-000002.png%00"):
        status, answer = request(address, "GET", f"/label/crop/{name}", headers=AUTH)
        assert status == 404, name
        assert "not a crop name" in answer["error"] or "not listed" in answer["error"]


def test_a_tampered_csv_cannot_point_the_image_route_outside_the_folder(crops, serve):
    rows = read_rows(crops / CSV_NAME)
    rows[0]["file"] = "../outside.png"
    write_rows(crops, rows[0].keys(), rows)
    (crops.parent / "outside.png").write_bytes(b"private")
    status, answer = request(serve(LabelStore(crops)), "GET", "/label/crop/..%2Foutside.png", headers=AUTH)
    assert status == 404 and "not a crop name" in answer["error"]


def test_confirm_correct_and_not_a_digit_are_saved_atomically(crops, serve):
    address = serve(LabelStore(crops))
    for file, label in (("crop-000000.png", "0"), ("crop-000001.png", "7"), ("crop-000003.png", "X")):
        status, answer = request(address, "POST", "/label", {"file": file, "label": label}, AUTH)
        assert status == 200 and answer["file"] == file and answer["label"] == label.lower()
    assert labels_on_disk(crops) == ["0", "7", "", "x"]
    assert request(address, "POST", "/label", {"file": "crop-000001.png", "label": ""}, AUTH)[0] == 200
    assert labels_on_disk(crops) == ["0", "", "", "x"]
    assert not list(crops.glob(".collected-*"))  # the temporary file was renamed, not left behind
    assert [r["predicted"] for r in read_rows(crops / CSV_NAME)] == ["0", "1", "2", "3"]  # the rest kept


@pytest.mark.parametrize("body, status, message", [
    ({"file": "crop-000000.png", "label": "12"}, 400, "unknown label '12'"),
    ({"file": "crop-000000.png", "label": "a"}, 400, "use a digit 0-9, x for 'not a digit'"),
    ({"file": "crop-000000.png", "label": 7}, 400, "both values strings"),
    ({"file": "crop-000042.png", "label": "7"}, 404, "'crop-000042.png' is not a row of"),
    (b"[1, 2]", 400, "expected JSON"),
    (b"\xff\xfe", 400, "expected JSON"),
])
def test_bad_labels_and_unknown_rows_are_4xx_with_a_message_and_change_nothing(crops, serve, body, status, message):
    before = (crops / CSV_NAME).read_bytes()
    headers = {**AUTH, "Content-Type": "application/json"}
    got, answer = request(serve(LabelStore(crops)), "POST", "/label", body, headers)
    assert got == status and message in answer["error"]
    assert (crops / CSV_NAME).read_bytes() == before


@pytest.mark.parametrize("headers, status, message", [
    ({"Content-Type": "application/json"}, 401, "token"),
    ({**AUTH, "Content-Type": "application/x-www-form-urlencoded"}, 415, "application/json"),
    ({**AUTH, "Content-Type": "text/plain"}, 415, "application/json"),
    ({**AUTH, "Content-Type": "application/json", "Origin": "http://evil.example"}, 403, "cross-origin"),
    ({**AUTH, "Content-Type": "application/json", "Origin": "null"}, 403, "cross-origin"),
    ({**AUTH, "Content-Type": "application/json", "Sec-Fetch-Site": "cross-site"}, 403, "cross-site"),
    ({**AUTH, "Content-Type": "application/json", "Sec-Fetch-Site": "same-site"}, 403, "cross-site"),
])
def test_writes_need_the_token_and_a_same_origin_json_request(crops, serve, headers, status, message):
    address = serve(LabelStore(crops))
    body = json.dumps({"file": "crop-000000.png", "label": "5"}).encode()
    got, answer = request(address, "POST", "/label", body, headers)
    assert got == status and message in answer["error"]
    assert labels_on_disk(crops) == ["", "", "", ""]


def test_a_same_origin_write_from_the_page_is_accepted(crops, serve):
    host, port = address = serve(LabelStore(crops))
    headers = {**AUTH, "Origin": f"http://{host}:{port}", "Sec-Fetch-Site": "same-origin"}
    assert request(address, "POST", "/label", {"file": "crop-000002.png", "label": "2"}, headers)[0] == 200
    assert labels_on_disk(crops) == ["", "", "2", ""]


def test_oversized_and_unsized_bodies_and_other_paths_are_refused(crops, serve):
    address = serve(LabelStore(crops))
    headers = {**AUTH, "Content-Type": "application/json"}
    status, answer = request(address, "POST", "/label", b"{" + b" " * 5000 + b"}", headers)
    assert status == 413 and "at most 4096 bytes" in answer["error"]
    connection = http.client.HTTPConnection(*address, timeout=5)
    connection.putrequest("POST", "/label")
    for name, value in headers.items():
        connection.putheader(name, value)
    connection.endheaders()
    assert connection.getresponse().status == 411
    connection.close()
    assert request(address, "POST", "/reading", {"x": 1}, AUTH)[0] == 405
    assert request(address, "POST", "/elsewhere", {"x": 1}, AUTH)[0] == 404


def test_a_loopback_server_refuses_foreign_host_names_for_writes(crops, serve):
    address = serve(LabelStore(crops), token=None)  # loopback without a token, as by default
    headers = {"Host": "rebound.example.com", "Content-Type": "application/json"}
    assert request(address, "POST", "/label", {"file": "crop-000000.png", "label": "1"}, headers)[0] == 403
    assert request(address, "POST", "/label", {"file": "crop-000000.png", "label": "1"})[0] == 200
    assert labels_on_disk(crops) == ["1", "", "", ""]


def test_a_label_waits_for_the_writer_and_loses_none_of_its_rows(tmp_path):
    """The collector holds its lock while appending; a label written meanwhile waits, then
    rewrites the file with the appended rows in it."""
    appending, release = threading.Event(), threading.Event()

    def slow_writer(directory, batch):
        write_items(directory, batch[:1])
        appending.set()
        release.wait(5)
        write_items(directory, batch[1:])

    folder = tmp_path / "crops"
    collector = Collector(folder, log=lambda _m: None)
    collector.start()
    offer(collector, 0.9)
    collector.stop()
    collector = Collector(folder, log=lambda _m: None, writer=slow_writer)
    collector.start()
    store = LabelStore(folder, collector.lock)
    offer(collector, 0.8, 0.7, frame=1)
    assert appending.wait(5)
    done = threading.Thread(target=store.set_label, args=(Change("crop-000000.png", "4"),))
    done.start()
    time.sleep(0.2)
    assert done.is_alive()  # waiting for the writer's lock
    release.set()
    done.join(5)
    collector.stop()
    rows = read_rows(folder / CSV_NAME)
    assert [(r["file"], r["label"]) for r in rows] == [
        ("crop-000000.png", "4"), ("crop-000001.png", ""), ("crop-000002.png", "")]


def test_a_failed_rewrite_keeps_the_old_file_and_is_507(crops, monkeypatch):
    before = (crops / CSV_NAME).read_bytes()

    def full(*_args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", full)
    with pytest.raises(LabelRequestError, match="could not save the label") as error:
        LabelStore(crops).set_label(Change("crop-000000.png", "0"))
    assert error.value.status == 507
    assert (crops / CSV_NAME).read_bytes() == before and not list(crops.glob(".collected-*"))


def test_the_rewrite_keeps_the_files_permissions(crops):
    os.chmod(crops / CSV_NAME, 0o640)
    LabelStore(crops).set_label(Change("crop-000000.png", "0"))
    assert (crops / CSV_NAME).stat().st_mode & 0o777 == 0o640


def test_an_empty_folder_lists_nothing_yet(tmp_path):
    assert LabelStore(tmp_path).listing()["rows"] == []
    with pytest.raises(LabelRequestError, match="is not a row"):
        LabelStore(tmp_path).set_label(Change("crop-000000.png", "1"))


def test_pure_parts():
    assert parse_change(b'{"file": "crop-000001.png", "label": " 7 "}') == Change("crop-000001.png", "7")
    assert page_window({}) == (0, 100, False)
    assert page_window({"start": ["5"], "count": ["10"], "todo": ["1"]}) == (5, 10, True)
    with pytest.raises(LabelRequestError, match="start must be"):
        page_window({"start": ["-1"]})
    assert write_refusal({"Content-Type": "application/json; charset=utf-8", "Host": "localhost:8080",
                          "Origin": "http://localhost:8080"}) is None
    assert write_refusal({"Content-Type": "application/json", "Host": "a:1", "Origin": "http://b:1"})[0] == 403


def test_digit_cam_outputs_serve_the_label_page_only_with_collect(crops):
    """Outputs (what digit-cam --serve --collect starts) hands the collector's folder and lock to the server."""
    import io

    from edge.cam.options import Options
    from edge.cam.outputs import Outputs

    messages = []
    outputs = Outputs(Options(serve="127.0.0.1:0", collect=str(crops)), out=io.StringIO(), log=messages.append)
    outputs.start()
    try:
        assert outputs.server is not None and outputs.collector is not None
        address = outputs.server.server_address[:2]
        assert "/label" in messages[0]
        assert request(address, "GET", "/label/rows")[1]["total"] == 4
        assert request(address, "POST", "/label", {"file": "crop-000003.png", "label": "8"})[0] == 200
    finally:
        outputs.stop()
    assert labels_on_disk(crops) == ["", "", "", "8"]
    outputs = Outputs(Options(serve="127.0.0.1:0"), out=io.StringIO(), log=messages.append)
    outputs.start()
    try:
        assert request(outputs.server.server_address[:2], "GET", "/label")[0] == 404
    finally:
        outputs.stop()


def test_non_ascii_digits_are_a_400_not_a_dead_handler(crops, serve):
    address = serve(LabelStore(crops))
    status, answer = request(address, "GET", "/label/rows?count=%C2%B2", headers=AUTH)  # "²".isdigit()
    assert status == 400 and "count must be a whole number" in answer["error"]
    connection = http.client.HTTPConnection(*address, timeout=5)
    connection.putrequest("POST", "/label")
    for name, value in {**AUTH, "Content-Type": "application/json", "Content-Length": "²"}.items():
        connection.putheader(name, value.encode("utf-8").decode("latin-1"))
    connection.endheaders()
    response = connection.getresponse()
    assert response.status == 411
    connection.close()


def test_a_hand_edited_row_with_extra_fields_is_a_clear_409_and_changes_nothing(crops):
    path = crops / CSV_NAME
    lines = path.read_text().splitlines()
    lines[2] += ",an,extra,field"
    path.write_text("\n".join(lines) + "\n")
    before = path.read_bytes()
    with pytest.raises(LabelRequestError, match="malformed row") as error:
        LabelStore(crops).set_label(Change("crop-000000.png", "0"))
    assert error.value.status == 409 and path.read_bytes() == before
