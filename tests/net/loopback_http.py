"""A tiny HTTP(S) server on a free 127.0.0.1 port for outbound-call tests.

    with LoopbackServer(handler) as srv:
        srv.url("/path")

`handler(req)` receives a `Request` (method, path, query, headers, body,
sni) and returns `(status, headers, body)`; body may be bytes, str, a dict
(sent as JSON) or an iterable of bytes (sent chunked, one write per item,
so a handler can drip slowly). Every request is also kept in
`srv.requests`.
"""
from __future__ import annotations

import json
import ssl
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable
from urllib.parse import parse_qsl, urlsplit


@dataclass
class Request:
    method: str
    path: str  # raw request target path, still percent-encoded
    query: list[tuple[str, str]]
    raw_target: str
    headers: dict[str, str]
    body: bytes
    sni: str | None = None
    client: tuple = field(default_factory=tuple)

    def json(self) -> Any:
        return json.loads(self.body or b"null")


Handler = Callable[[Request], tuple]


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are separate writes: no 40 ms delayed-ACK stall
    server: "_Server"

    def log_message(self, *args):  # quiet
        pass

    def _handle(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        req = Request(
            method=self.command,
            path=parts.path,
            query=parse_qsl(parts.query, keep_blank_values=True),
            raw_target=self.path,
            headers={k: v for k, v in self.headers.items()},
            body=body,
            sni=self.server.last_sni,
            client=self.client_address,
        )
        self.server.owner.requests.append(req)
        status, headers, payload = self.server.owner.handler(req)
        headers = dict(headers or {})
        if isinstance(payload, (dict, list)):
            payload = json.dumps(payload).encode()
            headers.setdefault("Content-Type", "application/json")
        if isinstance(payload, str):
            payload = payload.encode()
            headers.setdefault("Content-Type", "text/plain; charset=utf-8")
        self.send_response(status)
        for k, v in headers.items():
            if isinstance(v, (list, tuple)):
                for item in v:
                    self.send_header(k, item)
            else:
                self.send_header(k, str(v))
        if payload is None:
            payload = b""
        if isinstance(payload, (bytes, bytearray)):
            if "Content-Length" not in headers:
                self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if self.command != "HEAD":
                try:
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass
            return
        # iterable: chunked transfer encoding
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            for piece in payload:
                if piece:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                    self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _handle


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    last_sni: str | None = None
    owner: "LoopbackServer"


class LoopbackServer:
    def __init__(self, handler: Handler, *, tls_context: ssl.SSLContext | None = None, host: str = "127.0.0.1"):
        self.handler = handler
        self.requests: list[Request] = []
        self._tls = tls_context
        self._httpd = _Server((host, 0), _RequestHandler)
        self._httpd.owner = self
        if tls_context is not None:
            def remember_sni(sslobj, server_name, ctx):
                self._httpd.last_sni = server_name

            tls_context.sni_callback = remember_sni
            self._httpd.socket = tls_context.wrap_socket(self._httpd.socket, server_side=True)
        self.port = self._httpd.server_address[1]
        self.host = host
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def url(self, path: str = "/", host: str | None = None) -> str:
        scheme = "https" if self._tls else "http"
        return f"{scheme}://{host or self.host}:{self.port}{path}"

    def start(self) -> "LoopbackServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> "LoopbackServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


class LoopbackUpstream:
    """Base of a test upstream with its own routes: `handle(request)` answers, `self.server`
    is its LoopbackServer, and the upstream is a context manager that starts and stops it."""

    server: LoopbackServer

    def handle(self, request: Request):   # overridden
        raise NotImplementedError

    def __enter__(self):
        self.server.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.stop()
