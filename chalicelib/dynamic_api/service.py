"""What the routes do: validation of pools and definitions at save time,
publishing, test runs and invocation logging."""
from __future__ import annotations

import re
import time
import uuid
from typing import Any

from chalicelib.errors import AppError, NotFound, invalid_input

from . import connstr, executor, limits, paging, store, trust
from .checks import SCRIPT_TYPES, check_template
from .connections import manager
from .dialects import normalize_db_type
from .drivers import ConnectParams, connect
from .engines import engines
from .params import ParamSpec, check_default, check_param_name, mask, normalize_data_type, normalize_param_type

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH")


# --------------------------------------------------------------------------- pools

def _seal(password: str | None):
    if password is None or password == "":
        return None
    from chalicelib.secrets import get_box
    return get_box().seal(password)


POOL_DEFAULTS = {"is_active": True, "pool_size": 5, "max_concurrency": 10}
DEFINITION_DEFAULTS = {"category": "default", "http_method": "GET", "script_type": "sql",
                       "template_engine": "liquid", "is_paging": False, "is_sorting": False, "permissions": [],
                       "rank": 0, "sortable_columns": [], "max_page_size": 100, "timeout_ms": 10000}


_CONNECTION_FIELDS = ("db_type", "host", "port", "username", "password", "database")


def _split_connection_string(data: dict) -> dict:
    """The password of a connection_string moves to `password` (encrypted);
    the text keeps the mask in its place."""
    if data.get("connection_string"):
        text, password = connstr.split_password(data["connection_string"])
        data["connection_string"] = text
        if password is not None and not data.get("password"):
            data["password"] = password
    return data


def _inspect(values: dict, password: str | None) -> dict:
    from chalicelib.settings import get_settings
    params = ConnectParams(values["db_type"], values["host"], int(values["port"]), values.get("username") or "",
                           password, values["database"], get_settings().db_connect_timeout_s)
    return trust.inspect_target(params)


def create_pool(data: dict) -> dict:
    data = {**POOL_DEFAULTS, **{k: v for k, v in data.items() if v is not None or k not in POOL_DEFAULTS}}
    data["db_type"] = normalize_db_type(data["db_type"])
    data = _split_connection_string(data)
    access_in = data.pop("access", None)
    password = data.pop("password", None)
    inspection = _inspect(data, password or None)        # refuses the gateway's own database
    if access_in is None and inspection["reaches_gateway"]:
        access_in = trust.GATEWAY_DEFAULT_ACCESS
    access = trust.normalize_access(access_in)
    row = store.insert_pool(data, _seal(password), access, inspection)
    return store.pool_out(row)


def update_pool(pool_id: str, changes: dict) -> dict:
    from chalicelib.secrets import MASK
    changes = dict(changes)
    if "db_type" in changes:
        if changes["db_type"] is None:
            raise invalid_input(["body", "db_type"], "db_type cannot be null", "missing")
        changes["db_type"] = normalize_db_type(changes["db_type"])
    for required in ("display_text", "host", "port", "database", "is_active", "pool_size", "max_concurrency"):
        if required in changes and changes[required] is None:
            raise invalid_input(["body", *required.split(".")], f"{required} cannot be null")
    if "access" in changes:
        changes["access"] = trust.normalize_access(changes["access"])
    changes = _split_connection_string(changes)
    row = store.get_pool_row(pool_id)
    password_enc: Any = ...
    new_password: Any = ...
    if "password" in changes:
        password = changes.pop("password")
        if password != MASK:
            password_enc, new_password = _seal(password), password
    inspection = None
    if any(f in changes for f in _CONNECTION_FIELDS) or new_password is not ...:
        merged = {**row, **changes}
        if new_password is ...:
            new_password = store.pool_config(row).params.password
        inspection = _inspect(merged, new_password or None)
    row = store.update_pool(pool_id, changes, password_enc)
    if inspection is not None:
        row = store.record_inspection(pool_id, inspection)
    manager.invalidate(pool_id)
    store.invalidate_definition_cache()
    return store.pool_out(row)


def delete_pool(pool_id: str) -> dict:
    row = store.delete_pool(pool_id)
    manager.invalidate(pool_id)
    return store.pool_out(row)


def test_pool(pool_id: str) -> dict:
    row = store.get_pool_row(pool_id)
    cfg = store.pool_config(row)
    started = time.perf_counter()
    try:
        conn = connect(cfg.params)
    except AppError as exc:
        if isinstance(exc.details, dict):
            exc.details = {"pool": row["display_text"], "connection_pool_id": pool_id, **exc.details}
        raise
    try:
        from .dialects import BoundStatement
        conn.execute(BoundStatement("SELECT 1", (), conn.db_type))
        version = conn.execute(BoundStatement("SELECT version()", (), conn.db_type)).rows[0][0]
    finally:
        conn.close()
    duration = round((time.perf_counter() - started) * 1000.0, 2)
    inspection = trust.inspect_target(cfg.params)        # refuses the gateway's own database
    if not inspection["connected"]:
        raise inspection["error"]
    store.record_inspection(pool_id, inspection)
    return {"connected": True, "duration_ms": duration, "db_type": row["db_type"], "server_version": str(version),
            "server_identity": inspection["server_identity"],
            "privilege_warnings": inspection["privilege_warnings"]}


# --------------------------------------------------------------------------- definitions

def _normalize_params(params: list[dict]) -> list[dict]:
    out, seen = [], set()
    for p in params:
        p = dict(p)
        check_param_name(p["name"])
        if p["name"] in seen:
            raise invalid_input(["body", "parameters", p["name"]], f"parameter {p['name']!r} is declared twice")
        seen.add(p["name"])
        p["data_type"] = normalize_data_type(p.get("data_type"))
        p["param_type"] = normalize_param_type(p.get("param_type"))
        check_default(ParamSpec.from_row(p))
        out.append(p)
    return out


def _require_access(principal, def_row: dict, pool_row: dict, action: str) -> None:
    """`principal` is the caller's key; None only for the product's own callers (benchmarks, jobs)."""
    trust.require_access(principal, pool_row, trust.api_kind(def_row.get("http_method")), action)


def validate_definition(values: dict, params: list[dict], principal=None, action: str = "define") -> dict:
    """Every save-time check, the pool's access rule included; returns normalized values."""
    v = dict(values)
    if not isinstance(v.get("name"), str) or not NAME_RE.match(v["name"]):
        raise invalid_input(["body", "name"],
                            "name must be URL-safe: letters, digits, '_', '-', '.', starting with a letter "
                            "or digit, at most 64 characters")
    method = (v.get("http_method") or "GET").upper()
    if method not in METHODS:
        raise invalid_input(["body", "http_method"], f"http_method must be one of {', '.join(METHODS)}")
    v["http_method"] = method
    v["template_engine"] = engines.get_engine(v.get("template_engine") or "liquid").name
    v["script_type"] = (v.get("script_type") or "sql").lower()
    if v["script_type"] not in SCRIPT_TYPES:
        raise invalid_input(["body", "script_type"], f"script_type must be one of {', '.join(SCRIPT_TYPES)}")
    if v.get("is_paging"):
        if v.get("is_multiple_result") is False:
            raise invalid_input(["body", "is_multiple_result"], "is_paging implies is_multiple_result (seed 002)")
        v["is_multiple_result"] = True
    elif v.get("is_multiple_result") is None:
        v["is_multiple_result"] = True
    v["sortable_columns"] = paging.check_sortable_columns(v.get("sortable_columns") or [])
    if v.get("is_sorting") and not v["sortable_columns"]:
        raise invalid_input(["body", "sortable_columns"],
                            "is_sorting needs sortable_columns (the columns a caller may sort by)")
    if v.get("default_sorting"):
        order = paging.parse_sorting(v["default_sorting"], v["sortable_columns"], field="default_sorting")
        v["default_sorting"] = ", ".join(f"{c} {d.lower()}" for c, d in order)
    else:
        v["default_sorting"] = None
    v["permissions"] = sorted({p.strip() for p in (v.get("permissions") or []) if p and p.strip()})
    pool_id = v.get("connection_pool_id")
    try:
        pool = store.get_pool_row(str(uuid.UUID(str(pool_id))))
    except (ValueError, NotFound):
        raise invalid_input(["body", "connection_pool_id"], f"connection_pool_id {pool_id} does not exist") from None
    _require_access(principal, v, pool, action)
    limits.check_definition_limits(v)
    check_template(v["template_engine"], v["script_template"], [p["name"] for p in params], pool["db_type"],
                   method, v["script_type"])
    return v


def _existing(def_id: str, principal, action: str) -> dict:
    """The definition row, after checking the caller may `action` it on its pool."""
    row = store.get_definition_row(def_id)
    try:
        pool = store.get_pool_row(str(row["connection_pool_id"]))
    except NotFound:
        pool = {"id": row["connection_pool_id"], "display_text": None}
    _require_access(principal, row, pool, action)
    return row


def create_definition(data: dict, *, principal) -> dict:
    data = {**DEFINITION_DEFAULTS, **{k: v for k, v in data.items() if v is not None or k not in DEFINITION_DEFAULTS}}
    params = _normalize_params(data.pop("parameters", []) or [])
    values = validate_definition(data, params, principal, "define")
    row = store.insert_definition(values, params)
    return definition_detail(str(row["id"]))


def update_definition(def_id: str, changes: dict, *, principal) -> dict:
    row = _existing(def_id, principal, "update")
    params_in = changes.pop("parameters", None)
    current = {k: row[k] for k in store.DEF_FIELDS}
    current["connection_pool_id"] = str(row["connection_pool_id"])
    current["permissions"] = list(row["permissions"] or [])
    current["sortable_columns"] = list(row["sortable_columns"] or [])
    current.update(changes)
    if params_in is not None:
        params = _normalize_params(params_in)
    else:
        params = [{k: p[k] for k in store.PARAM_FIELDS} for p in store.get_params(def_id)]
    values = validate_definition(current, params, principal, "define")
    store.update_definition(def_id, values, params if params_in is not None else None)
    from .cache import templates
    templates.invalidate(def_id)
    return definition_detail(def_id)


def delete_definition(def_id: str, *, principal) -> dict:
    _existing(def_id, principal, "delete")
    row = store.delete_definition(def_id)
    return store.definition_out(row)


def definition_detail(def_id: str) -> dict:
    row = store.get_definition_row(def_id)
    return store.definition_out(row, store.get_params(def_id), store.stats_for(def_id))


def publish(def_id: str, permissions: list[str] | None, *, principal) -> dict:
    row = store.get_definition_row(def_id)
    params = [{k: p[k] for k in store.PARAM_FIELDS} for p in store.get_params(def_id)]
    current = {k: row[k] for k in store.DEF_FIELDS}
    current["connection_pool_id"] = str(row["connection_pool_id"])
    if permissions is not None:
        current["permissions"] = permissions
    values = validate_definition(current, params, principal, "publish")   # still valid against today's pool?
    store.set_status(def_id, "published", values["permissions"] if permissions is not None else None)
    return definition_detail(def_id)


def unpublish(def_id: str, *, principal) -> dict:
    _existing(def_id, principal, "unpublish")
    store.set_status(def_id, "offline")
    return definition_detail(def_id)


def test_definition(def_id: str, params: dict, caller_key_id: str | None, *, principal) -> dict:
    """Run a definition (drafts too) in a transaction that is always rolled back."""
    row = _existing(def_id, principal, "test")
    defn = store.load(row)
    started = time.perf_counter()
    try:
        outcome = executor.execute(defn, params, dry_run=True)
    except AppError as exc:
        log_invocation(defn, None, "TEST", params, exc.status, (time.perf_counter() - started) * 1000.0,
                       None, exc, is_test=True, caller_key_id=caller_key_id)
        raise
    log_invocation(defn, None, "TEST", params, 200, outcome.duration_ms, outcome.row_count, None,
                   is_test=True, caller_key_id=caller_key_id)
    main = outcome.statements[-1]
    return {
        "sql": main.sql,
        "params": list(main.params),
        "statements": [s.as_dict() for s in outcome.statements],
        "values": outcome.values,
        "result": outcome.body,
        "row_count": outcome.row_count,
        "affected_rows": outcome.affected_rows,
        "rolled_back": outcome.rolled_back,
        "duration_ms": round(outcome.duration_ms, 3),
    }


def log_invocation(defn, principal, method: str, raw: dict, status: int, duration_ms: float,
                   row_count: int | None, error: AppError | None, *, is_test: bool = False,
                   caller_key_id: str | None = None) -> None:
    store.record_invocation(
        definition_id=defn.id, api_name=defn.row["name"],
        caller_key_id=caller_key_id or (principal.key_id if principal else None),
        http_method=method, params=mask(defn.specs, raw), status_code=status, duration_ms=duration_ms,
        row_count=row_count, error_code=error.code if error else None,
        error_message=error.message if error else None, is_test=is_test)
