"""The HTTP test tier: the real server that `make run` starts, over real HTTP.

`live_server` (session fixture, registered in tests/conftest.py) runs
scripts/run_local.py in a subprocess exactly as `make run` does, on its own
free loopback port, its own database (created for the run, dropped after)
and its own state directory (admin key, secret key). Loopback upstreams are
admitted by OUTBOUND_ALLOWLIST=127.0.0.1 so tests can run their own HTTP
servers; other private ranges stay refused.

    def test_viewer_cannot_list_keys(live_server):
        r = live_server.call("GET", "/api/keys", key=live_server.key("viewer"))
        assert r.status_code == 403

Set state up through the API. `live_server.psql(sql)` reads the server's
database (assertions only: connection counts, row counts). The server's
captured output (access log, tracebacks) is `live_server.log_text()`.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LiveServer:
    url: str
    admin_key: str
    database_url: str
    process: subprocess.Popen
    log_path: Path
    state_dir: Path
    _local: threading.local = field(default_factory=threading.local, repr=False)

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def session(self):
        """This thread's keep-alive requests.Session."""
        s = getattr(self._local, "session", None)
        if s is None:
            import requests
            s = self._local.session = requests.Session()
        return s

    def call(self, method: str, path: str, json: Any = None, *, key: str | None = "admin",
             headers: dict | None = None, params: Any = None, data: Any = None, timeout: float = 60):
        """One request; `key` is an API key, "admin" (the server's admin key) or None."""
        hdrs = {}
        if key == "admin":
            key = self.admin_key
        if key:
            hdrs["Authorization"] = f"Bearer {key}"
        hdrs.update(headers or {})
        return self.session().request(method, self.url + path, json=json, headers=hdrs, params=params,
                                      data=data, timeout=timeout)

    def key(self, role: str, name: str | None = None) -> str:
        """A new API key of `role`, created through POST /api/keys."""
        r = self.call("POST", "/api/keys", {"role": role, "name": name or f"live {role} {uuid.uuid4().hex[:6]}"})
        assert r.status_code == 201, r.text
        return r.json()["data"]["key"]

    def psql(self, sql: str, **params: Any) -> list[dict]:
        """Read the server's database directly (for assertions, not set-up)."""
        from chalicelib.db import Database
        d = Database(self.database_url, max_connections=1)
        try:
            return d.query(sql, **params)
        finally:
            d.close()

    def api(self, key: str | None = "admin") -> "HttpApi":
        """The in-process tests' `Api` interface (tests/conftest.py), over HTTP."""
        return HttpApi(self, self.admin_key if key == "admin" else key)

    def log_text(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")


def start_live_server(database_url: str, secret_key: str, extra_env: dict | None = None,
                      timeout_s: float = 90) -> LiveServer:
    import requests
    state = Path(tempfile.mkdtemp(prefix="stepflow-live-"))
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QUEUE_URL_", "REDIS_URL"))}
    env.update({
        "DATABASE_URL": database_url, "SECRET_KEYS": secret_key, "STEPFLOW_STATE_DIR": str(state),
        "HOST": "127.0.0.1", "PORT": str(port), "OUTBOUND_ALLOWLIST": "127.0.0.1", "STAGE": "local",
        "PYTHONUNBUFFERED": "1",
        # Role-default key quotas off: tests hammer the server; quota tests set limits per key
        # or start a server with the defaults (extra_env).
        "KEY_DEFAULT_RATE_PER_MINUTE": "0", "KEY_DEFAULT_MAX_CONCURRENT": "0",
    })
    env.update(extra_env or {})
    log_path = state / "server.log"
    out = open(log_path, "wb")
    proc = subprocess.Popen([sys.executable, str(ROOT / "scripts" / "run_local.py")], cwd=str(ROOT), env=env,
                            stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout_s
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode}:\n{log_path.read_text()[-4000:]}")
        try:
            if requests.get(url + "/api/health", timeout=2).status_code in (200, 503):
                break
        except requests.RequestException:
            pass
        if time.monotonic() > deadline:
            stop_live_server(proc)
            raise RuntimeError(f"the server did not answer within {timeout_s}s:\n{log_path.read_text()[-4000:]}")
        time.sleep(0.2)
    admin_key = (state / "admin_key").read_text().strip()
    from tests.error_shape import watch
    watch(url)
    return LiveServer(url, admin_key, database_url, proc, log_path, state)


def stop_live_server(proc: subprocess.Popen, timeout_s: float = 20) -> int | None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
    return proc.returncode


def _api_base():
    from tests.conftest import Api
    return Api


class HttpApi(_api_base()):
    """tests.conftest.Api's methods and Resp answers, through the live server."""

    def __init__(self, server: LiveServer, key: str | None):
        self.server = server
        self.key = key

    def as_key(self, key: str | None) -> "HttpApi":
        return HttpApi(self.server, key)

    def request(self, method: str, path: str, json_body: Any = None, *, body: bytes | str | None = None,
                headers: dict | None = None):
        import json as _json

        from tests.conftest import Resp
        hdrs = {}
        if json_body is not None:
            hdrs["Content-Type"] = "application/json"
            body = _json.dumps(json_body)
        hdrs.update(headers or {})
        if isinstance(body, str):
            body = body.encode("utf-8")
        r = self.server.call(method, path, key=self.key, headers=hdrs, data=body or None)
        return Resp(r.status_code, {k.lower(): v for k, v in r.headers.items()}, r.content)
