"""Make sure the services the project needs are reachable; print env lines.

    python scripts/services.py test   -> TEST_PG_ADMIN_URL=..., TEST_REDIS_URL=...
    python scripts/services.py run    -> DATABASE_URL=... (embedded PostgreSQL
                                         under .local/ when DATABASE_URL is unset)

Used by the Makefile. Servers already listening on 127.0.0.1:5432 / 6379 are
used as they are; otherwise an embedded PostgreSQL (pgserver) is started and
redis-server is installed from the system package manager and started.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCAL = ROOT / ".local"


def reachable(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def embedded_postgres(name: str) -> str:
    """Start (or reuse) pgserver's PostgreSQL under .local/<name>; return its URL."""
    import pgserver  # dev dependency
    LOCAL.mkdir(exist_ok=True)
    os.chmod(LOCAL, 0o755)
    server = pgserver.get_server(str(LOCAL / name), cleanup_mode=None)
    return server.get_uri()


def ensure_redis() -> str | None:
    if reachable("127.0.0.1", 6379):
        return "redis://127.0.0.1:6379/0"
    if shutil.which("redis-server") is None and shutil.which("apt-get"):
        print("installing redis-server from the system package manager...", file=sys.stderr)
        subprocess.run(["apt-get", "update", "-qq"], check=False, stdout=subprocess.DEVNULL)
        subprocess.run(["apt-get", "install", "-y", "-qq", "redis-server"], check=False, stdout=subprocess.DEVNULL)
    if shutil.which("redis-server") is None:
        print("warning: redis-server is not available; Redis tests will fail", file=sys.stderr)
        return None
    subprocess.run(["redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "--port", "6379",
                    "--save", "", "--appendonly", "no"], check=False, stdout=subprocess.DEVNULL)
    for _ in range(50):
        if reachable("127.0.0.1", 6379):
            return "redis://127.0.0.1:6379/0"
        time.sleep(0.1)
    return None


def ensure_mariadb() -> bool:
    if reachable("127.0.0.1", 3306):
        return True
    exe = shutil.which("mariadbd") or "/usr/sbin/mariadbd"
    if Path(exe).exists():
        subprocess.run(["start-stop-daemon", "--start", "--oknodo", "--background", "--exec", exe], check=False)
        for _ in range(100):
            if reachable("127.0.0.1", 3306):
                return True
            time.sleep(0.1)
    print("warning: MariaDB is not reachable on 127.0.0.1:3306; MySQL tests will fail", file=sys.stderr)
    return False


def ensure_chromium() -> None:
    """The console's browser tests drive Debian's chromium + chromium-driver."""
    if Path("/usr/bin/chromium").exists() and Path("/usr/bin/chromedriver").exists():
        return
    if shutil.which("apt-get"):
        print("installing chromium and chromium-driver from the system package manager...", file=sys.stderr)
        subprocess.run(["apt-get", "update", "-qq"], check=False, stdout=subprocess.DEVNULL)
        subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", "chromium", "chromium-driver"],
                       check=False, stdout=subprocess.DEVNULL)


def main(mode: str) -> int:
    lines = []
    if mode == "test":
        if reachable("127.0.0.1", 5432):
            lines.append("TEST_PG_ADMIN_URL=postgresql://postgres@127.0.0.1:5432/postgres")
        else:
            lines.append("TEST_PG_ADMIN_URL=" + embedded_postgres("pgtest"))
        redis_url = ensure_redis()
        if redis_url:
            lines.append("TEST_REDIS_URL=" + redis_url)
        ensure_mariadb()
        ensure_chromium()
    elif mode == "run":
        if not os.environ.get("DATABASE_URL"):
            lines.append("DATABASE_URL=" + embedded_postgres("pgdata"))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else ""))
