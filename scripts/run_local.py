"""`make run`: database, migrations, an admin key, example calls, and the API
on http://127.0.0.1:8000 (chalice local). Ctrl-C stops everything it started.

PostgreSQL: DATABASE_URL when set, else an embedded server (pgserver) whose
data lives in .local/pgdata and survives restarts. The admin key is created
once and kept in .local/admin_key; the secret key in .local/secret_key.
STEPFLOW_STATE_DIR moves .local elsewhere (the HTTP test tier runs its own
server this way); HOST/PORT choose the address (127.0.0.1:8000).

The server is chalicelib.web.local_server (see its docstring for how each
request is isolated). SIGTERM stops it like Ctrl-C.
"""
from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from chalicelib.settings import LOCAL_HOST, LOCAL_PORT, LOCAL_STATE_DIR  # noqa: E402 - after sys.path

LOCAL = Path(os.environ.get(LOCAL_STATE_DIR) or ROOT / ".local")


def _read_or_create(path: Path, make) -> str:
    if path.exists() and path.read_text().strip():
        return path.read_text().strip()
    value = make()
    path.write_text(value + "\n")
    path.chmod(0o600)
    return value


def _repair_pgserver_handles(pgdata: Path) -> None:
    """pgserver tracks the processes using the embedded server in
    .handle_pids.json and stops it when the last one exits. A process killed
    while writing it leaves it empty (pgserver then fails to start); a killed
    process leaves its pid behind (the server would then never be stopped).
    Unreadable files are reset and dead pids dropped (PostgreSQL's own data
    is not touched)."""
    import json
    handles = pgdata / ".handle_pids.json"
    if not handles.exists():
        return
    try:
        pids = json.loads(handles.read_text() or "x")
    except ValueError:
        pids = []
    handles.write_text(json.dumps([p for p in pids if isinstance(p, int) and _alive(p)]))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def close_clients() -> None:
    """At shutdown: close the clients the server opened (only modules in use are touched)."""
    closers = (("chalicelib.dynamic_api.connections", lambda m: m.manager.close_all()),
               ("chalicelib.compare.cassandra.sessions", lambda m: m.close_all()),
               ("chalicelib.net.outbound", lambda m: m.close_pools()))
    for name, close in closers:
        module = sys.modules.get(name)
        if module is not None:
            try:
                close(module)
            except Exception as exc:  # shutting down: report and go on
                print(f"closing {name}: {exc}", file=sys.stderr)


def main() -> int:
    LOCAL.mkdir(exist_ok=True)
    os.chmod(LOCAL, 0o755)
    server = None
    if not os.environ.get("DATABASE_URL"):
        import pgserver
        print("starting embedded PostgreSQL (data in .local/pgdata)...", flush=True)
        _repair_pgserver_handles(LOCAL / "pgdata")
        server = pgserver.get_server(str(LOCAL / "pgdata"), cleanup_mode="stop")
        os.environ["DATABASE_URL"] = server.get_uri()
    from chalicelib.secrets import generate_key
    if not os.environ.get("SECRET_KEYS"):
        os.environ["SECRET_KEYS"] = _read_or_create(LOCAL / "secret_key", generate_key)
    os.environ.setdefault("STAGE", "local")

    from chalicelib.db import get_db
    from chalicelib.db.migrate import migrate
    from chalicelib.keys.service import create_key, lookup_key
    result = migrate(get_db())
    print(f"migrations applied: {result['applied'] or 'none (up to date)'}")
    from chalicelib.catalog.backfill import backfill_endpoint_security
    filled = backfill_endpoint_security(get_db())
    if filled["endpoints"] or filled["failed"]:
        print(f"endpoint security backfilled: {filled['endpoints']} endpoint(s), "
              f"{len(filled['failed'])} document(s) failed")

    key_file = LOCAL / "admin_key"
    key = key_file.read_text().strip() if key_file.exists() else ""
    if not key or lookup_key(key) is None:
        key = create_key("admin", name="make run")["key"]
        key_file.write_text(key + "\n")
        key_file.chmod(0o600)

    host, port = os.environ.get(LOCAL_HOST) or "127.0.0.1", int(os.environ.get(LOCAL_PORT) or "8000")
    base = f"http://{host}:{port}"
    print(f"""
StepFlow Gateway is serving on {base} (pid {os.getpid()})
Web console: {base}/  (sign in with the key below)
Admin API key (kept in .local/admin_key): {key}

Try:
  curl -s {base}/api/health
  curl -s -H 'Authorization: Bearer {key}' {base}/api/keys
  curl -s -X POST -H 'Authorization: Bearer {key}' -H 'Content-Type: application/json' \\
       -d '{{"role": "viewer", "name": "read-only"}}' {base}/api/keys

Ctrl-C stops the server{' and the embedded PostgreSQL' if server else ''}.
""", flush=True)

    from chalice.cli import factory

    import app as app_module
    from chalicelib.web.local_server import make_server
    config = factory.CLIFactory(str(ROOT)).create_config_obj(chalice_stage_name="dev")
    httpd = make_server(app_module.app, config, host, port)
    from chalicelib.web import access_writer
    access_writer.start()   # access-log rows in batches; every queued row is written at shutdown

    def _terminate(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, _terminate)
    # With QUEUE_URL_* set (real SQS or moto_server), a local worker long-polls
    # the queues in priority order; without them jobs run in-process.
    from chalicelib.jobs.worker import start_local_worker
    worker = start_local_worker()
    if worker is not None:
        print("local job worker polling the SQS queues", flush=True)
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        print("\nstopping...")
    finally:
        # A second Ctrl-C must not interrupt the shutdown half-way: pgserver
        # stops the embedded PostgreSQL in its own exit handler.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        httpd.server_close()
        if worker is not None:
            worker.stop()
        access_writer.stop()
        close_clients()
        get_db().close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
