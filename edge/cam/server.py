"""``digit-cam --serve [HOST:]PORT``: the annotated MJPEG stream, a page, /reading and /healthz.

``start_server("8080", state)`` runs a threaded stdlib HTTP server in the background. It binds
to 127.0.0.1 unless told otherwise; any other address needs ``allow_remote`` and a token, which
clients send as ``Authorization: Bearer TOKEN`` or ``?token=TOKEN`` (for the page's <img>).
"""

from __future__ import annotations

import hmac
import html
import ipaddress
import json
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote, urlsplit

STALE_SECONDS = 10.0  # /healthz turns 503 when no frame was processed for this long
BOUNDARY = "digitcamframe"

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
<p><img src="/stream.mjpg{query}" alt="annotated camera stream"></p>
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


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def start_server(spec: str, state, *, allow_remote: bool = False, token: str | None = None):
    """Start serving ``state`` (an :class:`edge.cam.live.LiveState`); returns the server."""
    host, port = parse_bind(spec)
    if not is_loopback(host):
        if not allow_remote:
            raise ValueError(f"refusing to listen on {host}: only loopback is allowed by default. Pass "
                             "--allow-remote and --token (or reach it through an SSH tunnel)")
        if not token or len(token) < 16:
            raise ValueError(f"listening on {host} needs --token with at least 16 characters")
    server = StreamingServer((host, port), _make_handler(state, token), state)
    thread = threading.Thread(target=server.serve_forever, name="digit-cam-http", daemon=True)
    thread.start()
    return server


class StreamingServer(ThreadingHTTPServer):
    """A threaded HTTP server whose ``shutdown`` also ends the endless MJPEG responses."""

    daemon_threads = True

    def __init__(self, address, handler, state):
        self.stopping = threading.Event()
        self.state = state
        super().__init__(address, handler)

    def shutdown(self) -> None:
        self.stopping.set()
        with self.state.condition:
            self.state.condition.notify_all()  # wake streaming handlers so they return
        super().shutdown()


def _make_handler(state, token: str | None):
    class Handler(BaseHTTPRequestHandler):
        server_version = "digit-cam"

        def log_message(self, format, *args):  # noqa: A002 - stdlib signature; quiet by default
            pass

        def _authorised(self, query: dict) -> bool:
            if not token:
                return True
            header = self.headers.get("Authorization", "")
            offered = header[7:] if header.startswith("Bearer ") else (query.get("token") or [""])[0]
            return hmac.compare_digest(offered.encode(), token.encode())

        def _send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def _json(self, status: int, data) -> None:
            self._send(status, json.dumps(data).encode(), "application/json")

        def do_GET(self):  # noqa: N802 - stdlib name
            parts = urlsplit(self.path)
            query = parse_qs(parts.query)
            if not self._authorised(query):
                self._json(HTTPStatus.UNAUTHORIZED, {"error": "missing or wrong token"})
                return
            if parts.path == "/":
                # Re-encode for the URL (a '+' would come back as a space) and escape for HTML.
                suffix = (html.escape("?token=" + quote(query["token"][0], safe=""))
                          if token and "token" in query else "")
                self._send(HTTPStatus.OK, PAGE.format(query=suffix).encode(), "text/html; charset=utf-8")
            elif parts.path == "/healthz":
                age = time.time() - state.last_frame_time if state.frames else None
                healthy = age is not None and age < STALE_SECONDS
                self._json(HTTPStatus.OK if healthy else HTTPStatus.SERVICE_UNAVAILABLE, {
                    "status": "ok" if healthy else "no frames",
                    "frames": state.frames,
                    "seconds_since_frame": None if age is None else round(age, 3),
                    "model_sha256": state.model.get("sha256"),
                    "model": state.model,
                    "source": state.source,
                    "uptime_s": round(time.time() - state.started, 1),
                })
            elif parts.path == "/reading":
                if state.reading is None:
                    self._json(HTTPStatus.SERVICE_UNAVAILABLE, {"error": "no reading yet"})
                else:
                    self._json(HTTPStatus.OK, state.reading)
            elif parts.path == "/stream.mjpg":
                self._stream()
            else:
                self._json(HTTPStatus.NOT_FOUND, {"error": "not found",
                                                  "paths": ["/", "/stream.mjpg", "/reading", "/healthz"]})

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
