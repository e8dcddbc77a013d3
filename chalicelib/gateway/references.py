"""Resource references: workflow nodes, scheduled tasks, forms and dashboards
that point at an endpoint (seed 000), with a parameter mapping to invoke it.

A reference whose endpoint is gone, inactive, or whose document is not active
reads with status `error` (and is stored as `error` when invoked: 409). The
status follows the endpoint: once the endpoint is callable again the
reference reads `active`, and `recover()` (called by the catalog when an
endpoint or document becomes active) stores it so. Only `inactive`, set by a
user, sticks. Every write has its audit row (`api_audit_logs`, table
`resource_references`, reference_config masked), in the write's transaction.
"""
from __future__ import annotations

import json

from chalicelib.catalog.audit import audit
from chalicelib.db import get_db
from chalicelib.db.where import Where
from chalicelib.errors import Conflict, NotFound, field_error, field_errors
from chalicelib.gateway import invoke as gateway_invoke
from chalicelib.gateway import mapping

RESOURCE_TYPES = ("workflow_node", "scheduled_task", "form", "dashboard")
STATUSES = ("active", "inactive", "error")

_BROKEN = "(e.id IS NULL OR e.status = 'inactive' OR d.id IS NULL OR d.status <> 'active')"
_EFFECTIVE_STATUS = f"CASE WHEN r.status = 'inactive' THEN 'inactive' WHEN {_BROKEN} THEN 'error' ELSE 'active' END"
_SELECT = (
    f"SELECT r.id, r.resource_type, r.resource_id, r.api_endpoint_id, r.reference_config, r.display_name, "
    f"r.description, {_EFFECTIVE_STATUS} AS status, r.status AS stored_status, r.last_used_at, r.usage_count, "
    f"r.created_by, r.created_at, r.updated_at, e.path AS endpoint_path, e.method AS endpoint_method, "
    f"e.status AS endpoint_status, d.id AS api_document_id, d.name AS api_name "
    f"FROM resource_references r "
    f"LEFT JOIN api_endpoints e ON e.id = r.api_endpoint_id "
    f"LEFT JOIN api_documents d ON d.id = e.api_document_id "
)


def _out(row: dict) -> dict:
    row = dict(row)
    row.pop("stored_status", None)
    return row


_AUDIT_COLUMNS = ("resource_type", "resource_id", "api_endpoint_id", "reference_config", "display_name",
                  "description", "status")


def _audit_row(db, ref_id: str) -> dict | None:
    """What an audit row keeps of a reference (its mapping masked)."""
    from chalicelib.masking import mask
    row = db.one(f"SELECT {', '.join(_AUDIT_COLUMNS)} FROM resource_references WHERE id = CAST(:id AS uuid)",
                 id=ref_id)
    if row is None:
        return None
    return {k: (mask(v) if k == "reference_config" else str(v) if k.endswith("_id") else v) for k, v in row.items()}


def _endpoint_exists(endpoint_id: str, db) -> None:
    if db.scalar("SELECT 1 FROM api_endpoints WHERE id = CAST(:id AS uuid)", id=endpoint_id) is None:
        raise NotFound(f"endpoint {endpoint_id} not found",
                       field_errors(field_error(["body", "api_endpoint_id"], "no such endpoint", "not_found")))


def create(data: dict, created_by: str | None = None, db=None) -> dict:
    db = db or get_db()
    mapping.validate_config(data.get("reference_config"))
    with db.transaction():
        _endpoint_exists(data["api_endpoint_id"], db)
        rid = db.scalar(
            "INSERT INTO resource_references (resource_type, resource_id, api_endpoint_id, reference_config, "
            " display_name, description, status, created_by, created_at, updated_at) "
            "VALUES (:rt, CAST(:rid AS uuid), CAST(:eid AS uuid), CAST(:cfg AS jsonb), :dn, :desc, :status, "
            " CAST(:by AS uuid), now(), now()) RETURNING id",
            rt=data["resource_type"], rid=data["resource_id"], eid=data["api_endpoint_id"],
            cfg=json.dumps(data.get("reference_config")) if data.get("reference_config") is not None else None,
            dn=data.get("display_name"), desc=data.get("description"), status=data.get("status") or "active",
            by=created_by)
        audit(db, "resource_references", str(rid), "INSERT", None, _audit_row(db, str(rid)), created_by)
    return get(str(rid), db)


def get(ref_id: str, db=None) -> dict:
    row = (db or get_db()).one(_SELECT + "WHERE r.id = CAST(:id AS uuid)", id=ref_id)
    if row is None:
        raise NotFound(f"reference {ref_id} not found")
    return _out(row)


def list_refs(filters: dict, limit: int, offset: int, db=None) -> tuple[list[dict], int]:
    w = (Where()
         .when(filters.get("resource_type"), "r.resource_type = :rt", rt=filters.get("resource_type"))
         .when(filters.get("resource_id"), "r.resource_id = CAST(:rid AS uuid)", rid=filters.get("resource_id"))
         .when(filters.get("endpoint_id"), "r.api_endpoint_id = CAST(:eid AS uuid)", eid=filters.get("endpoint_id"))
         .when(filters.get("document_id"), "e.api_document_id = CAST(:did AS uuid)", did=filters.get("document_id"))
         .when(filters.get("status"), f"({_EFFECTIVE_STATUS}) = :status", status=filters.get("status")))
    rows, total = (db or get_db()).page(_SELECT + f"WHERE {w.sql}", order_by="created_at DESC, id",
                               limit=limit, offset=offset, **w.params)
    return [_out(r) for r in rows], total


def update(ref_id: str, changes: dict, db=None, changed_by: str | None = None) -> dict:
    db = db or get_db()
    if "reference_config" in changes:
        mapping.validate_config(changes["reference_config"])
    with db.transaction():
        current = db.one("SELECT id FROM resource_references WHERE id = CAST(:id AS uuid) FOR UPDATE", id=ref_id)
        if current is None:
            raise NotFound(f"reference {ref_id} not found")
        if changes.get("api_endpoint_id"):
            _endpoint_exists(changes["api_endpoint_id"], db)
        sets, params = [], {"id": ref_id}
        for field, cast in (("resource_type", None), ("resource_id", "uuid"), ("api_endpoint_id", "uuid"),
                            ("reference_config", "jsonb"), ("display_name", None), ("description", None),
                            ("status", None)):
            if field in changes:
                value = changes[field]
                if cast == "jsonb":
                    value = json.dumps(value) if value is not None else None
                sets.append(f"{field} = " + (f"CAST(:{field} AS {cast})" if cast else f":{field}"))
                params[field] = value
        sets.append("updated_at = now()")
        old = _audit_row(db, ref_id)
        db.execute(f"UPDATE resource_references SET {', '.join(sets)} WHERE id = CAST(:id AS uuid)", **params)
        audit(db, "resource_references", ref_id, "UPDATE", old, _audit_row(db, ref_id), changed_by)
    return get(ref_id, db)


def delete(ref_id: str, db=None, changed_by: str | None = None) -> dict:
    db = db or get_db()
    with db.transaction():
        row = get(ref_id, db)
        old = _audit_row(db, ref_id)
        db.execute("DELETE FROM resource_references WHERE id = CAST(:id AS uuid)", id=ref_id)
        audit(db, "resource_references", ref_id, "DELETE", old, None, changed_by)
    return row


def recover(*, endpoint_id: str | None = None, document_id: str | None = None, db=None) -> int:
    """References stored as `error` whose endpoint is callable again become
    `active` (for one endpoint, or every endpoint of a document); returns how many."""
    w = (Where("r.api_endpoint_id = e.id", "r.status = 'error'", "e.status <> 'inactive'", "d.status = 'active'")
         .when(endpoint_id, "e.id = CAST(:eid AS uuid)", eid=endpoint_id)
         .when(document_id, "d.id = CAST(:did AS uuid)", did=document_id))
    return (db or get_db()).execute(
        "UPDATE resource_references r SET status = 'active', updated_at = now() "
        f"FROM api_endpoints e JOIN api_documents d ON d.id = e.api_document_id WHERE {w.sql}", **w.params)


def stats(filters: dict, limit: int, offset: int, db=None) -> tuple[list[dict], int]:
    """Rows of the `resource_reference_stats` view."""
    w = (Where()
         .when(filters.get("resource_type"), "resource_type = :rt", rt=filters.get("resource_type"))
         .when(filters.get("resource_id"), "resource_id = CAST(:rid AS uuid)", rid=filters.get("resource_id")))
    rows, total = (db or get_db()).page(
        "SELECT resource_type, resource_id, total_references, active_references, error_references, "
        f"COALESCE(total_usage, 0) AS total_usage, last_used FROM resource_reference_stats WHERE {w.sql}",
        order_by="total_usage DESC NULLS LAST, resource_type, resource_id", limit=limit, offset=offset, **w.params)
    for r in rows:
        for k in ("total_references", "active_references", "error_references", "total_usage"):
            r[k] = int(r[k] or 0)
    return rows, total


def invoke(ref_id: str, inp: dict | None, *, client_ip: str | None = None, user_agent: str | None = None,
           db=None, caller_key: str | None = None) -> dict:
    db = db or get_db()
    ref = db.one(
        "SELECT r.id, r.resource_type, r.resource_id, r.api_endpoint_id, r.reference_config, r.status "
        "FROM resource_references r WHERE r.id = CAST(:id AS uuid)", id=ref_id)
    if ref is None:
        raise NotFound(f"reference {ref_id} not found")
    if ref["status"] == "inactive":
        raise Conflict(f"reference {ref_id} is inactive", {"reference_id": ref_id, "status": "inactive"})
    endpoint_id = str(ref["api_endpoint_id"])
    try:
        target = gateway_invoke.load_target(endpoint_id, db)
        gateway_invoke.ensure_callable(target)
    except (NotFound, Conflict) as exc:
        db.execute("UPDATE resource_references SET status = 'error', updated_at = now() "
                   "WHERE id = CAST(:id AS uuid) AND status <> 'error'", id=ref_id)
        reason = "was removed" if isinstance(exc, NotFound) else "is not callable: " + exc.message
        raise Conflict(f"reference {ref_id} points at endpoint {endpoint_id}, which {reason}",
                       {"reference_id": ref_id, "endpoint_id": endpoint_id, "status": "error"}) from None
    if ref["status"] == "error":  # its endpoint is callable again
        db.execute("UPDATE resource_references SET status = 'active', updated_at = now() "
                   "WHERE id = CAST(:id AS uuid)", id=ref_id)
    built_input, timeout_ms = mapping.render(
        ref["reference_config"], inp,
        {"id": ref_id, "resource_type": ref["resource_type"], "resource_id": str(ref["resource_id"])})
    result = gateway_invoke.invoke_endpoint(
        endpoint_id, built_input, timeout_ms=timeout_ms, client_ip=client_ip, user_agent=user_agent,
        reference_id=ref_id, db=db, target=target, caller_key=caller_key)
    result["reference_id"] = ref_id
    return result

