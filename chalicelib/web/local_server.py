"""The local HTTP server of `make run` and the HTTP test tier, with Lambda's semantics.

Each request is handled the way a Lambda container handles one invocation:
the request is turned into an API Gateway proxy event (by Chalice's
LocalGateway, wrapped by EnvelopeGateway for the 404 envelope) and passed to
the app, and the app's answer is written back.

Isolation, by construction: every request runs inside a new, empty
`contextvars.Context`. Everything the app keeps per request lives in context
variables (the current request and Lambda context of `StepflowApp`, the
request id, the dynamic-API bind list), so one request can never observe
another's headers, body, query, path parameters, principal or request id,
whatever the concurrency and whether or not connections are kept alive.
Threads are only the carriers: a connection is served by its own thread
(`ThreadingHTTPServer`), one request at a time, so a slow request (an
upstream that answers after 5 s) never stalls the others. Shared resources
are bounded where they are owned: the project's database connections by
`chalicelib.db.Database` (DB_POOL_MAX per process), dynamic-API pools by
their own pool settings.

No latency floor: each response (status line, headers and body) is written
in a single send and sockets have TCP_NODELAY, so keep-alive requests do not
wait for a delayed ACK.

The access log is the app's own structured line per request
(chalicelib.observability: route, path without the query string, role,
status, duration, request id); the server itself only reports protocol
errors.
"""
from __future__ import annotations

import base64
import contextvars
import logging
import socket
import sys
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from chalicelib.web import envelope

log = logging.getLogger("stepflow.http")

MAX_REQUEST_BODY_BYTES = 10 * 1024 * 1024   # API Gateway's payload limit
KEEP_ALIVE_IDLE_S = 75                      # an idle keep-alive connection is closed after this


def _reason(code: int) -> str:
    try:
        return HTTPStatus(code).phrase
    except ValueError:
        return ""


def _error(code: str, status: int, message: str) -> dict:
    body = envelope.error_body(code, message)
    return {"statusCode": status, "headers": {"Content-Type": "application/json",
                                              "X-Request-Id": body["request_id"]},
            "multiValueHeaders": {}, "body": envelope.dumps(body)}


class RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: "LocalServer"
    timeout = KEEP_ALIVE_IDLE_S

    def setup(self) -> None:
        super().setup()
        try:
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass

    def _read_body(self) -> bytes | None:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks, size = [], 0
            while True:
                line = self.rfile.readline(1024)
                n = int(line.split(b";", 1)[0].strip() or b"0", 16)
                if n == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                size += n
                if size > MAX_REQUEST_BODY_BYTES:
                    raise _TooLarge()
                chunks.append(self.rfile.read(n))
                self.rfile.readline(16)
            return b"".join(chunks) or None
        length = int(self.headers.get("Content-Length") or 0)
        if length < 0:
            raise ValueError("negative Content-Length")
        if length > MAX_REQUEST_BODY_BYTES:
            raise _TooLarge()
        return self.rfile.read(length) if length else None

    def _handle(self) -> None:
        try:
            body = self._read_body()
        except _TooLarge:
            self.close_connection = True
            response = _error("PAYLOAD_TOO_LARGE", 413, f"request body over {MAX_REQUEST_BODY_BYTES} bytes")
        except ValueError:
            self.close_connection = True
            response = _error("VALIDATION_ERROR", 400, "malformed request framing (Content-Length/chunks)")
        else:
            headers = {k: v for k, v in self.headers.items()}
            # A new, empty context per request: nothing set by an earlier
            # request on this thread (or any other) is visible to this one.
            response = contextvars.Context().run(self.server.invoke, self.command, self.path, headers, body)
        self._write(response)

    # TRACE (and any method a route does not declare) gets the 405 envelope from the app.
    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = do_PATCH = do_OPTIONS = do_TRACE = _handle

    def __getattr__(self, name: str) -> Any:
        # Any other method token (QUERY, PROPFIND, ...) goes to the app as well, never to
        # http.server's 501 HTML page: the app answers the 405 envelope with Allow.
        if name.startswith("do_") and name[3:].isalpha() and name[3:].isupper():
            return self._handle
        raise AttributeError(name)

    def _write(self, response: dict) -> None:
        status = int(response["statusCode"])
        body = response.get("body") or b""
        if response.get("isBase64Encoded"):
            body = base64.b64decode(body)
        elif isinstance(body, str):
            body = body.encode("utf-8")
        lines = [f"HTTP/1.1 {status} {_reason(status)}"]
        seen = set()
        for name, value in (response.get("headers") or {}).items():
            if name.lower() in ("content-length", "connection", "transfer-encoding"):
                continue
            multi = (response.get("multiValueHeaders") or {}).get(name)
            for v in (multi if isinstance(multi, list) else [value]):
                lines.append(f"{name}: {v}")
            seen.add(name)
        for name, values in (response.get("multiValueHeaders") or {}).items():
            if name in seen or name.lower() in ("content-length", "connection", "transfer-encoding"):
                continue
            for v in (values if isinstance(values, list) else [values]):
                lines.append(f"{name}: {v}")
        lines.append(f"Content-Length: {len(body)}")
        if self.close_connection:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace")
        payload = head if self.command == "HEAD" else head + body
        try:
            self.wfile.write(payload)   # one send: no delayed-ACK stall
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:   # noqa: A002 - http.server's signature
        # Only protocol errors reach here (the app writes the access log).
        sys.stderr.write("http: " + (format % args) + "\n")

    def log_request(self, code: Any = "-", size: Any = "-") -> None:
        return


class _TooLarge(Exception):
    pass


class LocalServer(ThreadingHTTPServer):
    """ThreadingHTTPServer serving a Chalice app through EnvelopeGateway."""

    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, app: Any, config: Any, host: str, port: int):
        from chalicelib.web.local import EnvelopeGateway
        self.app = app
        # The gateway only reads the route table: one instance serves every thread.
        self.gateway = EnvelopeGateway(app, config)
        super().__init__((host, port), RequestHandler)

    @property
    def port(self) -> int:
        return self.server_address[1]

    def invoke(self, method: str, path: str, headers: dict, body: bytes | None) -> dict:
        from chalice.local import LocalGatewayException
        try:
            return self.gateway.handle_request(method=method, path=path, headers=headers, body=body)
        except LocalGatewayException as exc:
            return {"statusCode": exc.CODE, "headers": dict(exc.headers or {}), "multiValueHeaders": {},
                    "body": exc.body or b""}
        except Exception:
            log.exception("local server: unhandled error for %s %s", method, path.split("?", 1)[0])
            return _error("SYSTEM_ERROR", 500, "internal error; quote the request_id when reporting it")


def make_server(app: Any, config: Any, host: str, port: int) -> LocalServer:
    return LocalServer(app, config, host, port)
