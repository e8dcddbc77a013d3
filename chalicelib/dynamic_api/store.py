"""Rows of connection_pools, api_definitions, api_parameters, invocation logs
and stats. Plain SQL with named params; relations maintained by code inside
one transaction (no foreign keys)."""
from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

from chalicelib.db import get_db, prepared
from chalicelib.db.where import Where
from chalicelib.errors import Conflict, NotFound

from .connections import PoolConfig
from .drivers import ConnectParams
from .params import ParamSpec

log = logging.getLogger("stepflow.dynamic_api")

POOL_FIELDS = ("display_text", "connection_string", "db_type", "host", "port", "username", "database",
               "is_active", "pool_size", "max_concurrency", "remark")
DEF_FIELDS = ("name", "category", "connection_pool_id", "http_method", "script_template", "script_type",
              "template_engine", "is_multiple_result", "is_paging", "is_sorting", "permissions", "rank",
              "remark", "sortable_columns", "default_sorting", "max_page_size", "timeout_ms", "max_rows")
PARAM_FIELDS = ("name", "display_text", "data_type", "param_type", "multiple", "required", "default_value",
                "sensitive", "rank")
DEFINITION_CACHE_TTL_S = 5.0


# --------------------------------------------------------------------------- pools

def _json(value):
    return json.loads(value) if isinstance(value, str) else value


def pool_out(row: dict) -> dict:
    from .connstr import redact
    out = {k: row[k] for k in ("id", *POOL_FIELDS, "version", "created_at", "updated_at")}
    out["connection_string"] = redact(row.get("connection_string"))
    out["has_password"] = row.get("password_enc") is not None
    out["access"] = _json(row.get("access"))
    out["server_identity"] = row.get("server_identity")
    out["privilege_warnings"] = _json(row.get("privilege_warnings")) or []
    out["checked_at"] = row.get("checked_at")
    return out


def get_pool_row(pool_id: str, db=None) -> dict:
    db = db or get_db()
    row = db.one("SELECT * FROM connection_pools WHERE id = CAST(:id AS uuid)", id=pool_id)
    if row is None:
        raise NotFound(f"connection pool {pool_id} not found", {"connection_pool_id": pool_id})
    return row


def list_pools(limit: int, offset: int, db=None) -> tuple[list[dict], int]:
    db = db or get_db()
    rows, total = db.page("SELECT * FROM connection_pools", order_by="created_at DESC, id",
                          limit=limit, offset=offset)
    return [pool_out(r) for r in rows], total


def insert_pool(values: dict, password_enc: dict | None, access: dict, inspection: dict, db=None) -> dict:
    db = db or get_db()
    cols = ", ".join(POOL_FIELDS)
    params = ", ".join(f":{c}" for c in POOL_FIELDS)
    return db.one(f"INSERT INTO connection_pools ({cols}, password_enc, access, server_identity, "
                  f"privilege_warnings, checked_at) VALUES ({params}, CAST(:pw AS jsonb), CAST(:access AS jsonb), "
                  ":ident, CAST(:warnings AS jsonb), CASE WHEN :checked THEN NOW() END) RETURNING *",
                  pw=json.dumps(password_enc) if password_enc else None, access=json.dumps(access),
                  ident=inspection.get("server_identity"),
                  warnings=json.dumps(inspection.get("privilege_warnings") or []),
                  checked=bool(inspection.get("connected")), **{c: values.get(c) for c in POOL_FIELDS})


def record_inspection(pool_id: str, inspection: dict, db=None) -> dict:
    """What the last check of the target found (a pool test, an edit)."""
    db = db or get_db()
    row = db.one("UPDATE connection_pools SET server_identity = COALESCE(:ident, server_identity), "
                 "privilege_warnings = CAST(:warnings AS jsonb), "
                 "checked_at = CASE WHEN :checked THEN NOW() ELSE checked_at END "
                 "WHERE id = CAST(:id AS uuid) RETURNING *", id=pool_id, ident=inspection.get("server_identity"),
                 warnings=json.dumps(inspection.get("privilege_warnings") or []),
                 checked=bool(inspection.get("connected")))
    if row is None:
        raise NotFound(f"connection pool {pool_id} not found")
    return row


def update_pool(pool_id: str, values: dict, password_enc: Any = ..., db=None) -> dict:
    db = db or get_db()
    sets = [f"{c} = :{c}" for c in POOL_FIELDS if c in values]
    params = {c: values[c] for c in POOL_FIELDS if c in values}
    if "access" in values:
        sets.append("access = CAST(:access AS jsonb)")
        params["access"] = json.dumps(values["access"])
    if password_enc is not ...:
        sets.append("password_enc = CAST(:pw AS jsonb)")
        params["pw"] = json.dumps(password_enc) if password_enc else None
    sets += ["version = version + 1", "updated_at = NOW()"]
    row = db.one(f"UPDATE connection_pools SET {', '.join(sets)} WHERE id = CAST(:id AS uuid) RETURNING *",
                 id=pool_id, **params)
    if row is None:
        raise NotFound(f"connection pool {pool_id} not found")
    return row


def delete_pool(pool_id: str, db=None) -> dict:
    db = db or get_db()
    with db.transaction():
        row = get_pool_row(pool_id, db)
        users = db.query("SELECT id, name FROM api_definitions WHERE connection_pool_id = CAST(:id AS uuid) "
                         "ORDER BY name", id=pool_id)
        if users:
            raise Conflict(f"connection pool is used by {len(users)} dynamic API(s); move or delete them first",
                           {"definitions": [{"id": str(u["id"]), "name": u["name"]} for u in users]})
        db.execute("DELETE FROM connection_pools WHERE id = CAST(:id AS uuid)", id=pool_id)
    return row


_pool_configs: dict[tuple[str, int], PoolConfig] = {}


def pool_config(row: dict) -> PoolConfig:
    """The pool's connection settings (password decrypted), cached per pool version."""
    key = (str(row["id"]), int(row["version"]))
    cfg = _pool_configs.get(key)
    if cfg is None:
        if len(_pool_configs) > 256:
            _pool_configs.clear()
        cfg = _pool_configs[key] = _pool_config(row)
    return cfg


def _pool_config(row: dict) -> PoolConfig:
    password = None
    if row.get("password_enc") is not None:
        from chalicelib.secrets import get_box
        password = get_box().unseal(row["password_enc"])
    from chalicelib.settings import get_settings
    params = ConnectParams(row["db_type"], row["host"], int(row["port"]), row.get("username") or "",
                           password, row["database"], get_settings().db_connect_timeout_s)
    return PoolConfig(str(row["id"]), int(row["version"]), params, int(row["pool_size"]),
                      int(row["max_concurrency"]))


# --------------------------------------------------------------------------- definitions

def definition_out(row: dict, params: list[dict] | None = None, stats: dict | None = None) -> dict:
    out = {k: row[k] for k in ("id", *DEF_FIELDS, "status", "version", "published_at", "created_at", "updated_at")}
    out["permissions"] = list(row["permissions"] or [])
    out["sortable_columns"] = list(row["sortable_columns"] or [])
    if params is not None:
        out["parameters"] = [param_out(p) for p in params]
    if stats is not None:
        out["stats"] = stats
    return out


def param_out(row: dict) -> dict:
    return {k: row[k] for k in ("id", *PARAM_FIELDS)}


def get_definition_row(def_id: str, db=None) -> dict:
    db = db or get_db()
    row = db.one("SELECT * FROM api_definitions WHERE id = CAST(:id AS uuid)", id=def_id)
    if row is None:
        raise NotFound(f"dynamic API {def_id} not found", {"id": def_id})
    return row


def get_params(def_id: str, db=None) -> list[dict]:
    db = db or get_db()
    return db.query("SELECT * FROM api_parameters WHERE definition_id = CAST(:id AS uuid) ORDER BY rank, name",
                    id=str(def_id))


def list_definitions(limit: int, offset: int, status: str | None, category: str | None,
                     db=None) -> tuple[list[dict], int]:
    db = db or get_db()
    w = (Where()
         .when(status is not None, "status = :status", status=status)
         .when(category is not None, "category = :category", category=category))
    rows, total = db.page(f"SELECT * FROM api_definitions WHERE {w.sql}", order_by="category, rank, name, id",
                          limit=limit, offset=offset, **w.params)
    return [definition_out(r) for r in rows], total


def _def_params(values: dict) -> dict:
    out = {c: values.get(c) for c in DEF_FIELDS}
    out["permissions"] = list(values.get("permissions") or [])
    out["sortable_columns"] = list(values.get("sortable_columns") or [])
    return out


def _insert_params(db, def_id: str, params: list[dict]) -> None:
    for i, p in enumerate(params):
        db.execute(
            "INSERT INTO api_parameters (definition_id, name, display_text, data_type, param_type, multiple, "
            "required, default_value, sensitive, rank) VALUES (CAST(:d AS uuid), :name, :display_text, "
            ":data_type, :param_type, :multiple, :required, CAST(:default_value AS jsonb), :sensitive, :rank)",
            d=def_id, name=p["name"], display_text=p.get("display_text"), data_type=p["data_type"],
            param_type=p["param_type"], multiple=bool(p.get("multiple")), required=bool(p.get("required")),
            default_value=None if p.get("default_value") is None else json.dumps(p["default_value"]),
            sensitive=bool(p.get("sensitive")), rank=p.get("rank") if p.get("rank") is not None else i)


def insert_definition(values: dict, params: list[dict], db=None) -> dict:
    db = db or get_db()
    with db.transaction():
        row = db.one(
            f"INSERT INTO api_definitions ({', '.join(DEF_FIELDS)}) VALUES ("
            + ", ".join("CAST(:connection_pool_id AS uuid)" if c == "connection_pool_id" else
                        f"CAST(:{c} AS text[])" if c in ("permissions", "sortable_columns") else f":{c}"
                        for c in DEF_FIELDS) + ") RETURNING *", **_def_params(values))
        _insert_params(db, str(row["id"]), params)
    return row


def update_definition(def_id: str, values: dict, params: list[dict] | None, db=None) -> dict:
    db = db or get_db()
    with db.transaction():
        p = _def_params(values)
        sets = ", ".join("connection_pool_id = CAST(:connection_pool_id AS uuid)" if c == "connection_pool_id" else
                         f"{c} = CAST(:{c} AS text[])" if c in ("permissions", "sortable_columns") else f"{c} = :{c}"
                         for c in DEF_FIELDS)
        row = db.one(f"UPDATE api_definitions SET {sets}, version = version + 1, updated_at = NOW() "
                     "WHERE id = CAST(:id AS uuid) RETURNING *", id=def_id, **p)
        if row is None:
            raise NotFound(f"dynamic API {def_id} not found")
        if params is not None:
            db.execute("DELETE FROM api_parameters WHERE definition_id = CAST(:id AS uuid)", id=def_id)
            _insert_params(db, def_id, params)
    invalidate_definition_cache()
    return row


def set_status(def_id: str, status: str, permissions: list[str] | None = None, db=None) -> dict:
    db = db or get_db()
    row = db.one(
        "UPDATE api_definitions SET status = CAST(:status AS text), "
        "permissions = COALESCE(CAST(:perms AS text[]), permissions), "
        "published_at = CASE WHEN CAST(:status AS text) = 'published' THEN NOW() ELSE published_at END, "
        "version = version + 1, updated_at = NOW() WHERE id = CAST(:id AS uuid) RETURNING *",
        id=def_id, status=status, perms=permissions)
    if row is None:
        raise NotFound(f"dynamic API {def_id} not found")
    invalidate_definition_cache()
    return row


def delete_definition(def_id: str, db=None) -> dict:
    db = db or get_db()
    with db.transaction():
        row = get_definition_row(def_id, db)
        db.execute("DELETE FROM api_parameters WHERE definition_id = CAST(:id AS uuid)", id=def_id)
        db.execute("DELETE FROM dynamic_api_stats WHERE definition_id = CAST(:id AS uuid)", id=def_id)
        db.execute("DELETE FROM api_definitions WHERE id = CAST(:id AS uuid)", id=def_id)
    invalidate_definition_cache()
    return row


# --------------------------------------------------------------------------- loaded definitions

@dataclass(frozen=True)
class LoadedDefinition:
    row: dict
    specs: tuple[ParamSpec, ...]
    pool_row: dict

    @property
    def id(self) -> str:
        return str(self.row["id"])

    @property
    def version(self) -> int:
        return int(self.row["version"])


_def_cache: dict[str, tuple[float, LoadedDefinition]] = {}
_def_cache_lock = threading.Lock()


def invalidate_definition_cache() -> None:
    with _def_cache_lock:
        _def_cache.clear()


def load(def_row: dict, db=None) -> LoadedDefinition:
    db = db or get_db()
    params = get_params(str(def_row["id"]), db)
    pool = get_pool_row(str(def_row["connection_pool_id"]), db)
    return LoadedDefinition(def_row, tuple(ParamSpec.from_row(p) for p in params), pool)


def load_published(name: str, db=None) -> LoadedDefinition:
    """The published definition `name` (cached a few seconds per container)."""
    now = time.monotonic()
    with _def_cache_lock:
        hit = _def_cache.get(name)
    if hit and hit[0] > now:
        return hit[1]
    db = db or get_db()
    row = db.one("SELECT * FROM api_definitions WHERE name = :name AND status = 'published'", name=name)
    if row is None:
        raise NotFound(f"no published dynamic API named {name!r}", {"name": name})
    loaded = load(row, db)
    with _def_cache_lock:
        if len(_def_cache) > 1000:
            _def_cache.clear()
        _def_cache[name] = (now + DEFINITION_CACHE_TTL_S, loaded)
    return loaded


def published_definitions(db=None) -> list[LoadedDefinition]:
    db = db or get_db()
    rows = db.query("SELECT * FROM api_definitions WHERE status = 'published' ORDER BY category, rank, name")
    params = db.query("SELECT p.* FROM api_parameters p JOIN api_definitions d ON d.id = p.definition_id "
                      "WHERE d.status = 'published' ORDER BY p.rank, p.name")
    by_def: dict[str, list] = {}
    for p in params:
        by_def.setdefault(str(p["definition_id"]), []).append(ParamSpec.from_row(p))
    return [LoadedDefinition(r, tuple(by_def.get(str(r["id"]), [])), {}) for r in rows]


# --------------------------------------------------------------------------- logs and stats

_RECORD_SQL = prepared("SELECT dynamic_api_record_invocation(CAST(:d AS uuid), :n, CAST(:k AS uuid), :m, "
                        "CAST(:p AS jsonb), :s, :t, :rc, :ec, :em, :test)")   # parsed once per connection


def record_invocation(*, definition_id: str | None, api_name: str, caller_key_id: str | None,
                      http_method: str | None, params: dict | None, status_code: int, duration_ms: float,
                      row_count: int | None, error_code: str | None, error_message: str | None,
                      is_test: bool = False, db=None) -> None:
    """One log row and the per-API counters (SQL function, async commit), sent without
    waiting for the answer (a failure is logged when it is read). Never raises."""
    from chalicelib.jsontext import dumps
    db = db or get_db()
    values = dict(d=definition_id, n=api_name[:64], k=caller_key_id, m=http_method,
                  p=dumps(params) if params is not None else None, s=int(status_code), t=float(duration_ms),
                  rc=row_count, ec=error_code, em=(error_message or None) and error_message[:2000],
                  test=bool(is_test))
    try:
        db.execute_nowait(_RECORD_SQL, **values)   # sent; its answer is read with the connection's next statement
    except Exception:  # a log write must never change the caller's answer
        log.warning("could not record dynamic API invocation of %s", api_name, exc_info=True)


def stats_for(def_id: str, db=None) -> dict:
    db = db or get_db()
    row = db.one("SELECT * FROM dynamic_api_stats WHERE definition_id = CAST(:id AS uuid)", id=def_id)
    if row is None:
        return {"total_calls": 0, "success_calls": 0, "error_calls": 0, "avg_duration_ms": None,
                "last_called_at": None, "last_status_code": None}
    calls = row["total_calls"]
    return {"total_calls": calls, "success_calls": row["success_calls"], "error_calls": row["error_calls"],
            "avg_duration_ms": round(row["total_duration_ms"] / calls, 3) if calls else None,
            "last_called_at": row["last_called_at"], "last_status_code": row["last_status_code"]}


def list_logs(def_id: str, limit: int, offset: int, db=None) -> tuple[list[dict], int]:
    db = db or get_db()
    rows, total = db.page(
        "SELECT id, definition_id, api_name, caller_key_id, http_method, params, status_code, duration_ms, "
        "row_count, error_code, error_message, is_test, created_at "
        "FROM dynamic_api_invocation_logs WHERE definition_id = CAST(:id AS uuid)",
        order_by="created_at DESC, id", limit=limit, offset=offset, id=def_id)
    for r in rows:
        if isinstance(r.get("params"), str):
            r["params"] = json.loads(r["params"])
    return rows, total


LOG_TABLE = "dynamic_api_invocation_logs"


def rollover_log_partitions(now=None, db=None, **options) -> dict:
    """Monthly partitions of the invocation log table, kept by the same daily
    rollover as api_call_logs (chalicelib.schedules.partitions): creates the
    months ahead, moves stray DEFAULT rows, applies retention."""
    from chalicelib.schedules.partitions import rollover
    return rollover(now, table=LOG_TABLE, db=db or get_db(), **options)
