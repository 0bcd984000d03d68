"""``digit-cam --serve [HOST:]PORT``: the annotated MJPEG stream, a page, /reading and /healthz
(and, with ``--collect DIR``, the ``/label`` page of :mod:`edge.cam.labeling`).

``start_server("8080", state)`` runs a threaded stdlib HTTP server in the background, showing a
:class:`LiveState` that the loop (through :class:`edge.cam.outputs.Outputs`) keeps up to date.
It binds to 127.0.0.1 unless told otherwise; any other address needs ``allow_remote`` and a
token, which clients send as ``Authorization: Bearer TOKEN`` or ``?token=TOKEN`` (for the page's <img>).
The only write, ``POST /label``, needs the same token and also a same-origin JSON request
(:func:`edge.cam.labeling.write_refusal`), so a page on another site cannot label crops.
"""

from __future__ import annotations

import hmac
import html
import ipaddress
import json
import math
import socket
import string
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

from edge.cam import labeling
from edge.cam.labeling import LabelRequestError, LabelStore
from edge.errors import UsageError

STALE_SECONDS = 10.0  # /healthz turns 503 when no frame was processed for this long
BOUNDARY = "digitcamframe"
# A client gets this long to send its request (and to take each stream frame): an idle or
# trickling connection is closed instead of holding a thread and a file descriptor for ever.
READ_TIMEOUT_S = 10.0
# Connections served at once (each a thread and a descriptor; far below systemd's 1,024 file
# descriptors and the unit's LimitNOFILE), and MJPEG streams among them (each JPEG-encoding viewer
# costs Wi-Fi and CPU on a Pi). Beyond either, the answer is 503.
MAX_CONNECTIONS = 64
MAX_STREAMS = 8
MIN_TOKEN_BITS = 128  # e.g. openssl rand -hex 16 (32 hex digits)
TOKEN_HINT = "make one with: openssl rand -hex 16"
# Sent with every answer: no sniffing, no framing, no referrer leaking ?token=, only our own resources.
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": ("default-src 'none'; img-src 'self'; connect-src 'self'; "
                                "script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
                                "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"),
}
BUSY_RESPONSE = (b"HTTP/1.0 503 Service Unavailable\r\nContent-Type: application/json\r\n"
                 b"Retry-After: 5\r\nConnection: close\r\nContent-Length: 35\r\n\r\n"
                 b'{"error": "too many connections"}\r\n')

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>digit-cam</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
 body {{ font-family: system-ui, sans-serif; margin: 1rem; background: #111; color: #eee; }}
 #text {{ font-size: 3rem; font-weight: 700; letter-spacing: .2rem; min-height: 3.5rem; }}
 img {{ max-width: 100%; border: 1px solid #444; }}
 .meta {{ color: #aaa; font-size: .9rem; }}
</style></head>
<body>
<h1>digit-cam</h1>
<div id="text">…</div>
<div class="meta" id="meta">waiting for the first reading</div>
<p><img src="/stream.mjpg{query}" alt="annotated camera stream"></p>{label_link}
<script>
async function poll() {{
  try {{
    const response = await fetch("/reading{query}");
    if (response.ok) {{
      const r = await response.json();
      document.getElementById("text").textContent = r.text || "–";
      document.getElementById("meta").textContent =
        `frame ${{r.frame}} · ${{r.digits.length}} digit(s) · ${{r.latency_ms.total.toFixed(1)}} ms · ${{r.source}}`;
    }}
  }} catch (e) {{ document.getElementById("meta").textContent = "disconnected"; }}
  setTimeout(poll, 500);
}}
poll();
</script></body></html>
"""


class ServeError(UsageError, ValueError):
    """``--serve`` was asked for an address it must not listen on without more flags."""


@dataclass(frozen=True)
class ModelInfo:
    """The model being served, as /healthz reports it."""

    path: str
    sha256: str
    backend: str  # the TFLite runtime's name
    xnnpack: bool
    accuracy: float | None  # MNIST test accuracy from the sidecar, None without one


@dataclass
class LiveState:
    """What the server shows: the latest annotated JPEG and reading, and liveness.

    The loop writes through :meth:`publish`; request threads read under ``condition``, which
    also wakes the MJPEG streams when a new picture arrives.
    """

    condition: threading.Condition = field(default_factory=threading.Condition)
    jpeg: bytes | None = None  # the newest annotated frame, JPEG-encoded
    jpeg_sequence: int = 0  # bumped on every new JPEG, so a stream sends each one once
    reading: dict[str, Any] | None = None  # the newest reading, as printed by --json
    frames: int = 0  # frames processed so far
    last_frame_time: float = 0.0  # time.time() of the newest frame
    model: ModelInfo | None = None
    source: str = ""  # the source's description
    started: float = field(default_factory=time.time)

    def publish(self, jpeg: bytes | None, reading: dict[str, Any]) -> None:
        """A processed frame: its reading, and its picture when one was encoded."""
        with self.condition:
            if jpeg is not None:
                self.jpeg = jpeg
                self.jpeg_sequence += 1
            self.reading = reading
            self.frames += 1
            self.last_frame_time = time.time()
            self.condition.notify_all()

    def health(self, now: float) -> tuple[bool, dict[str, Any]]:
        """(healthy, the /healthz body) at ``now``: healthy while frames keep coming."""
        with self.condition:
            age = now - self.last_frame_time if self.frames else None
            model = asdict(self.model) if self.model is not None else {}
            body = {
                "status": "ok" if age is not None and age < STALE_SECONDS else "no frames",
                "frames": self.frames,
                "seconds_since_frame": None if age is None else round(age, 3),
                "model_sha256": model.get("sha256"),
                "model": model,
                "source": self.source,
                "uptime_s": round(now - self.started, 1),
            }
        return body["status"] == "ok", body


def parse_bind(spec: str) -> tuple[str, int]:
    """``"8080"`` -> ("127.0.0.1", 8080); ``"0.0.0.0:8080"``, ``"[::1]:8080"`` likewise."""
    host, _, port_text = spec.rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    try:
        port = int(port_text)
    except ValueError:
        raise ValueError(f"--serve expects [HOST:]PORT, got {spec!r}") from None
    if not 0 <= port <= 65535:
        raise ValueError(f"--serve port must be 0-65535, got {port}")
    return host, port


def token_bits(token: str) -> float:
    """An upper bound of a token's entropy: its length times log2 of the alphabet its character
    classes span (lower case, upper case, digits, anything else). Catches short, one-class or
    repetitive tokens; it cannot tell a random token from a memorable one of the same shape."""
    classes = [string.ascii_lowercase, string.ascii_uppercase, string.digits]
    alphabet = sum(len(chars) for chars in classes if any(c in chars for c in token))
    if any(not any(c in chars for chars in classes) for c in token):
        alphabet += 33  # punctuation, space, anything beyond ASCII letters and digits
    if len(set(token)) < min(len(token), 8):
        return 0.0  # "aaaaaaaa…" or "abababab…"
    return len(token) * math.log2(alphabet) if alphabet > 1 else 0.0


def check_token(token: str | None) -> None:
    """Refuse a token that is blank or guessable (:data:`MIN_TOKEN_BITS`), with how to make one."""
    if token is None or token == "":
        return
    if not token.strip():
        raise ServeError(f"--token is only whitespace; {TOKEN_HINT}")
    if token_bits(token) < MIN_TOKEN_BITS:
        raise ServeError(f"--token is too weak (under {MIN_TOKEN_BITS} bits: {len(token)} characters, "
                         f"or too few distinct ones); {TOKEN_HINT}")


def host_allowed(host_header: str | None, bound_to_loopback: bool) -> bool:
    """DNS rebinding guard: a server bound to loopback answers only requests addressed to a
    loopback name, so a web page whose domain was re-pointed at 127.0.0.1 cannot read it."""
    if not bound_to_loopback or not host_header:
        return True
    host = host_header.strip()
    if host.startswith("["):
        host = host[1:].split("]", 1)[0]
    elif host.count(":") == 1:
        host = host.split(":", 1)[0]
    return is_loopback(host.lower())


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def start_server(spec: str, state: LiveState, *, allow_remote: bool = False,
                 token: str | None = None, labels: LabelStore | None = None) -> StreamingServer:
    """Start serving ``state`` (and the /label page over ``labels``, a --collect folder); returns the
    server (``shutdown()`` it). A refused address raises :class:`ServeError`; one in use, ``OSError``."""
    try:
        host, port = parse_bind(spec)
    except ValueError as error:
        raise ServeError(str(error)) from None
    if not is_loopback(host):
        if not allow_remote:
            raise ServeError(f"refusing to listen on {host}: only loopback is allowed by default. Pass "
                             "--allow-remote and --token (or reach it through an SSH tunnel)")
        if not token:
            raise ServeError(f"listening on {host} needs --token; {TOKEN_HINT}")
    check_token(token)
    handler = _make_handler(state, token, bound_to_loopback=is_loopback(host), labels=labels)
    server = StreamingServer((host, port), handler, state)
    thread = threading.Thread(target=server.serve_forever, name="digit-cam-http", daemon=True)
    thread.start()
    return server


class StreamingServer(ThreadingHTTPServer):
    """A threaded HTTP server whose ``shutdown`` also ends the endless MJPEG responses, that
    serves at most :data:`MAX_CONNECTIONS` connections (503 beyond), listens on IPv6 addresses
    too, and never prints a traceback for a client that went away."""

    daemon_threads = True

    def __init__(self, address, handler, state: LiveState):
        self.stopping = threading.Event()
        self.state = state
        self.slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
        self.streams = threading.BoundedSemaphore(MAX_STREAMS)
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        super().__init__(address, handler)

    def process_request(self, request, client_address) -> None:
        if not self.slots.acquire(blocking=False):
            try:  # a short answer from the accepting thread, then the descriptor is closed
                request.settimeout(1.0)
                request.sendall(BUSY_RESPONSE)
            except OSError:
                pass
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self.slots.release()
            raise

    def process_request_thread(self, request, client_address) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.slots.release()

    def handle_error(self, request, client_address) -> None:
        """A reset, a timeout or a broken pipe is a client going away: nothing to report. Anything
        else is one line, never the stdlib's 27-line traceback (the journal is JSON lines)."""
        error = sys.exc_info()[1]
        if isinstance(error, OSError):
            return
        print(f"warning: HTTP request from {client_address[0]} failed: {type(error).__name__}: {error}",
              file=sys.stderr, flush=True)

    def shutdown(self) -> None:
        self.stopping.set()
        with self.state.condition:
            self.state.condition.notify_all()  # wake streaming handlers so they return
        super().shutdown()


NO_LABELS = "the /label page needs collection on: digit-cam --serve PORT --collect DIR"
PATHS = ["/", "/stream.mjpg", "/reading", "/healthz", "/label"]


def _make_handler(state: LiveState, token: str | None, *, bound_to_loopback: bool = True,
                  labels: LabelStore | None = None):
    class Handler(BaseHTTPRequestHandler):
        server_version = "digit-cam"
        timeout = READ_TIMEOUT_S  # socket timeout for every read and write of this connection

        def version_string(self) -> str:
            return self.server_version  # no "Python/3.x": nothing to fingerprint

        def log_message(self, format, *args):  # noqa: A002 - stdlib signature; quiet by default
            pass

        def end_headers(self) -> None:
            for name, value in SECURITY_HEADERS.items():
                self.send_header(name, value)
            super().end_headers()

        def _authorised(self, query: dict) -> bool:
            if not token:
                return True
            header = self.headers.get("Authorization", "")
            if not header.startswith("Bearer "):
                return hmac.compare_digest((query.get("token") or [""])[0].encode(), token.encode())
            # Header values arrive decoded as latin-1. curl and browsers send a non-ASCII token as
            # UTF-8 bytes, Python's http.client as latin-1: both spellings are accepted.
            offered = header[7:]
            as_utf8 = hmac.compare_digest(offered.encode("latin-1", errors="replace"), token.encode())
            as_latin1 = hmac.compare_digest(offered.encode(errors="surrogateescape"), token.encode())
            return as_utf8 or as_latin1

        def _send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def _json(self, status: int, data) -> None:
            self._send(status, json.dumps(data).encode(), "application/json")

        def _admitted(self, query: dict) -> bool:
            """The host check and the token, for every method; answers the refusal itself."""
            if not host_allowed(self.headers.get("Host"), bound_to_loopback):
                self._json(HTTPStatus.FORBIDDEN, {"error": "this server answers only to localhost names"})
                return False
            if not self._authorised(query):
                self._json(HTTPStatus.UNAUTHORIZED, {"error": "missing or wrong token"})
                return False
            return True

        def do_GET(self):  # noqa: N802 - stdlib name
            parts = urlsplit(self.path)
            query = parse_qs(parts.query)
            if not self._admitted(query):
                return
            if parts.path == "/":
                # Re-encode for the URL (a '+' would come back as a space) and escape for HTML.
                suffix = (html.escape("?token=" + quote(query["token"][0], safe=""))
                          if token and "token" in query else "")
                link = (f'\n<p><a href="/label{suffix}" style="color:#8cf">label collected crops</a></p>'
                        if labels is not None else "")
                self._send(HTTPStatus.OK, PAGE.format(query=suffix, label_link=link).encode(),
                           "text/html; charset=utf-8")
            elif parts.path == "/label" or parts.path.startswith("/label/"):
                self._label_get(parts.path, query)
            elif parts.path == "/healthz":
                healthy, body = state.health(time.time())
                self._json(HTTPStatus.OK if healthy else HTTPStatus.SERVICE_UNAVAILABLE, body)
            elif parts.path == "/reading":
                with state.condition:
                    reading = state.reading
                if reading is None:
                    self._json(HTTPStatus.SERVICE_UNAVAILABLE, {"error": "no reading yet"})
                else:
                    self._json(HTTPStatus.OK, reading)
            elif parts.path == "/stream.mjpg":
                if not self.server.streams.acquire(blocking=False):
                    self._json(HTTPStatus.SERVICE_UNAVAILABLE, {"error": f"at most {MAX_STREAMS} streams"})
                    return
                try:
                    self._stream()
                finally:
                    self.server.streams.release()
            else:
                self._json(HTTPStatus.NOT_FOUND, {"error": "not found", "paths": PATHS})

        def _label_get(self, path: str, query: dict) -> None:
            if labels is None:
                self._json(HTTPStatus.NOT_FOUND, {"error": NO_LABELS})
                return
            try:
                if path == "/label":
                    self._send(HTTPStatus.OK, labeling.LABEL_PAGE.encode(), "text/html; charset=utf-8")
                elif path == "/label/rows":
                    start, count, todo = labeling.page_window(query)
                    self._json(HTTPStatus.OK, labels.listing(start, count, todo))
                elif path.startswith("/label/crop/"):
                    self._send(HTTPStatus.OK, labels.image(unquote(path[len("/label/crop/"):])), "image/png")
                else:
                    self._json(HTTPStatus.NOT_FOUND, {"error": "not found",
                                                      "paths": ["/label", "/label/rows", "/label/crop/NAME"]})
            except LabelRequestError as error:
                self._json(error.status, {"error": str(error)})

        def do_POST(self):  # noqa: N802 - stdlib name
            parts = urlsplit(self.path)
            if not self._admitted(parse_qs(parts.query)):
                return
            if parts.path != "/label":
                self._json(HTTPStatus.METHOD_NOT_ALLOWED if parts.path in PATHS else HTTPStatus.NOT_FOUND,
                           {"error": f"POST is only for /label, not {parts.path}"})
                return
            if labels is None:
                self._json(HTTPStatus.NOT_FOUND, {"error": NO_LABELS})
                return
            refusal = labeling.write_refusal(self.headers)
            if refusal is not None:
                self._json(refusal[0], {"error": refusal[1]})
                return
            length = self.headers.get("Content-Length", "")
            if not (length.isascii() and length.isdigit()):
                self._json(HTTPStatus.LENGTH_REQUIRED, {"error": "a Content-Length is required"})
                return
            if int(length) > labeling.MAX_BODY_BYTES:
                self.close_connection = True  # the body is not read: the connection cannot be reused
                self._json(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, {"error": f"at most {labeling.MAX_BODY_BYTES} bytes"})
                return
            try:
                self._json(HTTPStatus.OK, labels.set_label(labeling.parse_change(self.rfile.read(int(length)))))
            except LabelRequestError as error:
                self._json(error.status, {"error": str(error)})

        def _stream(self) -> None:
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={BOUNDARY}")
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            seen = -1
            stopping = self.server.stopping
            try:
                while not stopping.is_set():
                    with state.condition:
                        state.condition.wait_for(
                            lambda last=seen: state.jpeg_sequence != last or stopping.is_set(), timeout=1.0)
                        if stopping.is_set() or state.jpeg_sequence == seen or state.jpeg is None:
                            continue
                        seen, jpeg = state.jpeg_sequence, state.jpeg
                    self.wfile.write(f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\n"
                                     f"Content-Length: {len(jpeg)}\r\n\r\n".encode() + jpeg + b"\r\n")
                    self.wfile.flush()
            except OSError:  # the client went away
                return

    return Handler
