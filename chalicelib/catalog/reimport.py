"""Re-import: a document moved to a new version of its spec, with a diff.

    reimport_document(db, document_id, content=..., mode="merge"|"overwrite", dry_run=False)
    -> {"document", "diff": {added, changed, removed, unchanged}, "counts",
        "references_marked_error", "dry_run", "mode", "warnings", ...}

Endpoints are matched by (path, method): unchanged and changed ones keep
their ids, statistics and references; new ones are added. What the new spec
no longer has:
  merge (default)  becomes inactive (`removed_at` set); kept, restored with
                   its id when a later version has it again;
  overwrite        is deleted (with its cached answers; call logs stay as
                   history); every endpoint not in the spec goes, including
                   ones a merge left inactive.
Either way the references to a removed endpoint are flagged `error`, each
with its audit row. Every endpoint update's audit row has old_data and
new_data (one statement: the old row is read in the statement's snapshot).

`dry_run=True` runs the same checks and computes the same diff (ids of
endpoints that would be added are null) and writes nothing.

A document whose base_url follows one of the spec's servers (`server_index`)
follows it to the new spec; one given by the user stays. Moving the origin
of stored secrets is checked as on update (catalog.auth_config), and so is
an operation's or path's server on an origin the document did not call.
"""
from __future__ import annotations

from chalicelib.catalog.audit import ENDPOINT_AUDIT_SQL, audit, document_audit, endpoint_audit_sql
from chalicelib.catalog.auth_config import check_new_endpoint_origins, check_origin_binding, unseal
from chalicelib.catalog.endpoints import (
    ENDPOINT_COUNTS_SQL,
    ENDPOINT_FIELDS,
    deprecated_at_sql,
    endpoint_changes,
    insert_endpoints,
)
from chalicelib.catalog.sql import database, dumps
from chalicelib.errors import NotFound
from chalicelib.gateway import targets  # the gateway's cached call targets

MODES = ("merge", "overwrite")

_EXISTING_SQL = (
    "SELECT id, path, method, status, removed_at, " + ", ".join(ENDPOINT_FIELDS)
    + " FROM api_endpoints WHERE api_document_id = CAST(:id AS uuid)")

_UPDATE_SQL = (
    "WITH old AS (SELECT id, " + ENDPOINT_AUDIT_SQL + " AS data FROM api_endpoints"
    "  WHERE id IN (SELECT (x ->> 'id')::uuid FROM jsonb_array_elements(CAST(:rows AS jsonb)) x)),"
    " upd AS (UPDATE api_endpoints e SET operation_id = r.operation_id, summary = r.summary,"
    " description = r.description, tags = COALESCE(r.tags, '{}'), parameters = r.parameters,"
    " request_body_schema = r.request_body_schema, response_schemas = r.response_schemas,"
    " auth_required = COALESCE(r.auth_required, false), security = r.security,"
    " security_schemes = r.security_schemes, servers = r.servers,"
    " is_deprecated = COALESCE(r.is_deprecated, false), status = r.status, removed_at = NULL,"
    " deprecated_at = " + deprecated_at_sql("r.status = 'deprecated' OR COALESCE(r.is_deprecated, false)",
                                            "e.deprecated_at") + ","
    " updated_at = NOW()"
    " FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r(id uuid, status text, operation_id text,"
    "  summary text, description text, tags text[], parameters jsonb, request_body_schema jsonb,"
    "  response_schemas jsonb, auth_required boolean, security jsonb, is_deprecated boolean,"
    "  security_schemes jsonb, servers jsonb, changes jsonb)"
    f" WHERE e.id = r.id RETURNING e.id, {endpoint_audit_sql('e')} AS data, r.changes)"
    " INSERT INTO api_audit_logs (table_name, record_id, operation, old_data, new_data, changed_by)"
    " SELECT 'api_endpoints', upd.id, 'UPDATE', old.data,"
    "  upd.data || jsonb_build_object('reimport_changes', upd.changes), CAST(:by AS uuid)"
    " FROM upd JOIN old ON old.id = upd.id")

_REMOVE_SQL = (
    "WITH old AS (SELECT id, " + ENDPOINT_AUDIT_SQL + " AS data FROM api_endpoints"
    "  WHERE id = ANY(CAST(:ids AS uuid[]))),"
    " upd AS (UPDATE api_endpoints SET status = 'inactive', removed_at = NOW(), updated_at = NOW(),"
    " deprecated_at = " + deprecated_at_sql("is_deprecated", "deprecated_at") +
    f" WHERE id = ANY(CAST(:ids AS uuid[])) RETURNING id, {ENDPOINT_AUDIT_SQL} AS data)"
    " INSERT INTO api_audit_logs (table_name, record_id, operation, old_data, new_data, changed_by)"
    " SELECT 'api_endpoints', upd.id, 'UPDATE', old.data, upd.data || '{\"removed_from_spec\": true}',"
    " CAST(:by AS uuid) FROM upd JOIN old ON old.id = upd.id")

_DELETE_SQL = (
    "WITH cache AS (DELETE FROM api_endpoint_cache WHERE endpoint_id = ANY(CAST(:ids AS uuid[])) RETURNING 1),"
    " del AS (DELETE FROM api_endpoints WHERE id = ANY(CAST(:ids AS uuid[]))"
    f"  RETURNING id, {ENDPOINT_AUDIT_SQL} AS data)"
    " INSERT INTO api_audit_logs (table_name, record_id, operation, old_data, new_data, changed_by)"
    " SELECT 'api_endpoints', id, 'DELETE', data, '{\"removed_from_spec\": true}', CAST(:by AS uuid) FROM del")

_FLAG_REFS_SQL = (
    "WITH old AS (SELECT id, status FROM resource_references"
    "  WHERE api_endpoint_id = ANY(CAST(:ids AS uuid[])) AND status <> 'error'),"
    " upd AS (UPDATE resource_references SET status = 'error', updated_at = NOW()"
    "  WHERE id IN (SELECT id FROM old) RETURNING id, api_endpoint_id, status)"
    " INSERT INTO api_audit_logs (table_name, record_id, operation, old_data, new_data, changed_by)"
    " SELECT 'resource_references', upd.id, 'UPDATE',"
    "  jsonb_build_object('status', old.status, 'api_endpoint_id', upd.api_endpoint_id),"
    "  jsonb_build_object('status', upd.status, 'api_endpoint_id', upd.api_endpoint_id,"
    "   'reason', CAST(:reason AS text)), CAST(:by AS uuid) FROM upd JOIN old ON old.id = upd.id")


def origins_called(bases: list[str], rows: list[dict]) -> set:
    """The origins a document calls: its base URLs and its endpoints' absolute servers."""
    from chalicelib.net.policy import origin_of

    urls = list(bases) + [s.get("url") for r in rows for s in (r.get("servers") or ()) if isinstance(s, dict)]
    return {origin_of(u) for u in urls if isinstance(u, str) and "://" in u}


def _brief(row: dict) -> dict:
    return {"id": row["id"], "method": row["method"], "path": row["path"]}


def plan(existing: list[dict], endpoints: list[dict], mode: str = "merge") -> dict:
    """The diff of a re-import (no database): added endpoints, updates with their
    changed fields and new status, unchanged ones, and what goes."""
    by_key = {(r["path"], r["method"]): r for r in existing}
    added, changed, unchanged, updates = [], [], [], []
    seen = set()
    for ep in endpoints:
        key = (ep["path"], ep["method"])
        seen.add(key)
        old = by_key.get(key)
        if old is None:
            added.append(ep)
            continue
        fields = endpoint_changes(old, ep)
        restored = old["removed_at"] is not None
        if restored:
            status = ep["status"]
        elif "is_deprecated" in fields:
            status = "deprecated" if ep["is_deprecated"] else (
                "active" if old["status"] == "deprecated" else old["status"])
        else:
            status = old["status"]
        if fields or restored or status != old["status"]:
            changes = fields + (["restored"] if restored else [])
            changed.append({**_brief({**ep, "id": old["id"]}), "changes": changes})
            updates.append({**{k: ep.get(k) for k in ENDPOINT_FIELDS}, "id": str(old["id"]),
                            "status": status, "path": ep["path"], "method": ep["method"], "changes": changes})
        else:
            unchanged.append(_brief({**ep, "id": old["id"]}))
    gone = [r for k, r in by_key.items() if k not in seen and (mode == "overwrite" or r["removed_at"] is None)]
    return {"added": added, "changed": changed, "unchanged": unchanged, "updates": updates, "removed": gone}


def reimport_document(db, document_id: str, *, content: bytes | str | None = None,
                      template_id: str | None = None, content_type: str | None = None,
                      version: str | None = None, base_url: str | None = None,
                      changed_by: str | None = None, asynchronous: bool = False,
                      may_retarget: bool = False, mode: str = "merge", dry_run: bool = False) -> dict:
    from chalicelib.catalog.documents import (
        DOC_COLUMNS,
        check_base_url,
        document_out,
        spec_params,
        spec_source,
    )
    from chalicelib.catalog.templates import parse

    db = database(db)
    text, content_type, src = spec_source(db, content, template_id, content_type)
    with db.transaction():
        old_doc = db.one(f"SELECT {DOC_COLUMNS} FROM api_documents WHERE id = CAST(:id AS uuid)"
                         + ("" if dry_run else " FOR UPDATE"), id=document_id)
        if old_doc is None:
            raise NotFound(f"document {document_id} not found")
        parsed = parse(text, content_type, src or old_doc.get("source_url"), asynchronous,
                       old_doc.get("server_variables"), ())   # the document's values stay
        new_version = version or (parsed.api_version or "").strip()[:50] or old_doc["version"]
        server_index = old_doc["server_index"]
        if base_url:
            new_base, server_index = check_base_url(base_url), None
        elif server_index is not None and server_index < len(parsed.servers) and parsed.servers[server_index]["url"]:
            new_base = parsed.servers[server_index]["url"]
        else:
            new_base = old_doc["base_url"]
        moved = new_base if new_base != old_doc["base_url"] else None
        old_auth = unseal(old_doc["auth_config"])
        check_origin_binding(old_doc, old_auth, moved, None, None, may_retarget)
        existing = db.query(_EXISTING_SQL, id=document_id)
        check_new_endpoint_origins(old_auth, origins_called([old_doc["base_url"], new_base], existing),
                                   [e.get("servers") for e in parsed.endpoints], may_retarget)
        p = plan(existing, parsed.endpoints, mode)
        removed_ids = [str(r["id"]) for r in p["removed"]]
        diff = {"added": [{"id": None, "method": e["method"], "path": e["path"]} for e in p["added"]],
                "changed": p["changed"],
                "removed": [{**_brief(r), **({"deleted": True} if mode == "overwrite" else {})}
                            for r in p["removed"]],
                "unchanged": p["unchanged"]}
        counts = {k: len(v) for k, v in diff.items()}
        common = {"diff": diff, "counts": counts, "mode": mode, "dry_run": dry_run, "warnings": parsed.warnings,
                  "warning_count": parsed.warning_count, "skipped_operations": parsed.skipped}
        if dry_run:
            refs = db.scalar("SELECT COUNT(*) FROM resource_references WHERE api_endpoint_id = ANY("
                             "CAST(:ids AS uuid[])) AND status <> 'error'", ids=removed_ids) if removed_ids else 0
            preview = {"version": new_version, "base_url": new_base, "server_index": server_index}
            return {"document": document_out(old_doc), "would_be": preview, "references_marked_error": int(refs),
                    **common}

        if p["updates"]:
            db.execute(_UPDATE_SQL, rows=dumps([{k: v for k, v in u.items() if v is not None}
                                                for u in p["updates"]]), by=changed_by)
        refs_marked = 0
        if removed_ids:
            reason = "endpoint deleted by re-import" if mode == "overwrite" else "endpoint removed from the spec"
            refs_marked = db.execute(_FLAG_REFS_SQL, ids=removed_ids, reason=reason, by=changed_by)
            db.execute(_DELETE_SQL if mode == "overwrite" else _REMOVE_SQL, ids=removed_ids, by=changed_by)
        inserted = insert_endpoints(db, document_id, p["added"], changed_by)
        diff["added"] = [_brief(r) for r in inserted]

        spec_sql, extra = spec_params(parsed)
        doc = db.one(
            f"UPDATE api_documents SET parsed_spec = {spec_sql}, original_content = CAST(:content AS text),"
            " content_type = :ctype, version = :version, base_url = :base_url, server_url = :server_url,"
            " server_index = :server_index,"
            " spec_version = :sv, warnings = CAST(:warnings AS jsonb), warning_count = :wc,"
            " skipped_operations = CAST(:skipped AS jsonb), template_id = COALESCE(CAST(:tpl AS uuid), template_id),"
            f" {ENDPOINT_COUNTS_SQL}, updated_at = NOW()"
            f" WHERE id = CAST(:id AS uuid) RETURNING {DOC_COLUMNS}",
            id=document_id, content=parsed.text, ctype=parsed.content_type, version=new_version,
            base_url=new_base, server_url=(parsed.server_url or None) and parsed.server_url[:500],
            server_index=server_index, sv=parsed.spec_version, warnings=dumps(parsed.warnings),
            wc=parsed.warning_count, skipped=dumps(parsed.skipped), tpl=template_id, **extra)
        audit(db, "api_documents", document_id, "UPDATE", document_audit(old_doc),
              {**(document_audit(doc) or {}), "reimport": counts, "mode": mode}, changed_by)
    targets.forget_all()   # committed: this container's cached call targets are stale
    return {"document": document_out(doc), "references_marked_error": refs_marked, **common}
