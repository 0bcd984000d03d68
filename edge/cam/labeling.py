"""The ``/label`` page of ``digit-cam --serve PORT --collect DIR``: label collected crops in a browser.

``LabelStore(Path("crops"), collector.lock)`` is what :func:`edge.cam.server.start_server` serves
at ``/label`` (the page), ``/label/rows`` (the rows of ``DIR/collected.csv`` as JSON),
``/label/crop/NAME`` (a crop or context PNG listed in those rows, nothing else) and ``POST /label``
(one label: ``{"file": "crop-000012.png", "label": "7"}``; a digit, ``x`` for "not a digit", or
empty to clear it). Each label rewrites ``collected.csv`` atomically
(:func:`edge.collected.write_rows`) under the collector's lock, so rows the writer thread appends
meanwhile are never lost. Bad requests are :class:`LabelRequestError` with the HTTP status to send.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import Any

from edge.collected import CSV_NAME, CollectError, LabelError, check_label, read_table, write_rows

MAX_BODY_BYTES = 4096  # one label change is ~50 bytes; anything larger is not from our page
PAGE_ROWS = 100  # crops per page of the grid: a few MB of tiny PNGs at most
MAX_PAGE_ROWS = 1000
# Only names the collector writes: a tampered collected.csv cannot point the image route elsewhere.
IMAGE_NAME = re.compile(r"^crop-\d{6,}(\.context)?\.png$")


class LabelRequestError(ValueError):
    """A /label request that cannot be honoured; ``status`` is the HTTP answer (4xx, or 500)."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = int(status)


@dataclass(frozen=True)
class Change:
    """One label to write: the crop's file name and its label ('' clears it)."""

    file: str
    label: str


def parse_change(body: bytes) -> Change:
    """A POST body -> :class:`Change`; anything but ``{"file": str, "label": str}`` with a known
    label is a 400 naming what was wrong."""
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise LabelRequestError(HTTPStatus.BAD_REQUEST, 'expected JSON {"file": "crop-….png", "label": "7"}') from None
    if not isinstance(data, dict) or not isinstance(data.get("file"), str) or not isinstance(data.get("label"), str):
        raise LabelRequestError(HTTPStatus.BAD_REQUEST, 'expected JSON {"file": "crop-….png", "label": "7"} '
                                "with both values strings")
    try:
        label = check_label(data["label"], f"file {data['file']!r}")
    except LabelError as error:
        raise LabelRequestError(HTTPStatus.BAD_REQUEST, str(error)) from None
    return Change(data["file"], label)


def write_refusal(headers: Any) -> tuple[int, str] | None:
    """Why a write must be refused as possibly cross-site, else None. Our page sends JSON with
    ``fetch`` from its own origin; a form or a page elsewhere cannot send ``application/json``
    without a CORS pre-flight (which this server never grants), and browsers name the sending
    page in ``Origin`` and ``Sec-Fetch-Site``."""
    content_type = (headers.get("Content-Type") or "").split(";", 1)[0].strip().lower()
    if content_type != "application/json":
        return HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "writes must be Content-Type: application/json"
    site = headers.get("Sec-Fetch-Site")
    if site is not None and site not in ("same-origin", "none"):
        return HTTPStatus.FORBIDDEN, f"cross-site write refused (Sec-Fetch-Site: {site})"
    origin = headers.get("Origin")
    host = headers.get("Host")
    if origin is not None and (not host or origin.lower() not in (f"http://{host}".lower(),
                                                                  f"https://{host}".lower())):
        return HTTPStatus.FORBIDDEN, f"cross-origin write refused (Origin: {origin})"
    return None


def page_window(query: dict[str, list[str]]) -> tuple[int, int, bool]:
    """``?start=N&count=M&todo=1`` -> (start, count, only unlabelled); a bad number is a 400."""
    def number(name: str, default: int, low: int, high: int) -> int:
        text = (query.get(name) or [str(default)])[0]
        if not (text.isascii() and text.isdigit()) or not low <= int(text) <= high:
            raise LabelRequestError(HTTPStatus.BAD_REQUEST, f"{name} must be a whole number {low}-{high}, got {text!r}")
        return int(text)

    return (number("start", 0, 0, 10**9), number("count", PAGE_ROWS, 1, MAX_PAGE_ROWS),
            (query.get("todo") or ["0"])[0] == "1")


class LabelStore:
    """The rows of ``directory/collected.csv``, read and rewritten under ``lock`` (the collector's)."""

    def __init__(self, directory: Path, lock: threading.Lock | None = None):
        self.directory = Path(directory)
        self.lock = lock if lock is not None else threading.Lock()

    @property
    def csv_path(self) -> Path:
        return self.directory / CSV_NAME

    def _table(self) -> tuple[tuple[str, ...], list[dict[str, str]]]:
        """Read under the caller's lock; no file yet is no rows (nothing collected so far)."""
        try:
            return read_table(self.csv_path)
        except FileNotFoundError:
            return (), []
        except (CollectError, OSError, UnicodeDecodeError) as error:
            raise LabelRequestError(HTTPStatus.INTERNAL_SERVER_ERROR, f"cannot read {self.csv_path}: {error}") from None

    def listing(self, start: int = 0, count: int = PAGE_ROWS, todo: bool = False) -> dict[str, Any]:
        """A page of rows for the grid (``todo``: unlabelled rows only), numbered from 1 as on
        ``python -m train.label``'s contact sheet, with the totals."""
        with self.lock:
            rows = self._table()[1]
        numbered = [(number, row) for number, row in enumerate(rows, start=1) if not todo or not row["label"]]
        return {
            "directory": str(self.directory),
            "total": len(rows),
            "labelled": sum(1 for row in rows if row["label"]),
            "matching": len(numbered),
            "start": start,
            "rows": [{"row": number, "file": row["file"], "context": row["context"], "predicted": row["predicted"],
                      "confidence": row["confidence"], "top3": row["top3"], "label": row["label"]}
                     for number, row in numbered[start: start + count]],
        }

    def image(self, name: str) -> bytes:
        """The PNG ``name``, only when it is a crop or context listed in collected.csv (404 otherwise)."""
        if not IMAGE_NAME.match(name):
            raise LabelRequestError(HTTPStatus.NOT_FOUND, f"{name!r} is not a crop name")
        with self.lock:
            rows = self._table()[1]
        if not any(name in (row["file"], row["context"]) for row in rows):
            raise LabelRequestError(HTTPStatus.NOT_FOUND, f"{name!r} is not listed in {CSV_NAME}")
        try:
            return (self.directory / name).read_bytes()
        except OSError:
            raise LabelRequestError(HTTPStatus.NOT_FOUND,
                                    f"{name} is listed but missing from {self.directory}") from None

    def set_label(self, change: Change) -> dict[str, Any]:
        """Write one label: read, change and rewrite collected.csv atomically, all under the lock."""
        with self.lock:
            header, rows = self._table()
            numbers = [number for number, row in enumerate(rows, start=1) if row["file"] == change.file]
            if not numbers:
                raise LabelRequestError(HTTPStatus.NOT_FOUND, f"{change.file!r} is not a row of {self.csv_path}")
            number = numbers[0]
            rows[number - 1]["label"] = change.label
            try:
                write_rows(self.directory, header, rows)
            except OSError as error:
                raise LabelRequestError(HTTPStatus.INSUFFICIENT_STORAGE, f"could not save the label: {error}") from None
            except ValueError as error:  # a hand-edited row with more fields than the header
                raise LabelRequestError(HTTPStatus.CONFLICT, f"{self.csv_path} has a malformed row, nothing was "
                                        f"changed; fix the file by hand ({error})") from None
        return {"row": number, "file": change.file, "label": change.label}


LABEL_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>digit-cam: label crops</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
 body { font-family: system-ui, sans-serif; margin: 1rem; background: #111; color: #eee; }
 #grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(13rem, 1fr)); gap: .6rem; }
 .card { background: #222; border: 2px solid #333; border-radius: 6px; padding: .4rem; }
 .card.done { border-color: #2a6; } .card.failed { border-color: #c33; }
 .card img { image-rendering: pixelated; width: 84px; height: 84px; background: #000; vertical-align: middle; }
 .card img.context { width: auto; height: 84px; image-rendering: auto; margin-left: .3rem; }
 .read { font-size: 1.1rem; } .status { display: block; min-height: 1.2em; color: #aaa; font-size: .85rem; }
 input.digit { width: 2.2em; font-size: 1rem; text-align: center; }
 button { font-size: .9rem; margin: .15rem .1rem; }
 .meta, .error { color: #aaa; } .error { color: #f66; }
</style></head>
<body>
<h1>Label collected crops</h1>
<p class="meta">Confirm what the model read, type the right digit (Enter saves), or mark "not a digit".
Each label is saved into collected.csv at once. <a href="/" id="home" style="color:#8cf">live view</a></p>
<p><label><input type="checkbox" id="todo"> only unlabelled</label>
<button id="prev">&larr; previous</button> <button id="next">next &rarr;</button>
<span class="meta" id="summary">loading…</span></p>
<p class="error" id="error"></p>
<div id="grid"></div>
<script>
const token = new URLSearchParams(location.search).get("token");
const auth = token ? {"Authorization": "Bearer " + token} : {};
const withToken = (path) =>
  token ? path + (path.includes("?") ? "&" : "?") + "token=" + encodeURIComponent(token) : path;
let start = 0; const count = 100;
document.getElementById("home").href = withToken("/");

function element(tag, props, text) {
  const node = document.createElement(tag);
  Object.assign(node, props || {});
  if (text !== undefined) node.textContent = text;
  return node;
}

function showLabel(card, label) {
  card.querySelector(".label").textContent = label === "" ? "not labelled" :
    label === "x" ? "label: not a digit" : "label: " + label;
  card.classList.toggle("done", label !== "");
}

async function save(card, label) {
  const status = card.querySelector(".status");
  status.textContent = "saving…";
  card.classList.remove("failed");
  try {
    const response = await fetch(withToken("/label"), {method: "POST",
      headers: Object.assign({"Content-Type": "application/json"}, auth),
      body: JSON.stringify({file: card.dataset.file, label: label})});
    const answer = await response.json();
    if (!response.ok) throw new Error(answer.error || response.statusText);
    card.dataset.label = answer.label;
    showLabel(card, answer.label);
    status.textContent = "saved";
    card.dataset.saved = String(Number(card.dataset.saved || 0) + 1);
  } catch (e) {
    card.classList.add("failed");
    status.textContent = "not saved: " + e.message;
  }
}

function makeCard(row) {
  const card = element("div", {className: "card"});
  card.dataset.file = row.file;
  card.dataset.row = row.row;
  card.append(element("img", {src: withToken("/label/crop/" + encodeURIComponent(row.file)), alt: "crop " + row.row}));
  if (row.context) card.append(element("img", {className: "context", alt: "context",
    src: withToken("/label/crop/" + encodeURIComponent(row.context))}));
  const confidence = Number(row.confidence);
  card.append(element("div", {className: "read"},
    `#${row.row} read ${row.predicted}` + (isNaN(confidence) ? "" : ` (${Math.round(confidence * 100)}%)`)));
  card.append(element("div", {className: "label"}));
  const confirm = element("button", {className: "confirm", disabled: !/^[0-9]$/.test(row.predicted)},
    "\u2713 " + row.predicted);
  confirm.addEventListener("click", () => save(card, row.predicted));
  const digit = element("input", {className: "digit", maxLength: 1, inputMode: "numeric", placeholder: "0-9",
    ariaLabel: "the right digit"});
  const set = element("button", {className: "set"}, "save");
  const typed = () => save(card, digit.value.trim());
  set.addEventListener("click", typed);
  digit.addEventListener("keydown", (event) => { if (event.key === "Enter") typed(); });
  const notDigit = element("button", {className: "not-digit"}, "not a digit");
  notDigit.addEventListener("click", () => save(card, "x"));
  const clear = element("button", {className: "clear"}, "clear");
  clear.addEventListener("click", () => save(card, ""));
  card.append(confirm, digit, set, notDigit, clear, element("span", {className: "status"}));
  card.dataset.label = row.label;
  showLabel(card, row.label);
  return card;
}

async function load() {
  const error = document.getElementById("error");
  error.textContent = "";
  const todo = document.getElementById("todo").checked ? 1 : 0;
  try {
    const response = await fetch(withToken(`/label/rows?start=${start}&count=${count}&todo=${todo}`), {headers: auth});
    const page = await response.json();
    if (!response.ok) throw new Error(page.error || response.statusText);
    const grid = document.getElementById("grid");
    grid.replaceChildren(...page.rows.map(makeCard));
    const shown = page.rows.length ? `${start + 1}-${start + page.rows.length} of ${page.matching}` : "none";
    document.getElementById("summary").textContent =
      `${page.total} crops, ${page.labelled} labelled; showing ${shown}` +
      (page.total ? "" : " (nothing collected yet)");
    document.getElementById("prev").disabled = start === 0;
    document.getElementById("next").disabled = start + page.rows.length >= page.matching;
    document.body.dataset.loaded = "1";
  } catch (e) { error.textContent = "could not load the crops: " + e.message; }
}

document.getElementById("prev").addEventListener("click", () => { start = Math.max(0, start - count); load(); });
document.getElementById("next").addEventListener("click", () => { start += count; load(); });
document.getElementById("todo").addEventListener("change", () => { start = 0; load(); });
load();
</script></body></html>
"""
