"""API keys: random, shown once, stored as SHA-256 (they are high-entropy,
so a fast hash is the right one), looked up by hash."""
from __future__ import annotations

import hashlib
import secrets
import threading
import time

from chalicelib.db import get_db
from chalicelib.web.auth import ROLES, Principal
from chalicelib.web.errors import NotFound, ValidationError

KEY_PREFIX = "sfk_"
CACHE_TTL_S = 5.0
LAST_USED_EVERY_S = 60.0

_cache: dict[str, tuple[float, Principal, float]] = {}
_cache_lock = threading.Lock()


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def _row_out(row: dict) -> dict:
    return {k: row[k] for k in ("id", "name", "key_prefix", "role", "permissions", "created_at",
                                "last_used_at", "revoked_at") if k in row}


def create_key(role: str, permissions: list[str] | None = None, name: str | None = None,
               created_by: str | None = None, db=None) -> dict:
    if role not in ROLES:
        raise ValidationError(f"role must be one of {', '.join(ROLES)}")
    db = db or get_db()
    plain = KEY_PREFIX + secrets.token_urlsafe(32)
    row = db.one(
        "INSERT INTO api_keys (name, key_prefix, key_hash, role, permissions, created_by) "
        "VALUES (:name, :prefix, :hash, :role, :perms, CAST(:created_by AS uuid)) RETURNING *",
        name=name, prefix=plain[:12], hash=hash_key(plain), role=role,
        perms=list(permissions or []), created_by=created_by)
    out = _row_out(row)
    out["key"] = plain
    return out


def list_keys(limit: int, offset: int, db=None) -> tuple[list[dict], int]:
    db = db or get_db()
    rows = db.query("SELECT *, count(*) OVER () AS _total FROM api_keys ORDER BY created_at DESC, id "
                    "LIMIT :limit OFFSET :offset", limit=limit, offset=offset)
    total = rows[0]["_total"] if rows else db.scalar("SELECT count(*) FROM api_keys")
    return [_row_out(r) for r in rows], total


def revoke_key(key_id: str, db=None) -> dict:
    db = db or get_db()
    row = db.one("UPDATE api_keys SET revoked_at = COALESCE(revoked_at, NOW()) "
                 "WHERE id = CAST(:id AS uuid) RETURNING *", id=key_id)
    if row is None:
        raise NotFound(f"API key {key_id} not found")
    with _cache_lock:
        for h, (_, p, _) in list(_cache.items()):
            if p.key_id == str(row["id"]):
                del _cache[h]
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
    row = db.one("SELECT id, role, permissions, key_prefix FROM api_keys "
                 "WHERE key_hash = :h AND revoked_at IS NULL", h=digest)
    if row is None:
        return None
    principal = Principal(str(row["id"]), row["role"], frozenset(row["permissions"] or ()), row["key_prefix"])
    last_touch = hit[2] if hit else 0.0
    if now - last_touch > LAST_USED_EVERY_S:
        db.execute("UPDATE api_keys SET last_used_at = NOW() WHERE id = CAST(:id AS uuid)", id=principal.key_id)
        last_touch = now
    with _cache_lock:
        _cache[digest] = (now + CACHE_TTL_S, principal, last_touch)
    return principal


def clear_cache() -> None:
    with _cache_lock:
        _cache.clear()
