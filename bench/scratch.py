"""A database of its own for one benchmark: created empty, dropped after.

    with scratch_database("http") as (url, name):
        ...

The server is TEST_PG_ADMIN_URL's (what `make bench` sets up, as for tests).
"""
from __future__ import annotations

import os
import uuid
from contextlib import contextmanager
from typing import Iterator


@contextmanager
def scratch_database(label: str) -> Iterator[tuple[str, str]]:
    from chalicelib.db import Database, quote_ident
    admin_url = os.environ.get("TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    base, _, query = admin_url.partition("?")
    name = f"stepflow_bench_{label}_{uuid.uuid4().hex[:8]}"
    url = base.rsplit("/", 1)[0] + "/" + name + ("?" + query if query else "")
    admin = Database(admin_url, max_connections=1)
    admin.execute(f"CREATE DATABASE {quote_ident(name)}")
    try:
        yield url, name
    finally:
        admin.execute(f"DROP DATABASE IF EXISTS {quote_ident(name)} WITH (FORCE)")
        admin.close()
