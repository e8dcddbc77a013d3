"""Templates, documents and endpoints in PostgreSQL (issue 3).

Public API for other domains (gateway tests, the jobs runner):

    from chalicelib.catalog import service
    out = service.import_document(db, content=spec_text, name=None, base_url=None,
                                  auth_config=None)      # -> {"document", "endpoints", ...}
    service.delete_document(db, document_id)

`db` may be None (the container's Database) or a Database already inside a
transaction (calls join it). Every write happens in one transaction and
writes api_audit_logs rows (secrets masked, spec bodies left out: they are
megabytes and kept in the row itself).
"""
from __future__ import annotations

import json
from typing import Any, Iterable

from chalicelib.db.where import Where
from chalicelib.catalog.refs import DATA_KEYS, NAME_MAP_KEYS, RefError, ref_tokens, resolve_inline
from chalicelib.catalog.spec import Limits, ParsedSpec, parse_spec
from chalicelib.errors import NotFound, ValidationError

ENDPOINT_FIELDS = ("operation_id", "summary", "description", "tags", "parameters", "request_body_schema",
                   "response_schemas", "auth_required", "security", "is_deprecated")
_JSON_FIELDS = ("parameters", "request_body_schema", "response_schemas", "security")

DOC_COLUMNS = (
    "id, template_id, name, description, version, base_url, server_url, content_type, spec_version, "
    "source_url, auth_config, rate_limit_config, timeout_config, status, health_status, last_health_check, "
    "total_endpoints, active_endpoints, warnings, warning_count, skipped_operations, created_by, "
    "created_at, updated_at")
TEMPLATE_COLUMNS = (
    "id, name, description, version, category, tags, content_type, is_public, status, spec_version, "
    "operation_count, source_url, created_by, created_at, updated_at")
# what an audit row keeps of a document / endpoint (no spec bodies)
_DOC_AUDIT_KEYS = ("name", "description", "version", "base_url", "template_id", "status", "auth_config",
                   "rate_limit_config", "timeout_config", "total_endpoints", "active_endpoints", "spec_version")
def _ep_audit_sql(alias: str = "") -> str:
    a = alias + "." if alias else ""
    return ("jsonb_build_object(" + ", ".join(
        f"'{c}', {a}{c}" for c in ("api_document_id", "path", "method", "operation_id", "status", "timeout_ms",
                                   "rate_limit_enabled", "is_deprecated")) + ")")


_EP_AUDIT_SQL = _ep_audit_sql()


def _db(db=None):
    if db is not None:
        return db
    from chalicelib.db import get_db
    return get_db()


def _settings():
    from chalicelib.settings import get_settings
    return get_settings()


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), allow_nan=False, default=str)


# ---- secrets -------------------------------------------------------------------------------------

def _seal(config: dict | None) -> str | None:
    if config is None:
        return None
    from chalicelib.secrets import get_box
    return _dumps(get_box().seal(config))


def _unseal(stored: Any) -> Any:
    if stored is None:
        return None
    from chalicelib.secrets import get_box
    return get_box().unseal(stored)


def _masked(stored: Any) -> Any:
    from chalicelib.masking import mask_auth_config
    return mask_auth_config(_unseal(stored))


def _check_origin_binding(old_row: dict, old_auth: dict | None, new_base: str | None, new_auth: Any,
                          kept: list | None, may_retarget: bool) -> None:
    """A stored upstream secret is bound to the origin (scheme, host, port) it
    is sent to: the document's base_url, and for OAuth2 the token_url. Moving
    an origin while a stored secret would follow it needs the secrets sent
    again in the same request (nothing kept from the stored config), or an
    admin. `kept`: the paths merged from the stored config (None: the request
    leaves auth_config as it is)."""
    from chalicelib.masking import secret_values
    from chalicelib.net.policy import origin_of
    from chalicelib.errors import Conflict

    if may_retarget or not old_auth or not secret_values(old_auth, auth=True):
        return
    following = kept is None or bool(kept)  # stored secrets the new config still carries
    if not following:
        return
    moves = []
    if new_base is not None and origin_of(new_base) != origin_of(old_row["base_url"]):
        moves.append(("base_url", old_row["base_url"], new_base))
    final = old_auth if kept is None else new_auth
    if (isinstance(final, dict) and old_auth.get("type") == "oauth2" and final.get("token_url")
            and origin_of(final["token_url"]) != origin_of(old_auth.get("token_url") or "")):
        moves.append(("auth_config.token_url", old_auth.get("token_url"), final["token_url"]))
    if not moves:
        return
    field, old_url, new_url = moves[0]
    o, n = origin_of(old_url or ""), origin_of(new_url)
    shown = lambda t: f"{t[0]}://{t[1]}:{t[2]}" if t else None  # noqa: E731
    raise Conflict(
        f"{field} moves the upstream origin from {shown(o)} to {shown(n)}, and the stored auth_config "
        "secrets are bound to their origin: send auth_config again with every secret in clear in the same "
        "request (not the mask; PUT /api/documents/{id} takes base_url and auth_config together), "
        "or ask an admin to make the change",
        {"field": field, "old_origin": shown(o), "new_origin": shown(n),
         "kept_secrets": ["auth_config"] if kept is None else [".".join(map(str, p)) for p in kept],
         "fix": "resend auth_config with its secrets"})


def document_auth_config(db, document_id: str) -> dict | None:
    """The decrypted auth_config of a document (for the gateway)."""
    row = _db(db).one("SELECT auth_config FROM api_documents WHERE id = CAST(:id AS uuid)", id=document_id)
    if row is None:
        raise NotFound(f"document {document_id} not found")
    return _unseal(row["auth_config"])


# ---- audit ----------------------------------------------------------------------------------------

def audit(db, table: str, record_id: str, operation: str, old: Any = None, new: Any = None,
          changed_by: str | None = None) -> None:
    _db(db).execute(
        "INSERT INTO api_audit_logs (table_name, record_id, operation, old_data, new_data, changed_by) "
        "VALUES (:t, CAST(:r AS uuid), :op, CAST(:old AS jsonb), CAST(:new AS jsonb), CAST(:by AS uuid))",
        t=table, r=str(record_id), op=operation, old=None if old is None else _dumps(old),
        new=None if new is None else _dumps(new), by=changed_by)


def _doc_audit(row: dict | None) -> dict | None:
    if row is None:
        return None
    out = {k: row.get(k) for k in _DOC_AUDIT_KEYS if k in row}
    if "auth_config" in out:
        out["auth_config"] = _masked(out["auth_config"])
    return out


def list_audit_logs(db=None, *, table_name: str | None = None, record_id: str | None = None,
                    operation: str | None = None, limit: int = 50, offset: int = 0) -> tuple[list[dict], int]:
    w = (Where()
         .when(table_name, "table_name = :t", t=table_name)
         .when(record_id, "record_id = CAST(:r AS uuid)", r=record_id)
         .when(operation, "operation = :op", op=(operation or "").upper()))
    rows = _db(db).query(
        f"SELECT *, COUNT(*) OVER () AS _total FROM api_audit_logs WHERE {w.sql} "
        "ORDER BY changed_at DESC, id LIMIT :limit OFFSET :offset", limit=limit, offset=offset, **w.params)
    total = rows[0].pop("_total") if rows else _db(db).scalar(
        f"SELECT COUNT(*) FROM api_audit_logs WHERE {w.sql}", **w.params)
    for r in rows[1:]:
        r.pop("_total", None)
    return rows, int(total or 0)


# ---- parsing ------------------------------------------------------------------------------------

def _limits(asynchronous: bool = False) -> Limits:
    return Limits.from_settings(_settings(), asynchronous=asynchronous)


def parse(content: bytes | str, content_type: str | None = None, import_url: str | None = None,
          asynchronous: bool = False) -> ParsedSpec:
    return parse_spec(content, content_type, import_url=import_url, limits=_limits(asynchronous))


def _name_version(parsed: ParsedSpec, name: str | None, version: str | None) -> tuple[str, str]:
    name = name or (parsed.title or "").strip()[:255]
    version = version or (parsed.api_version or "").strip()[:50]
    missing = [f for f, v in (("name", name), ("version", version)) if not v]
    if missing:
        raise ValidationError(
            f"{' and '.join(missing)} missing: the spec's info has no "
            f"{' / '.join('title' if f == 'name' else 'version' for f in missing)}; give it in the request",
            [{"loc": ["body", f], "type": "missing", "msg": "Field required"} for f in missing])
    return name, version


def _check_base_url(url: str) -> str:
    from urllib.parse import urlparse
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ValidationError(f"base_url must be an absolute http(s) URL, got {url!r}",
                              [{"loc": ["body", "base_url"], "type": "url", "msg": "absolute http(s) URL"}])
    if len(url) > 500:
        raise ValidationError("base_url is longer than 500 characters")
    return url.rstrip("/")


# ---- templates ------------------------------------------------------------------------------------

def _template_out(row: dict) -> dict:
    return {k: v for k, v in row.items() if k != "template_content"}


def create_template(db=None, *, content: bytes | str, name: str | None = None, version: str | None = None,
                    description: str | None = None, category: str | None = None, tags: Iterable[str] = (),
                    is_public: bool = False, content_type: str | None = None, source_url: str | None = None,
                    created_by: str | None = None, asynchronous: bool = False) -> dict:
    """Validate (a full parse: nothing is stored for a spec that cannot be
    imported) and store a template. -> the template (without its content)
    plus the import warnings."""
    parsed = parse(content, content_type, source_url, asynchronous)
    name, version = _name_version(parsed, name, version)
    db = _db(db)
    with db.transaction():
        row = db.one(
            "INSERT INTO openapi_templates (name, description, version, category, tags, template_content, "
            "content_type, is_public, created_by, status, spec_version, operation_count, source_url) "
            "VALUES (:name, :description, :version, :category, CAST(:tags AS text[]), :content, :ctype, "
            ":is_public, CAST(:by AS uuid), 'active', :sv, :n, :src) "
            f"RETURNING {TEMPLATE_COLUMNS}",
            name=name, description=description if description is not None else parsed.description,
            version=version, category=category, tags=list(tags or []), content=parsed.text,
            ctype=parsed.content_type, is_public=bool(is_public), by=created_by, sv=parsed.spec_version,
            n=len(parsed.endpoints), src=source_url)
        audit(db, "openapi_templates", row["id"], "INSERT", None, _template_out(row), created_by)
    return {**row, "warnings": parsed.warnings, "warning_count": parsed.warning_count,
            "skipped_operations": parsed.skipped}


def list_templates(db=None, *, category=None, tag=None, status=None, is_public=None, text=None,
                   limit: int = 50, offset: int = 0) -> tuple[list[dict], int]:
    w = (Where()
         .when(category, "category = :category", category=category)
         .when(tag, "tags @> CAST(:tags AS text[])", tags=_as_list(tag))
         .when(status, "status = :status", status=status)
         .when(is_public is not None, "is_public = :pub", pub=bool(is_public))
         .when(text, "(name ILIKE :text OR description ILIKE :text OR category ILIKE :text)", text=_like(text)))
    db = _db(db)
    rows = db.query(f"SELECT {TEMPLATE_COLUMNS} FROM openapi_templates WHERE {w.sql} "
                    "ORDER BY created_at DESC, id LIMIT :limit OFFSET :offset", limit=limit, offset=offset, **w.params)
    total = db.scalar(f"SELECT COUNT(*) FROM openapi_templates WHERE {w.sql}", **w.params)
    return rows, int(total)


def get_template(db, template_id: str, with_content: bool = False) -> dict:
    cols = TEMPLATE_COLUMNS + (", template_content" if with_content else "")
    row = _db(db).one(f"SELECT {cols} FROM openapi_templates WHERE id = CAST(:id AS uuid)", id=template_id)
    if row is None:
        raise NotFound(f"template {template_id} not found")
    return row


def update_template(db, template_id: str, changes: dict, changed_by: str | None = None) -> dict:
    """`changes`: any of name, version, description, category, tags, is_public,
    status, content (+ content_type): new content is validated like a create."""
    db = _db(db)
    sets, params = [], {"id": template_id}
    extra: dict = {}
    if changes.get("content") is not None:
        old_src = get_template(db, template_id)["source_url"]
        parsed = parse(changes["content"], changes.get("content_type"), old_src)
        sets += ["template_content = :content", "content_type = :ctype", "spec_version = :sv",
                 "operation_count = :n"]
        params.update(content=parsed.text, ctype=parsed.content_type, sv=parsed.spec_version,
                      n=len(parsed.endpoints))
        extra = {"warnings": parsed.warnings, "warning_count": parsed.warning_count}
    for field in ("name", "version", "description", "category", "is_public", "status"):
        if field in changes and changes[field] is not None:
            sets.append(f"{field} = :{field}")
            params[field] = changes[field]
    if changes.get("tags") is not None:
        sets.append("tags = CAST(:tags AS text[])")
        params["tags"] = list(changes["tags"])
    with db.transaction():
        old = db.one(f"SELECT {TEMPLATE_COLUMNS} FROM openapi_templates WHERE id = CAST(:id AS uuid) FOR UPDATE",
                     id=template_id)
        if old is None:
            raise NotFound(f"template {template_id} not found")
        if not sets:
            return old
        row = db.one(f"UPDATE openapi_templates SET {', '.join(sets)}, updated_at = NOW() "
                     f"WHERE id = CAST(:id AS uuid) RETURNING {TEMPLATE_COLUMNS}", **params)
        audit(db, "openapi_templates", template_id, "UPDATE", old, row, changed_by)
    return {**row, **extra}


def delete_template(db, template_id: str, changed_by: str | None = None) -> dict:
    """Documents made from it keep working: their template_id becomes NULL."""
    db = _db(db)
    with db.transaction():
        old = db.one(f"DELETE FROM openapi_templates WHERE id = CAST(:id AS uuid) RETURNING {TEMPLATE_COLUMNS}",
                     id=template_id)
        if old is None:
            raise NotFound(f"template {template_id} not found")
        detached = db.execute("UPDATE api_documents SET template_id = NULL, updated_at = NOW() "
                              "WHERE template_id = CAST(:id AS uuid)", id=template_id)
        audit(db, "openapi_templates", template_id, "DELETE", old, None, changed_by)
    return {"id": template_id, "deleted": True, "documents_detached": detached}


# ---- documents ------------------------------------------------------------------------------------

def _endpoint_rows(endpoints: list[dict]) -> str:
    """Endpoints as the JSON array `jsonb_to_recordset` reads (None omitted)."""
    keep = ("path", "method", "status") + ENDPOINT_FIELDS
    return _dumps([{k: e[k] for k in keep if e.get(k) is not None} for e in endpoints])


_RECORDSET = ("jsonb_to_recordset(CAST(:rows AS jsonb)) AS r(path text, method text, status text, "
              "operation_id text, summary text, description text, tags text[], parameters jsonb, "
              "request_body_schema jsonb, response_schemas jsonb, auth_required boolean, security jsonb, "
              "is_deprecated boolean)")


def _insert_endpoints(db, document_id: str, endpoints: list[dict], changed_by: str | None) -> list[dict]:
    if not endpoints:
        return []
    return db.query(
        "WITH ins AS ("
        " INSERT INTO api_endpoints (api_document_id, path, method, operation_id, summary, description, tags,"
        "  parameters, request_body_schema, response_schemas, auth_required, security, status, is_deprecated)"
        " SELECT CAST(:doc AS uuid), r.path, r.method, r.operation_id, r.summary, r.description,"
        "  COALESCE(r.tags, '{}'), r.parameters, r.request_body_schema, r.response_schemas,"
        "  COALESCE(r.auth_required, false), r.security, r.status, COALESCE(r.is_deprecated, false)"
        f" FROM {_RECORDSET}"
        " RETURNING id, api_document_id, path, method, operation_id, status, timeout_ms, rate_limit_enabled,"
        "  is_deprecated),"
        " aud AS (INSERT INTO api_audit_logs (table_name, record_id, operation, new_data, changed_by)"
        f"  SELECT 'api_endpoints', id, 'INSERT', {_EP_AUDIT_SQL}, CAST(:by AS uuid) FROM ins)"
        " SELECT id, method, path, operation_id, status FROM ins",
        doc=document_id, rows=_endpoint_rows(endpoints), by=changed_by)


def _spec_params(parsed: ParsedSpec) -> tuple[str, dict]:
    """SQL for parsed_spec + its params: JSON text that is the spec itself is
    sent once and cast by the server (no re-serialisation)."""
    if parsed.spec_is_original_json:
        return "CAST(CAST(:content AS text) AS jsonb)", {}
    return "CAST(:spec AS jsonb)", {"spec": _dumps(parsed.spec)}


def _document_out(row: dict) -> dict:
    out = dict(row)
    out["auth_config"] = _masked(row.get("auth_config"))
    return out


def import_document(db=None, *, content: bytes | str | None = None, template_id: str | None = None,
                    name: str | None = None, version: str | None = None, description: str | None = None,
                    base_url: str | None = None, auth_config: dict | None = None,
                    rate_limit_config: dict | None = None, timeout_config: dict | None = None,
                    content_type: str | None = None, source_url: str | None = None,
                    created_by: str | None = None, asynchronous: bool = False,
                    parsed: ParsedSpec | None = None) -> dict:
    """Parse a spec (content, or a stored template) and create the document
    with all its endpoints in one transaction.

    -> {"document": {... auth_config masked}, "endpoints": [{id, method, path,
    operation_id, status}], "warnings": [...], "warning_count", "skipped_operations"}.
    `asynchronous=True` applies the larger job-path size limit."""
    db = _db(db)
    if (content is None) == (template_id is None) and parsed is None:
        raise ValidationError("give either content or template_id",
                              [{"loc": ["body", "content"], "type": "missing", "msg": "content or template_id"}])
    if parsed is None:
        if template_id is not None:
            tpl = get_template(db, template_id, with_content=True)
            content, content_type = tpl["template_content"], tpl["content_type"]
            source_url = source_url or tpl.get("source_url")
        parsed = parse(content, content_type, source_url, asynchronous)
    name, version = _name_version(parsed, name, version)
    if base_url:
        base_url = _check_base_url(base_url)
    else:
        base_url = parsed.base_url
        if not base_url:
            raise ValidationError(
                "the spec has no absolute server URL"
                + (f" ({parsed.server_url!r} is relative or templated)" if parsed.server_url else "")
                + "; give base_url (e.g. https://api.example.com)",
                [{"loc": ["body", "base_url"], "type": "missing", "msg": "base_url is required for this spec"}])
    active = sum(1 for e in parsed.endpoints if e["status"] == "active")
    spec_sql, spec_params = _spec_params(parsed)
    with db.transaction():
        doc = db.one(
            "INSERT INTO api_documents (template_id, name, description, version, base_url, server_url,"
            " parsed_spec, original_content, content_type, auth_config, rate_limit_config, timeout_config,"
            " total_endpoints, active_endpoints, created_by, warnings, warning_count, spec_version, source_url,"
            " skipped_operations) VALUES (CAST(:tpl AS uuid), :name, :description, :version, :base_url,"
            f" :server_url, {spec_sql}, CAST(:content AS text), :ctype, CAST(:auth AS jsonb),"
            " CAST(:rl AS jsonb), CAST(:to AS jsonb), :total, :active, CAST(:by AS uuid),"
            " CAST(:warnings AS jsonb), :wc, :sv, :src, CAST(:skipped AS jsonb))"
            f" RETURNING {DOC_COLUMNS}",
            tpl=template_id, name=name,
            description=description if description is not None else parsed.description,
            version=version, base_url=base_url, server_url=(parsed.server_url or None) and parsed.server_url[:500],
            content=parsed.text, ctype=parsed.content_type, auth=_seal(auth_config),
            rl=None if rate_limit_config is None else _dumps(rate_limit_config),
            to=None if timeout_config is None else _dumps(timeout_config),
            total=len(parsed.endpoints), active=active, by=created_by, warnings=_dumps(parsed.warnings),
            wc=parsed.warning_count, sv=parsed.spec_version, src=source_url, skipped=_dumps(parsed.skipped),
            **spec_params)
        endpoints = _insert_endpoints(db, doc["id"], parsed.endpoints, created_by)
        audit(db, "api_documents", doc["id"], "INSERT", None, _doc_audit(doc), created_by)
    return {"document": _document_out(doc), "endpoints": endpoints, "warnings": parsed.warnings,
            "warning_count": parsed.warning_count, "skipped_operations": parsed.skipped}


def list_documents(db=None, *, status=None, health_status=None, text=None, template_id=None,
                   limit: int = 50, offset: int = 0) -> tuple[list[dict], int]:
    w = (Where()
         .when(status, "status = :status", status=status)
         .when(health_status, "health_status = :hs", hs=health_status)
         .when(template_id, "template_id = CAST(:tpl AS uuid)", tpl=template_id)
         .when(text, "(name ILIKE :text OR description ILIKE :text OR base_url ILIKE :text)", text=_like(text)))
    db = _db(db)
    rows = db.query(f"SELECT {DOC_COLUMNS} FROM api_documents WHERE {w.sql} ORDER BY created_at DESC, id "
                    "LIMIT :limit OFFSET :offset", limit=limit, offset=offset, **w.params)
    total = db.scalar(f"SELECT COUNT(*) FROM api_documents WHERE {w.sql}", **w.params)
    return [_document_out(r) for r in rows], int(total)


def get_document(db, document_id: str, include_spec: bool = False) -> dict:
    cols = DOC_COLUMNS + (", parsed_spec" if include_spec else "")
    row = _db(db).one(f"SELECT {cols} FROM api_documents WHERE id = CAST(:id AS uuid)", id=document_id)
    if row is None:
        raise NotFound(f"document {document_id} not found")
    return _document_out(row)


def get_document_content(db, document_id: str) -> tuple[str, str]:
    row = _db(db).one("SELECT original_content, content_type FROM api_documents WHERE id = CAST(:id AS uuid)",
                      id=document_id)
    if row is None:
        raise NotFound(f"document {document_id} not found")
    return row["original_content"], row["content_type"]


def update_document(db, document_id: str, changes: dict, changed_by: str | None = None, *,
                    may_retarget: bool = False) -> dict:
    """`changes`: any of name, description, version, base_url, status,
    auth_config (masked values keep the stored secret), rate_limit_config,
    timeout_config. An explicit None clears a config. Moving the upstream
    origin of stored secrets needs them sent again, or `may_retarget`
    (the admin role): 409 otherwise (see `_check_origin_binding`)."""
    from chalicelib.secrets import merge_secrets
    db = _db(db)
    with db.transaction():
        old = db.one(f"SELECT {DOC_COLUMNS} FROM api_documents WHERE id = CAST(:id AS uuid) FOR UPDATE",
                     id=document_id)
        if old is None:
            raise NotFound(f"document {document_id} not found")
        sets, params = [], {"id": document_id}
        for field in ("name", "description", "version", "status"):
            if changes.get(field) is not None:
                sets.append(f"{field} = :{field}")
                params[field] = changes[field]
        if changes.get("base_url") is not None:
            sets.append("base_url = :base_url")
            params["base_url"] = _check_base_url(changes["base_url"])
        old_auth = _unseal(old["auth_config"])
        new_auth, kept = None, None
        if "auth_config" in changes:
            new_auth, kept = changes["auth_config"], []
            if new_auth is not None:
                new_auth = merge_secrets(new_auth, old_auth or {}, kept)
            sets.append("auth_config = CAST(:auth AS jsonb)")
            params["auth"] = _seal(new_auth)
        _check_origin_binding(old, old_auth, params.get("base_url"), new_auth, kept, may_retarget)
        for field, key in (("rate_limit_config", "rl"), ("timeout_config", "to")):
            if field in changes:
                sets.append(f"{field} = CAST(:{key} AS jsonb)")
                params[key] = None if changes[field] is None else _dumps(changes[field])
        if not sets:
            return _document_out(old)
        row = db.one(f"UPDATE api_documents SET {', '.join(sets)}, updated_at = NOW() "
                     f"WHERE id = CAST(:id AS uuid) RETURNING {DOC_COLUMNS}", **params)
        audit(db, "api_documents", document_id, "UPDATE", _doc_audit(old), _doc_audit(row), changed_by)
    return _document_out(row)


def delete_document(db, document_id: str, changed_by: str | None = None) -> dict:
    """Removes the document, its endpoints, their resource references, call
    logs and cache rows, and its health checks, in one transaction."""
    db = _db(db)
    with db.transaction():
        old = db.one(f"SELECT {DOC_COLUMNS} FROM api_documents WHERE id = CAST(:id AS uuid) FOR UPDATE",
                     id=document_id)
        if old is None:
            raise NotFound(f"document {document_id} not found")
        counts = db.one(
            "WITH eps AS (SELECT id FROM api_endpoints WHERE api_document_id = CAST(:id AS uuid)),"
            " refs AS (DELETE FROM resource_references WHERE api_endpoint_id IN (SELECT id FROM eps) RETURNING 1),"
            " logs AS (DELETE FROM api_call_logs WHERE api_endpoint_id IN (SELECT id FROM eps) RETURNING 1),"
            " cache AS (DELETE FROM api_endpoint_cache WHERE endpoint_id IN (SELECT id FROM eps) RETURNING 1),"
            " hc AS (DELETE FROM api_health_checks WHERE api_document_id = CAST(:id AS uuid) RETURNING 1),"
            " del AS (DELETE FROM api_endpoints WHERE api_document_id = CAST(:id AS uuid)"
            f"  RETURNING id, {_EP_AUDIT_SQL} AS data),"
            " aud AS (INSERT INTO api_audit_logs (table_name, record_id, operation, old_data, changed_by)"
            "  SELECT 'api_endpoints', id, 'DELETE', data, CAST(:by AS uuid) FROM del)"
            " SELECT (SELECT COUNT(*) FROM del) AS endpoints, (SELECT COUNT(*) FROM refs) AS resource_references,"
            " (SELECT COUNT(*) FROM logs) AS call_logs, (SELECT COUNT(*) FROM hc) AS health_checks",
            id=document_id, by=changed_by)
        db.execute("DELETE FROM api_documents WHERE id = CAST(:id AS uuid)", id=document_id)
        audit(db, "api_documents", document_id, "DELETE", _doc_audit(old), None, changed_by)
    return {"id": document_id, "deleted": True, "removed": {k: int(v) for k, v in counts.items()}}


def _endpoint_changes(old: dict, new: dict) -> list[str]:
    changed = []
    for field in ENDPOINT_FIELDS:
        a, b = old.get(field), new.get(field)
        if field == "tags":
            a, b = list(a or []), list(b or [])
        if a != b:
            changed.append(field)
    return changed


def reimport_document(db, document_id: str, *, content: bytes | str | None = None,
                      template_id: str | None = None, content_type: str | None = None,
                      version: str | None = None, base_url: str | None = None,
                      changed_by: str | None = None, asynchronous: bool = False,
                      may_retarget: bool = False) -> dict:
    """Update a document to a new version of its spec. Endpoints are matched
    by (path, method): unchanged and changed ones keep their ids, statistics
    and references; new ones are added; removed ones become inactive and
    their references are marked 'error'. Nothing is deleted. -> the diff."""
    db = _db(db)
    if (content is None) == (template_id is None):
        raise ValidationError("give either content or template_id",
                              [{"loc": ["body", "content"], "type": "missing", "msg": "content or template_id"}])
    src = None
    if template_id is not None:
        tpl = get_template(db, template_id, with_content=True)
        content, content_type, src = tpl["template_content"], tpl["content_type"], tpl.get("source_url")
    current = get_document(db, document_id)
    parsed = parse(content, content_type, src or current.get("source_url"), asynchronous)
    new_version = version or (parsed.api_version or "").strip()[:50] or current["version"]
    new_base = _check_base_url(base_url) if base_url else current["base_url"]

    with db.transaction():
        old_doc = db.one(f"SELECT {DOC_COLUMNS} FROM api_documents WHERE id = CAST(:id AS uuid) FOR UPDATE",
                         id=document_id)
        if old_doc is None:
            raise NotFound(f"document {document_id} not found")
        _check_origin_binding(old_doc, _unseal(old_doc["auth_config"]), base_url and new_base, None, None,
                              may_retarget)
        existing = db.query(
            "SELECT id, path, method, status, removed_at, operation_id, summary, description, tags, parameters,"
            " request_body_schema, response_schemas, auth_required, security, is_deprecated"
            " FROM api_endpoints WHERE api_document_id = CAST(:id AS uuid)", id=document_id)
        by_key = {(r["path"], r["method"]): r for r in existing}
        added, changed, unchanged, updates = [], [], [], []
        seen = set()
        for ep in parsed.endpoints:
            key = (ep["path"], ep["method"])
            seen.add(key)
            old = by_key.get(key)
            if old is None:
                added.append(ep)
                continue
            fields = _endpoint_changes(old, ep)
            restored = old["removed_at"] is not None
            if restored:
                status = ep["status"]
            elif "is_deprecated" in fields:
                status = "deprecated" if ep["is_deprecated"] else (
                    "active" if old["status"] == "deprecated" else old["status"])
            else:
                status = old["status"]
            if fields or restored or status != old["status"]:
                changed.append({"id": old["id"], "method": ep["method"], "path": ep["path"],
                                "changes": fields + (["restored"] if restored else [])})
                updates.append({**{k: ep.get(k) for k in ENDPOINT_FIELDS}, "id": str(old["id"]),
                                "status": status, "path": ep["path"], "method": ep["method"]})
            else:
                unchanged.append({"id": old["id"], "method": ep["method"], "path": ep["path"]})
        removed = [r for k, r in by_key.items() if k not in seen and r["removed_at"] is None]

        if updates:
            db.execute(
                "WITH upd AS (UPDATE api_endpoints e SET operation_id = r.operation_id, summary = r.summary,"
                " description = r.description, tags = COALESCE(r.tags, '{}'), parameters = r.parameters,"
                " request_body_schema = r.request_body_schema, response_schemas = r.response_schemas,"
                " auth_required = COALESCE(r.auth_required, false), security = r.security,"
                " is_deprecated = COALESCE(r.is_deprecated, false), status = r.status, removed_at = NULL,"
                " updated_at = NOW()"
                " FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r(id uuid, status text, operation_id text,"
                "  summary text, description text, tags text[], parameters jsonb, request_body_schema jsonb,"
                "  response_schemas jsonb, auth_required boolean, security jsonb, is_deprecated boolean)"
                f" WHERE e.id = r.id RETURNING e.id, {_ep_audit_sql('e')} AS data)"
                " INSERT INTO api_audit_logs (table_name, record_id, operation, new_data, changed_by)"
                " SELECT 'api_endpoints', id, 'UPDATE', data, CAST(:by AS uuid) FROM upd",
                rows=_dumps([{k: v for k, v in u.items() if v is not None} for u in updates]), by=changed_by)
        removed_ids = [str(r["id"]) for r in removed]
        refs_marked = 0
        if removed_ids:
            db.execute(
                "WITH upd AS (UPDATE api_endpoints SET status = 'inactive', removed_at = NOW(), updated_at = NOW()"
                f" WHERE id = ANY(CAST(:ids AS uuid[])) RETURNING id, {_EP_AUDIT_SQL} AS data)"
                " INSERT INTO api_audit_logs (table_name, record_id, operation, new_data, changed_by)"
                " SELECT 'api_endpoints', id, 'UPDATE', data || '{\"removed_from_spec\": true}',"
                " CAST(:by AS uuid) FROM upd", ids=removed_ids, by=changed_by)
            refs_marked = db.execute(
                "UPDATE resource_references SET status = 'error', updated_at = NOW()"
                " WHERE api_endpoint_id = ANY(CAST(:ids AS uuid[])) AND status <> 'error'", ids=removed_ids)
        inserted = _insert_endpoints(db, document_id, added, changed_by)

        spec_sql, spec_params = _spec_params(parsed)
        doc = db.one(
            f"UPDATE api_documents SET parsed_spec = {spec_sql}, original_content = CAST(:content AS text),"
            " content_type = :ctype, version = :version, base_url = :base_url, server_url = :server_url,"
            " spec_version = :sv, warnings = CAST(:warnings AS jsonb), warning_count = :wc,"
            " skipped_operations = CAST(:skipped AS jsonb), template_id = COALESCE(CAST(:tpl AS uuid), template_id),"
            " total_endpoints = (SELECT COUNT(*) FROM api_endpoints WHERE api_document_id = CAST(:id AS uuid)),"
            " active_endpoints = (SELECT COUNT(*) FROM api_endpoints WHERE api_document_id = CAST(:id AS uuid)"
            "  AND status = 'active'), updated_at = NOW()"
            f" WHERE id = CAST(:id AS uuid) RETURNING {DOC_COLUMNS}",
            id=document_id, content=parsed.text, ctype=parsed.content_type, version=new_version,
            base_url=new_base, server_url=(parsed.server_url or None) and parsed.server_url[:500],
            sv=parsed.spec_version, warnings=_dumps(parsed.warnings), wc=parsed.warning_count,
            skipped=_dumps(parsed.skipped), tpl=template_id, **spec_params)
        diff = {
            "added": [{"id": r["id"], "method": r["method"], "path": r["path"]} for r in inserted],
            "changed": changed,
            "removed": [{"id": r["id"], "method": r["method"], "path": r["path"]} for r in removed],
            "unchanged": unchanged,
        }
        counts = {k: len(v) for k, v in diff.items()}
        audit(db, "api_documents", document_id, "UPDATE", _doc_audit(old_doc),
              {**_doc_audit(doc), "reimport": counts}, changed_by)
    return {"document": _document_out(doc), "diff": diff, "counts": counts,
            "references_marked_error": refs_marked, "warnings": parsed.warnings,
            "warning_count": parsed.warning_count, "skipped_operations": parsed.skipped}


# ---- endpoints ------------------------------------------------------------------------------------

ENDPOINT_SORTS = {"path": "path", "method": "method", "operation_id": "operation_id", "api_name": "api_name",
                  "call_count": "call_count", "error_count": "error_count", "success_count": "success_count",
                  "avg_response_time_ms": "avg_response_time_ms", "reference_count": "reference_count",
                  "status": "endpoint_status"}


def list_endpoints(db=None, *, document_id=None, tag=None, method=None, status=None, text=None,
                   sort: str | None = None, limit: int = 50, offset: int = 0) -> tuple[list[dict], int]:
    """Browse the api_endpoint_resources view (seed 000's front-end support)."""
    w = (Where()
         .when(document_id, "v.api_document_id = CAST(:doc AS uuid)", doc=document_id)
         .when(tag, "v.tags && CAST(:tags AS text[])", tags=_as_list(tag))
         .when(method, "v.method = ANY(CAST(:methods AS text[]))", methods=[m.upper() for m in _as_list(method)])
         .when(status, "v.endpoint_status = ANY(CAST(:statuses AS text[]))", statuses=_as_list(status))
         .when(text, "(v.path ILIKE :text OR v.summary ILIKE :text OR v.operation_id ILIKE :text)", text=_like(text)))
    order = []
    for part in (sort or "path").split(","):
        part = part.strip()
        if not part:
            continue
        desc = part.startswith("-") or part.lower().endswith(" desc")
        name = part.lstrip("-+").split(" ")[0]
        if name not in ENDPOINT_SORTS:
            raise ValidationError(f"cannot sort by {name!r}; one of {', '.join(sorted(ENDPOINT_SORTS))}",
                                  [{"loc": ["query", "sort"], "type": "enum", "msg": "unknown sort field"}])
        order.append(f"v.{ENDPOINT_SORTS[name]} {'DESC' if desc else 'ASC'} NULLS LAST")
    order.append("v.endpoint_id")
    db = _db(db)
    rows = db.query(f"SELECT v.* FROM api_endpoint_resources v WHERE {w.sql} ORDER BY {', '.join(order)} "
                    "LIMIT :limit OFFSET :offset", limit=limit, offset=offset, **w.params)
    total = db.scalar(f"SELECT COUNT(*) FROM api_endpoints e JOIN api_documents d ON d.id = e.api_document_id "
                      f"WHERE {_view_where_on_tables(w.sql)}", **w.params)
    return rows, int(total)


def _as_list(value) -> list:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def _like(text: str | None) -> str | None:
    """An ILIKE pattern matching `text` anywhere, its wildcards taken literally."""
    return "%" + _like_escape(text) + "%" if text else None


def _view_where_on_tables(w: str) -> str:
    """The same filters on the base tables (counting without the view's GROUP BY)."""
    return (w.replace("v.api_document_id", "e.api_document_id").replace("v.endpoint_status", "e.status")
             .replace("v.", "e."))


def _endpoint_row(db, endpoint_id: str) -> dict:
    row = _db(db).one(
        "SELECT e.*, d.name AS api_name, d.version AS api_version, d.base_url, d.status AS api_status,"
        " (SELECT COUNT(*) FROM resource_references r WHERE r.api_endpoint_id = e.id AND r.status = 'active')"
        " AS reference_count FROM api_endpoints e JOIN api_documents d ON d.id = e.api_document_id"
        " WHERE e.id = CAST(:id AS uuid)", id=endpoint_id)
    if row is None:
        raise NotFound(f"endpoint {endpoint_id} not found")
    return row


def _collect_refs(node, out: set) -> None:
    stack = [(node, False)]
    while stack:
        n, name_map = stack.pop()
        if isinstance(n, list):
            stack.extend((v, False) for v in n if isinstance(v, (dict, list)))
        elif isinstance(n, dict):
            if not name_map and isinstance(n.get("$ref"), str):
                out.add(n["$ref"])
            for k, v in n.items():
                if isinstance(v, (dict, list)) and (name_map or (k not in DATA_KEYS and not k.startswith("x-"))):
                    stack.append((v, (not name_map) and k in NAME_MAP_KEYS))


def _db_ref_lookup(db, document_id: str, roots: list, max_refs: int = 5000):
    """Fetch every target the roots reach, level by level, with PostgreSQL
    extracting just those parts of parsed_spec (never the whole spec)."""
    found: dict[str, Any] = {}
    errors: dict[str, RefError] = {}
    pending: set[str] = set()
    for r in roots:
        _collect_refs(r, pending)
    while pending and len(found) + len(errors) < max_refs:
        batch = []
        for ref in pending:
            try:
                batch.append({"ref": ref, "toks": ref_tokens(ref)})
            except RefError as exc:
                errors[ref] = exc
        pending = set()
        if not batch:
            break
        rows = _db(db).query(
            "SELECT r.ref, d.parsed_spec #> ARRAY(SELECT jsonb_array_elements_text(r.toks)) AS target"
            " FROM api_documents d, jsonb_to_recordset(CAST(:refs AS jsonb)) AS r(ref text, toks jsonb)"
            " WHERE d.id = CAST(:id AS uuid)", refs=_dumps(batch), id=document_id)
        for row in rows:
            ref, target = row["ref"], row["target"]
            if target is None:
                errors[ref] = RefError(ref, f"$ref {ref!r} does not resolve")
                continue
            found[ref] = target
            more: set = set()
            _collect_refs(target, more)
            pending |= {m for m in more if m not in found and m not in errors}

    def lookup(ref: str):
        if ref in found:
            return found[ref]
        raise errors.get(ref) or RefError(ref, f"$ref {ref!r} was not loaded (too many references)")
    return lookup


def get_endpoint(db, endpoint_id: str, resolve: bool = True) -> dict:
    """The endpoint with its document's name/base URL and, with `resolve`,
    a `resolved` view whose schemas have every $ref expanded (cycles stay
    as {"$ref", "x-circular": true})."""
    row = _endpoint_row(db, endpoint_id)
    if resolve:
        pieces = {"parameters": row["parameters"], "request_body_schema": row["request_body_schema"],
                  "response_schemas": row["response_schemas"]}
        lookup = _db_ref_lookup(db, str(row["api_document_id"]), list(pieces.values()))
        try:
            row["resolved"] = {k: resolve_inline(v, lookup) if v is not None else None for k, v in pieces.items()}
        except RecursionError:  # absurdly deep schemas: the stored (unexpanded) form stays authoritative
            row["resolved"] = None
            row["resolve_error"] = "schemas nest too deeply to expand; see the stored $ref form"
    return row


PATCHABLE = ("status", "timeout_ms", "rate_limit_enabled")


def patch_endpoint(db, endpoint_id: str, changes: dict, changed_by: str | None = None) -> dict:
    db = _db(db)
    sets, params = [], {"id": endpoint_id}
    for field in PATCHABLE:
        if changes.get(field) is not None:
            sets.append(f"{field} = :{field}")
            params[field] = changes[field]
    with db.transaction():
        old = db.one(f"SELECT id, {', '.join(PATCHABLE)}, api_document_id FROM api_endpoints "
                     "WHERE id = CAST(:id AS uuid) FOR UPDATE", id=endpoint_id)
        if old is None:
            raise NotFound(f"endpoint {endpoint_id} not found")
        if not sets:
            return _endpoint_row(db, endpoint_id)
        new = db.one(f"UPDATE api_endpoints SET {', '.join(sets)}, updated_at = NOW() "
                     f"WHERE id = CAST(:id AS uuid) RETURNING id, {', '.join(PATCHABLE)}", **params)
        if "status" in params:
            db.execute("UPDATE api_documents SET active_endpoints = (SELECT COUNT(*) FROM api_endpoints"
                       " WHERE api_document_id = CAST(:doc AS uuid) AND status = 'active'), updated_at = NOW()"
                       " WHERE id = CAST(:doc AS uuid)", doc=str(old["api_document_id"]))
        audit(db, "api_endpoints", endpoint_id, "UPDATE", {k: old[k] for k in PATCHABLE},
              {k: new[k] for k in PATCHABLE}, changed_by)
    return _endpoint_row(db, endpoint_id)


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
