"""The web view: an MJPEG stream of annotated frames, a status page (counts, stage timings, recent
events with thumbnails), /status as JSON and /thumb/N.jpg for the events' thumbnails."""

from __future__ import annotations

import errno
import ipaddress
import json
import re
import secrets
import socket
import threading
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any

from edgecnn.errors import EdgeCNNError, EdgeCNNUsageError

BOUNDARY = "edgecnnframe"
PAGE = "page.html"  # beside this module; NONCE is replaced per server
THUMB = re.compile(r"/thumb/([0-9]{1,12})\.jpg")


def allowed_hosts(bound: str, extra: Iterable[str] = ()) -> frozenset[str]:
    """Host names the web view answers to besides IP literals: the bound name, localhost, this
    machine's name (and NAME.local), and any --allow-host. A page on another site that rebinds its
    own domain to this address sends its own domain as Host, and is refused (DNS rebinding)."""
    name = socket.gethostname().lower()
    return frozenset({bound.lower(), "localhost", name, f"{name}.local", *(h.lower() for h in extra)})


def host_ok(header: str | None, allowed: frozenset[str]) -> bool:
    """Whether a request's Host header names this server (an IP literal or an allowed name)."""
    if not header:
        return False
    host = header.strip().lower()
    if host.startswith("["):
        host = host[1:host.find("]")] if "]" in host else host
    elif host.count(":") == 1:
        host = host.rsplit(":", 1)[0]
    if host in allowed:
        return True
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def parse_serve(text: str) -> tuple[str, int]:
    """"HOST:PORT", ":PORT" or "PORT" -> (host, port); host defaults to 127.0.0.1."""
    host, _, port = text.rpartition(":")
    try:
        number = int(port)
    except ValueError:
        number = -1
    if not 0 <= number <= 65535:
        raise EdgeCNNUsageError(f"--serve must be HOST:PORT or PORT, got {text!r}")
    return host.strip("[]") or "127.0.0.1", number


class LiveView:
    """Latest JPEG and a status callback shared between the loop and the HTTP threads."""

    def __init__(self, status: Callable[[], dict[str, Any]],
                 thumbnail: Callable[[int], bytes | None] = lambda seq: None, max_fps: float = 15.0) -> None:
        self.status = status
        self.thumbnail = thumbnail
        self.jpeg = b""
        self.seq = 0
        self.cond = threading.Condition()
        self.closed = False
        self.clients = 0
        self.interval = 1.0 / max_fps
        self.last = 0.0

    def wants_frame(self, now: float) -> bool:
        """Encode only for a watcher, at most max_fps: the stream never slows the loop much."""
        if (self.clients or not self.jpeg) and now - self.last >= self.interval:
            self.last = now
            return True
        return False

    def publish(self, jpeg: bytes) -> None:
        with self.cond:
            self.jpeg, self.seq = jpeg, self.seq + 1
            self.cond.notify_all()

    def next_frame(self, after: int, timeout: float = 1.0) -> tuple[int, bytes]:
        with self.cond:
            self.cond.wait_for(lambda: self.seq != after or self.closed, timeout)
            return self.seq, self.jpeg


def _handler(view: LiveView, allowed: frozenset[str]) -> type[BaseHTTPRequestHandler]:
    nonce = secrets.token_urlsafe(16)
    page = resources.files("edgecnn.camera").joinpath(PAGE).read_text(encoding="utf-8").replace("NONCE", nonce).encode()
    policy = f"default-src 'self'; img-src 'self'; script-src 'nonce-{nonce}'; style-src 'unsafe-inline'"

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # keep the terminal for events
            pass

        def _send(self, body: bytes, ctype: str, code: int = 200) -> None:
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Security-Policy", policy)
            self.send_header("X-Content-Type-Options", "nosniff")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            if not host_ok(self.headers.get("Host"), allowed):
                self._send(b"unknown Host; start edgecnn detect with --allow-host NAME\n", "text/plain", 403)
                return
            path = self.path.split("?")[0]
            if path in ("/", "/index.html"):
                self._send(page, "text/html; charset=utf-8")
            elif path == "/status":
                self._send(json.dumps(view.status()).encode(), "application/json")
            elif path == "/snapshot.jpg" and view.jpeg:
                self._send(view.jpeg, "image/jpeg")
            elif path == "/stream.mjpg":
                self._stream()
            elif (m := THUMB.fullmatch(path)) and (thumb := view.thumbnail(int(m.group(1)))):
                self._send(thumb, "image/jpeg")
            else:
                self._send(b"not found\n", "text/plain", 404)

        def _stream(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={BOUNDARY}")
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            seq = -1
            with view.cond:
                view.clients += 1
            try:
                while not view.closed:
                    seq, jpeg = view.next_frame(seq)
                    if not jpeg:
                        continue
                    self.wfile.write(f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\n"
                                     f"Content-Length: {len(jpeg)}\r\n\r\n".encode() + jpeg + b"\r\n")
            except (BrokenPipeError, ConnectionResetError, TimeoutError):
                pass
            finally:
                with view.cond:
                    view.clients -= 1

    return Handler


class _Server(ThreadingHTTPServer):
    request_queue_size = 128  # many viewers connecting at once all get a frame
    daemon_threads = True


class _Server6(_Server):
    address_family = socket.AF_INET6


class WebServer:
    """ThreadingHTTPServer on its own thread (IPv4 or IPv6); one clear error when the port is taken."""

    def __init__(self, host: str, port: int, view: LiveView, allow: Iterable[str] = ()) -> None:
        self.view = view
        server = _Server6 if ":" in host else _Server
        try:
            self.httpd = server((host, port), _handler(view, allowed_hosts(host, allow)))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise EdgeCNNError(f"port {port} on {host} is already in use: choose another with "
                                   f"--serve {host}:PORT") from None
            raise EdgeCNNError(f"cannot serve on {host}:{port}: {exc.strerror}") from None
        shown = f"[{host}]" if ":" in host else host
        self.url = f"http://{shown}:{self.httpd.server_address[1]}/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="edgecnn-web", daemon=True)
        self.thread.start()

    def close(self) -> None:
        with self.view.cond:
            self.view.closed = True
            self.view.cond.notify_all()
        self.httpd.shutdown()
        self.httpd.server_close()
