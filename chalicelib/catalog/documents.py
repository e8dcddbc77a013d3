"""API documents in `api_documents`: a parsed spec with all its endpoints,
its upstream base URL and configurations.

    import_document(db, content=spec_text | template_id=..., name=None, base_url=None,
                    auth_config=None) -> {"document", "endpoints", "warnings", ...}
    reimport_document(db, document_id, content=...) -> the endpoint diff (catalog.reimport)
    list_documents / get_document / get_document_content / update_document / delete_document

Every write is one transaction with its audit rows; auth_config is sealed
at rest and masked in every answer (`chalicelib.catalog.auth_config`).
"""
from __future__ import annotations

import functools
import json
from typing import Any
from uuid import UUID

from chalicelib.catalog import servers
from chalicelib.catalog.audit import ENDPOINT_AUDIT_SQL, audit, document_audit, document_audit_auth, document_audit_sql
from chalicelib.catalog.auth_config import check_origin_binding, masked, seal, unseal
from chalicelib.catalog.endpoints import endpoint_rows, insert_endpoints_sql
from chalicelib.catalog.reimport import reimport_document  # noqa: F401 - part of this module's API
from chalicelib.catalog.spec import ParsedSpec
from chalicelib.catalog.sql import database, dumps, like
from chalicelib.catalog.templates import get_template, name_version, parse
from chalicelib.db import prepared
from chalicelib.db.where import Where
from chalicelib.errors import NotFound, ValidationError, field_error, field_errors, invalid_input
from chalicelib.gateway import targets  # the gateway's cached call targets

DOC_COLUMNS = (
    "id, template_id, name, description, version, base_url, server_url, content_type, spec_version, "
    "source_url, auth_config, rate_limit_config, timeout_config, status, health_status, last_health_check, "
    "total_endpoints, active_endpoints, warnings, warning_count, skipped_operations, created_by, "
    "created_at, updated_at, server_index, server_variables")


def _override_and_server() -> ValidationError:
    """base_url overrides the spec's servers: choosing one of them in the same request is a 400."""
    return invalid_input(["body", "base_url"], "give base_url (an override) or a server of the spec "
                         "(server_index / server_url), not both", "conflict")


def check_base_url(url: str) -> str:
    """An absolute http(s) URL of at most 500 characters, without its trailing slash; else a 400."""
    from urllib.parse import urlparse
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ValidationError(f"base_url must be an absolute http(s) URL, got {url!r}",
                              field_errors(field_error(["body", "base_url"], "absolute http(s) URL", "url")))
    if len(url) > 500:
        raise invalid_input(["body", "base_url"], "base_url is longer than 500 characters", "string_too_long")
    return url.rstrip("/")


def spec_source(db, content: bytes | str | None, template_id: str | None,
                content_type: str | None) -> tuple[bytes | str, str | None, str | None]:
    """(spec text, its content type, the template's source URL) of exactly one
    of `content` and the stored template `template_id`; else a 400."""
    if template_id is not None and content is None:
        tpl = get_template(db, template_id, with_content=True)
        return tpl["template_content"], tpl["content_type"], tpl.get("source_url")
    if content is None or template_id is not None:
        raise ValidationError("give either content or template_id",
                              field_errors(field_error(["body", "content"], "content or template_id", "missing")))
    return content, content_type, None


def spec_params(parsed: ParsedSpec) -> tuple[str, dict]:
    """SQL for parsed_spec + its params: JSON text that is the spec itself is
    sent once and cast by the server (no re-serialisation)."""
    if parsed.spec_is_original_json:
        return "CAST(CAST(:content AS text) AS jsonb)", {}
    return "CAST(:spec AS jsonb)", {"spec": dumps(parsed.spec)}


def document_out(row: dict) -> dict:
    out = dict(row)
    out["auth_config"] = masked(row.get("auth_config"))
    return out


@functools.lru_cache(maxsize=4)
def _insert_document_sql(spec_sql: str) -> str:
    """One statement: the document, its endpoints and every audit row (one round
    trip), for each way of sending parsed_spec (`spec_params`); prepared once per
    connection (a fixed write whose plan does not depend on its values)."""
    return prepared(
        "WITH doc AS (INSERT INTO api_documents (template_id, name, description, version, base_url, server_url,"
        " parsed_spec, original_content, content_type, auth_config, rate_limit_config, timeout_config,"
        " total_endpoints, active_endpoints, created_by, warnings, warning_count, spec_version, source_url,"
        " skipped_operations, server_index, server_variables)"
        " VALUES (CAST(:tpl AS uuid), :name, :description, :version, :base_url,"
        f" :server_url, {spec_sql}, CAST(:content AS text), :ctype, CAST(:auth AS jsonb),"
        " CAST(:rl AS jsonb), CAST(:to AS jsonb), :total, :active, CAST(:by AS uuid),"
        " CAST(:warnings AS jsonb), :wc, :sv, :src, CAST(:skipped AS jsonb), :server_index,"
        " CAST(:server_vars AS jsonb))"
        f" RETURNING {DOC_COLUMNS}), "
        + insert_endpoints_sql("doc.id", "doc, ") +
        ", doc_aud AS (INSERT INTO api_audit_logs (table_name, record_id, operation, new_data, changed_by)"
        f"  SELECT 'api_documents', doc.id, 'INSERT', {document_audit_sql('doc', 'audit_auth')}, CAST(:by AS uuid)"
        "  FROM doc)"
        " SELECT doc.*, (SELECT COALESCE(jsonb_agg(jsonb_build_object('id', id, 'method', method, 'path', path,"
        " 'operation_id', operation_id, 'status', status)), '[]') FROM ins)::text AS _endpoints FROM doc")


def import_document(db=None, *, content: bytes | str | None = None, template_id: str | None = None,
                    name: str | None = None, version: str | None = None, description: str | None = None,
                    base_url: str | None = None, auth_config: dict | None = None,
                    rate_limit_config: dict | None = None, timeout_config: dict | None = None,
                    content_type: str | None = None, source_url: str | None = None,
                    created_by: str | None = None, asynchronous: bool = False,
                    parsed: ParsedSpec | None = None, server_index: int | None = None,
                    server_url: str | None = None, server_variables: dict | None = None) -> dict:
    """Parse a spec (content, or a stored template) and create the document
    with all its endpoints in one transaction.

    -> {"document": {... auth_config masked}, "endpoints": [{id, method, path,
    operation_id, status}], "warnings": [...], "warning_count", "skipped_operations"}.
    `asynchronous=True` applies the larger job-path size limit. The upstream is
    `base_url` (an override), else the spec's server `server_index` / `server_url`,
    else its first server."""
    db = database(db)
    if parsed is None:
        text, content_type, template_url = spec_source(db, content, template_id, content_type)
        source_url = source_url or template_url
        parsed = parse(text, content_type, source_url, asynchronous, server_variables)
    name, version = name_version(parsed, name, version)
    chosen = server_index is not None or server_url is not None
    if base_url and chosen:
        raise _override_and_server()
    if base_url:
        base_url = check_base_url(base_url)
    elif chosen:
        server_index, base_url = servers.choose(parsed.servers, server_index, server_url)
    else:
        first = parsed.servers[0]["url"] if parsed.servers else None
        server_index = 0 if first and first == parsed.base_url else None
        base_url = parsed.base_url
        if not base_url:
            raise ValidationError(
                "the spec has no absolute server URL"
                + (f" ({parsed.server_url!r} is relative or templated)" if parsed.server_url else "")
                + "; give base_url (e.g. https://api.example.com)",
                field_errors(field_error(["body", "base_url"], "base_url is required for this spec", "missing")))
    active = sum(1 for e in parsed.endpoints if e["status"] == "active")
    spec_sql, spec_extra = spec_params(parsed)
    sealed = seal(auth_config)
    with db.transaction():
        doc = db.one(
            _insert_document_sql(spec_sql),
            tpl=template_id, name=name,
            description=description if description is not None else parsed.description,
            version=version, base_url=base_url, server_url=(parsed.server_url or None) and parsed.server_url[:500],
            content=parsed.text, ctype=parsed.content_type, auth=sealed,
            rl=None if rate_limit_config is None else dumps(rate_limit_config),
            to=None if timeout_config is None else dumps(timeout_config),
            total=len(parsed.endpoints), active=active, by=created_by, warnings=dumps(parsed.warnings),
            wc=parsed.warning_count, sv=parsed.spec_version, src=source_url, skipped=dumps(parsed.skipped),
            server_index=server_index, server_vars=dumps(server_variables) if server_variables else None,
            rows=endpoint_rows(parsed.endpoints),
            audit_auth=document_audit_auth(None if sealed is None else json.loads(sealed)), **spec_extra)
    endpoints = json.loads(doc.pop("_endpoints"))
    for e in endpoints:
        e["id"] = UUID(e["id"])
    return {"document": document_out(doc), "endpoints": endpoints, "warnings": parsed.warnings,
            "warning_count": parsed.warning_count, "skipped_operations": parsed.skipped}


def list_documents(db=None, *, status=None, health_status=None, text=None, template_id=None,
                   limit: int = 50, offset: int = 0) -> tuple[list[dict], int]:
    w = (Where()
         .when(status, "status = :status", status=status)
         .when(health_status, "health_status = :hs", hs=health_status)
         .when(template_id, "template_id = CAST(:tpl AS uuid)", tpl=template_id)
         .when(text, "(name ILIKE :text OR description ILIKE :text OR base_url ILIKE :text)", text=like(text)))
    rows, total = database(db).page(f"SELECT {DOC_COLUMNS} FROM api_documents WHERE {w.sql}",
                                    order_by="created_at DESC, id", limit=limit, offset=offset, **w.params)
    return [document_out(r) for r in rows], total


def get_document(db, document_id: str, include_spec: bool = False) -> dict:
    cols = DOC_COLUMNS + (", parsed_spec" if include_spec else "")
    row = database(db).one(f"SELECT {cols} FROM api_documents WHERE id = CAST(:id AS uuid)", id=document_id)
    if row is None:
        raise NotFound(f"document {document_id} not found")
    return document_out(row)


def get_document_content(db, document_id: str) -> tuple[str, str]:
    row = database(db).one("SELECT original_content, content_type FROM api_documents WHERE id = CAST(:id AS uuid)",
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
    db = database(db)
    with db.transaction():
        old = db.one(f"SELECT {DOC_COLUMNS} FROM api_documents WHERE id = CAST(:id AS uuid) FOR UPDATE",
                     id=document_id)
        if old is None:
            raise NotFound(f"document {document_id} not found")
        sets: list[str] = []
        params: dict[str, Any] = {"id": document_id}
        for field in ("name", "description", "version", "status"):
            if changes.get(field) is not None:
                sets.append(f"{field} = :{field}")
                params[field] = changes[field]
        if changes.get("base_url") is not None and (changes.get("server_index") is not None
                                                    or changes.get("server_url") is not None):
            raise _override_and_server()
        reparsed = None
        if "server_variables" in changes:   # the spec's servers resolved again with the new values
            reparsed = _with_variables(db, document_id, old, changes["server_variables"] or None)
            sets.append("server_variables = CAST(:server_vars AS jsonb)")
            params["server_vars"] = dumps(changes["server_variables"]) if changes["server_variables"] else None
        if changes.get("base_url") is not None:
            sets.append("base_url = :base_url, server_index = NULL")
            params["base_url"] = check_base_url(changes["base_url"])
        elif changes.get("server_index") is not None or changes.get("server_url") is not None:
            if reparsed is not None:
                listed = reparsed.servers
            else:
                spec = db.one("SELECT parsed_spec -> 'servers' AS servers FROM api_documents"
                              " WHERE id = CAST(:id AS uuid)", id=document_id)
                listed = servers.document_servers({"servers": spec["servers"]}, old.get("source_url"),
                                                  values=old.get("server_variables"))
            index, params["base_url"] = servers.choose(listed, changes.get("server_index"), changes.get("server_url"))
            sets.append("base_url = :base_url, server_index = :server_index")
            params["server_index"] = index
        elif reparsed is not None and old["server_index"] is not None and old["server_index"] < len(reparsed.servers) \
                and reparsed.servers[old["server_index"]]["url"]:
            params["base_url"] = reparsed.servers[old["server_index"]]["url"]   # the chosen server follows
            sets.append("base_url = :base_url")
        old_auth = unseal(old["auth_config"])
        new_auth: Any = None
        kept: list | None = None
        if "auth_config" in changes:
            new_auth, kept = changes["auth_config"], []
            if new_auth is not None:
                new_auth = merge_secrets(new_auth, old_auth or {}, kept)
            sets.append("auth_config = CAST(:auth AS jsonb)")
            params["auth"] = seal(new_auth)
        check_origin_binding(old, old_auth, params.get("base_url"), new_auth, kept, may_retarget)
        if reparsed is not None:   # stored secrets follow unless every one was sent again (kept == [])
            _resolve_endpoint_servers(db, document_id, reparsed, old_auth,
                                      [old["base_url"], params.get("base_url") or old["base_url"]],
                                      may_retarget or kept == [])
        for field, key in (("rate_limit_config", "rl"), ("timeout_config", "to")):
            if field in changes:
                sets.append(f"{field} = CAST(:{key} AS jsonb)")
                params[key] = None if changes[field] is None else dumps(changes[field])
        if not sets:
            return document_out(old)
        row = db.one(f"UPDATE api_documents SET {', '.join(sets)}, updated_at = NOW() "
                     f"WHERE id = CAST(:id AS uuid) RETURNING {DOC_COLUMNS}", **params)
        audit(db, "api_documents", document_id, "UPDATE", document_audit(old), document_audit(row), changed_by)
    targets.forget_all()
    return document_out(row)


def _with_variables(db, document_id: str, old: dict, values: dict | None):
    """The stored spec parsed again with `values` for its server variables (a 400 naming a bad one)."""
    from chalicelib.catalog.templates import parse

    content, ctype = get_document_content(db, document_id)
    return parse(content, ctype, old.get("source_url"), True, values)


def _resolve_endpoint_servers(db, document_id: str, parsed: ParsedSpec, auth: Any, bases: list,
                              may_retarget: bool) -> None:
    """Each endpoint's servers as `parsed` resolves them (matched by path and
    method); a new origin for stored secrets is checked as on re-import."""
    from chalicelib.catalog.auth_config import check_new_endpoint_origins
    from chalicelib.catalog.reimport import origins_called

    rows = db.query("SELECT id, path, method, servers FROM api_endpoints WHERE api_document_id = CAST(:id AS uuid)",
                    id=document_id)
    by_key = {(e["path"], e["method"]): e.get("servers") for e in parsed.endpoints}
    moved = [{"id": str(r["id"]), "servers": by_key[(r["path"], r["method"])]} for r in rows
             if (r["path"], r["method"]) in by_key and by_key[(r["path"], r["method"])] != r["servers"]]
    if not moved:
        return
    check_new_endpoint_origins(auth, origins_called(bases, rows), [m["servers"] for m in moved], may_retarget)
    db.execute("UPDATE api_endpoints e SET servers = r.servers, updated_at = NOW()"
               " FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r(id uuid, servers jsonb) WHERE e.id = r.id",
               rows=dumps(moved))


def delete_document(db, document_id: str, changed_by: str | None = None) -> dict:
    """Removes the document, its endpoints, their resource references, call
    logs and cache rows, and its health checks, in one transaction."""
    db = database(db)
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
            f"  RETURNING id, {ENDPOINT_AUDIT_SQL} AS data),"
            " aud AS (INSERT INTO api_audit_logs (table_name, record_id, operation, old_data, changed_by)"
            "  SELECT 'api_endpoints', id, 'DELETE', data, CAST(:by AS uuid) FROM del)"
            " SELECT (SELECT COUNT(*) FROM del) AS endpoints, (SELECT COUNT(*) FROM refs) AS resource_references,"
            " (SELECT COUNT(*) FROM logs) AS call_logs, (SELECT COUNT(*) FROM hc) AS health_checks",
            id=document_id, by=changed_by)
        db.execute("DELETE FROM api_documents WHERE id = CAST(:id AS uuid)", id=document_id)
        audit(db, "api_documents", document_id, "DELETE", document_audit(old), None, changed_by)
    targets.forget_all()
    return {"id": document_id, "deleted": True, "removed": {k: int(v) for k, v in counts.items()}}
