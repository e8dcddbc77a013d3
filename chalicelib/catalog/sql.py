"""What every catalog store module shares: the Database to use, JSON for
jsonb parameters, and the text filters of listings.

`db` arguments may be None (the container's Database) or a Database already
inside a transaction (calls join it)."""
from __future__ import annotations

import json
from typing import Any


def database(db: Any = None) -> Any:
    """`db`, or the container's Database when it is None."""
    if db is not None:
        return db
    from chalicelib.db import get_db
    return get_db()


def dumps(value: Any) -> str:
    """JSON text for a `CAST(:x AS jsonb)` parameter."""
    return json.dumps(value, separators=(",", ":"), allow_nan=False, default=str)


def as_list(value: Any) -> list:
    """A filter given once or repeated, as a list (None: empty)."""
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def like(text: str | None) -> str | None:
    """An ILIKE pattern matching `text` anywhere, its wildcards taken literally."""
    if not text:
        return None
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
