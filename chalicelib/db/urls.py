"""`DATABASE_URL` as pg8000's connect arguments.

    parse_database_url("postgresql://u:p@127.0.0.1:5432/db") -> {"user", "password", "host", "port", "database"}

A `?host=/dir` query (a Unix socket directory, as pgserver gives) becomes `unix_sock`.
"""
from __future__ import annotations

from urllib.parse import unquote, urlparse


def parse_database_url(url: str) -> dict:
    parsed = urlparse(url)
    if parsed.scheme not in ("postgres", "postgresql"):
        raise RuntimeError(f"DATABASE_URL must start with postgresql://, got {parsed.scheme!r}")
    params = {
        "user": unquote(parsed.username or "postgres"),
        "host": parsed.hostname or "127.0.0.1",
        "port": parsed.port or 5432,
        "database": unquote(parsed.path.lstrip("/")) or "postgres",
    }
    if parsed.password:
        params["password"] = unquote(parsed.password)
    # Unix socket directory (pgserver) as ?host=/path
    for part in parsed.query.split("&"):
        if part.startswith("host="):
            params["unix_sock"] = unquote(part[5:]).rstrip("/") + f"/.s.PGSQL.{params['port']}"
            params.pop("host")
    return params
