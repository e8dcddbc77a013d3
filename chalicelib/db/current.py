"""The container's Database: made on first use from the settings (not at import),
or installed by tests and the CLI.

    db = get_db()
    set_db(Database(url))   # tests, CLI; set_db(None) drops it

In AWS the password comes from the RDS-managed Secrets Manager secret
(DATABASE_SECRET_ARN), read again after an authentication failure.
"""
from __future__ import annotations

import threading
from typing import Callable

from chalicelib.db.database import Database

_db: Database | None = None
_db_lock = threading.Lock()


def get_db() -> Database:
    """The container's Database (created on first use, not at import)."""
    global _db
    if _db is None:
        with _db_lock:
            if _db is None:
                from chalicelib.settings import get_settings
                s = get_settings()
                creds = _secret_credentials(s.database_secret_arn) if s.database_secret_arn else None
                _db = Database(s.database_url, s.db_statement_timeout_ms, s.db_connect_timeout_s,
                               credentials=creds, max_connections=s.db_pool_max, idle_s=s.db_pool_idle_s,
                               pool_wait_s=s.db_pool_wait_s)
    return _db


def _secret_credentials(arn: str) -> Callable[[bool], dict]:
    """In AWS the password lives in an RDS-managed Secrets Manager secret."""
    cache: dict = {}

    def credentials(refresh: bool) -> dict:
        if refresh or not cache:
            import json

            from chalicelib.aws import client
            value = json.loads(client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"])
            cache.update(username=value["username"], password=value["password"])
        return dict(cache)

    return credentials


def set_db(db: Database | None) -> None:
    """Install a Database (tests, CLI); None drops the cached one."""
    global _db
    _db = db
