"""The catalog's change history: one `api_audit_logs` row per write of a
template, document or endpoint, in the same transaction as the write.

What a row keeps: the changed fields (secrets masked), never spec bodies
(they are megabytes and kept in the row itself). Endpoint writes done as one
set-based statement write their audit rows in the same statement with
`endpoint_audit_sql` (the fields an audit row keeps of an endpoint); a
document inserted by such a statement uses `document_audit_sql` (the same
fields as `document_audit`, its auth_config masked by the caller).
"""
from __future__ import annotations

from typing import Any

from chalicelib.catalog.sql import database, dumps
from chalicelib.db.where import Where

# what an audit row keeps of a document / endpoint (no spec bodies)
_DOC_AUDIT_KEYS = ("name", "description", "version", "base_url", "template_id", "status", "auth_config",
                   "rate_limit_config", "timeout_config", "total_endpoints", "active_endpoints", "spec_version",
                   "server_index")
_ENDPOINT_AUDIT_KEYS = ("api_document_id", "path", "method", "operation_id", "status", "timeout_ms",
                        "rate_limit_enabled", "is_deprecated", "deprecated_at")


def endpoint_audit_sql(alias: str = "") -> str:
    """The jsonb an audit row keeps of an api_endpoints row (`alias.` prefixed)."""
    a = alias + "." if alias else ""
    return "jsonb_build_object(" + ", ".join(f"'{c}', {a}{c}" for c in _ENDPOINT_AUDIT_KEYS) + ")"


ENDPOINT_AUDIT_SQL = endpoint_audit_sql()


def document_audit_sql(alias: str, auth_param: str) -> str:
    """The jsonb an audit row keeps of an api_documents row (`alias.` prefixed),
    as `document_audit` does: its auth_config is the bound `:auth_param` (the
    caller's `document_audit_auth`), never the stored ciphertext."""
    return "jsonb_build_object(" + ", ".join(
        f"'{c}', CAST(:{auth_param} AS jsonb)" if c == "auth_config" else f"'{c}', {alias}.{c}"
        for c in _DOC_AUDIT_KEYS) + ")"


def document_audit_auth(stored: Any) -> str | None:
    """JSON of the masked auth_config an audit row keeps (`stored`: the sealed value, or None)."""
    from chalicelib.catalog.auth_config import masked
    value = masked(stored)
    return None if value is None else dumps(value)


def audit(db, table: str, record_id: str, operation: str, old: Any = None, new: Any = None,
          changed_by: str | None = None) -> None:
    database(db).execute(
        "INSERT INTO api_audit_logs (table_name, record_id, operation, old_data, new_data, changed_by) "
        "VALUES (:t, CAST(:r AS uuid), :op, CAST(:old AS jsonb), CAST(:new AS jsonb), CAST(:by AS uuid))",
        t=table, r=str(record_id), op=operation, old=None if old is None else dumps(old),
        new=None if new is None else dumps(new), by=changed_by)


def document_audit(row: dict | None) -> dict | None:
    """What an audit row keeps of a document (auth_config masked)."""
    from chalicelib.catalog.auth_config import masked
    if row is None:
        return None
    out = {k: row.get(k) for k in _DOC_AUDIT_KEYS if k in row}
    if "auth_config" in out:
        out["auth_config"] = masked(out["auth_config"])
    return out


def list_audit_logs(db=None, *, table_name: str | None = None, record_id: str | None = None,
                    operation: str | None = None, limit: int = 50, offset: int = 0) -> tuple[list[dict], int]:
    w = (Where()
         .when(table_name, "table_name = :t", t=table_name)
         .when(record_id, "record_id = CAST(:r AS uuid)", r=record_id)
         .when(operation, "operation = :op", op=(operation or "").upper()))
    return database(db).page(f"SELECT * FROM api_audit_logs WHERE {w.sql}", order_by="changed_at DESC, id",
                             limit=limit, offset=offset, **w.params)
