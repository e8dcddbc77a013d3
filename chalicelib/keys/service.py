"""API keys: random, shown once, stored as SHA-256 (they are high-entropy,
so a fast hash is the right one), looked up by hash. A lookup is cached per
container for CACHE_TTL_S: a revoked or changed key takes effect at once in
the container that changed it and within CACHE_TTL_S everywhere else."""
from __future__ import annotations

import hashlib
import secrets
import threading
import time

from chalicelib.db import get_db
from chalicelib.errors import NotFound, invalid_input
from chalicelib.keys.principal import ROLES, Principal
from chalicelib.keys.quotas import effective

KEY_PREFIX = "sfk_"
CACHE_TTL_S = 5.0
LAST_USED_EVERY_S = 60.0

_cache: dict[str, tuple[float, Principal, float]] = {}
_cache_lock = threading.Lock()


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def _row_out(row: dict) -> dict:
    out = {k: row[k] for k in ("id", "name", "key_prefix", "role", "permissions", "created_at",
                               "last_used_at", "revoked_at", "rate_per_minute", "max_concurrent") if k in row}
    if "role" in row:
        rate, conc = effective(row["role"], row.get("rate_per_minute"), row.get("max_concurrent"))
        out["limits"] = {"rate_per_minute": rate, "max_concurrent": conc}
    return out


def create_key(role: str, permissions: list[str] | None = None, name: str | None = None,
               created_by: str | None = None, db=None, *, rate_per_minute: int | None = None,
               max_concurrent: int | None = None) -> dict:
    if role not in ROLES:
        raise invalid_input(["body", "role"], f"role must be one of {', '.join(ROLES)}", "enum")
    db = db or get_db()
    plain = KEY_PREFIX + secrets.token_urlsafe(32)
    row = db.one(
        "INSERT INTO api_keys (name, key_prefix, key_hash, role, permissions, created_by, rate_per_minute, "
        " max_concurrent) "
        "VALUES (:name, :prefix, :hash, :role, :perms, CAST(:created_by AS uuid), :rate, :conc) RETURNING *",
        name=name, prefix=plain[:12], hash=hash_key(plain), role=role,
        perms=list(permissions or []), created_by=created_by, rate=rate_per_minute, conc=max_concurrent)
    out = _row_out(row)
    out["key"] = plain
    return out


def list_keys(limit: int, offset: int, db=None) -> tuple[list[dict], int]:
    db = db or get_db()
    rows, total = db.page("SELECT * FROM api_keys", order_by="created_at DESC, id", limit=limit, offset=offset)
    return [_row_out(r) for r in rows], total


_UNSET = object()


def update_key(key_id: str, db=None, *, name=_UNSET, rate_per_minute=_UNSET, max_concurrent=_UNSET,
               permissions=_UNSET) -> dict:
    """Change a key's name, permissions or quota (None = the role's default, 0 = unlimited)."""
    db = db or get_db()
    fields = {"name": name, "rate_per_minute": rate_per_minute, "max_concurrent": max_concurrent,
              "permissions": permissions}
    given = {k: v for k, v in fields.items() if v is not _UNSET}
    sets = ", ".join(f"{k} = :{k}" for k in given) or "name = name"
    row = db.one(f"UPDATE api_keys SET {sets} WHERE id = CAST(:id AS uuid) RETURNING *", id=key_id, **given)
    if row is None:
        raise NotFound(f"API key {key_id} not found")
    _forget(str(row["id"]))
    return _row_out(row)


def _forget(key_id: str) -> None:
    with _cache_lock:
        for h, (_, p, _) in list(_cache.items()):
            if p.key_id == key_id:
                del _cache[h]


def revoke_key(key_id: str, db=None) -> dict:
    db = db or get_db()
    row = db.one("UPDATE api_keys SET revoked_at = COALESCE(revoked_at, NOW()) "
                 "WHERE id = CAST(:id AS uuid) RETURNING *", id=key_id)
    if row is None:
        raise NotFound(f"API key {key_id} not found")
    _forget(str(row["id"]))
    return _row_out(row)


def lookup_key(key: str, db=None) -> Principal | None:
    if not key.startswith(KEY_PREFIX) or len(key) > 128:
        return None
    digest = hash_key(key)
    now = time.monotonic()
    with _cache_lock:
        hit = _cache.get(digest)
    if hit and hit[0] > now:
        return hit[1]
    db = db or get_db()
    row = db.one("SELECT id, role, permissions, key_prefix, rate_per_minute, max_concurrent FROM api_keys "
                 "WHERE key_hash = :h AND revoked_at IS NULL", h=digest)
    if row is None:
        return None
    rate, conc = effective(row["role"], row["rate_per_minute"], row["max_concurrent"])
    principal = Principal(str(row["id"]), row["role"], frozenset(row["permissions"] or ()), row["key_prefix"],
                          rate, conc)
    last_touch = hit[2] if hit else 0.0
    if now - last_touch > LAST_USED_EVERY_S:
        db.execute("UPDATE api_keys SET last_used_at = NOW() WHERE id = CAST(:id AS uuid)", id=principal.key_id)
        last_touch = now
    with _cache_lock:
        _cache[digest] = (now + CACHE_TTL_S, principal, last_touch)
    return principal

