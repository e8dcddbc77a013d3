"""Backfill of endpoints imported before migration 070 (security_schemes NULL).

    backfill_endpoint_security(db=None) -> {"endpoints": N, "backfilled": [{"document_id", "endpoints"}],
                                            "not_in_spec": N, "servers_kept": [document ids],
                                            "failed": [{"document_id", "error"}]}

Such endpoints have no recorded schemes, so the gateway does not enforce
their spec's security (gateway.security) until a re-import. This derives
`security`, `security_schemes` and `servers` from each document's stored
content with the import's own parse (catalog.templates.parse -> spec ->
extract; job-path limits), matching endpoints by (path, method), one
document per transaction, only rows still NULL (idempotent; safe beside a
concurrent re-import, which writes them itself).

It runs outside the call path, so an invoke never fails because a backfill
did: `python -m chalicelib.cli migrate` and `POST /api/init-db` run it after
the migrations, `python -m chalicelib.cli backfill-endpoint-security` alone.
A document whose content no longer parses is reported in `failed` and its
endpoints stay NULL (unchecked, as before). Endpoints the stored spec does
not have (left inactive by a merge re-import) stay NULL: a re-import that
restores them writes them. When the derived operation/path servers would
send the document's stored secrets to an origin it never called (DESIGN 15),
their servers stay NULL (the document's base URL) and the document is listed
in `servers_kept`; their security is still recorded.
"""
from __future__ import annotations

import logging

from chalicelib.catalog.audit import audit
from chalicelib.catalog.sql import database, dumps
from chalicelib.errors import AppError, Conflict

log = logging.getLogger("stepflow")

_PENDING_SQL = "SELECT DISTINCT api_document_id AS id FROM api_endpoints WHERE security_schemes IS NULL"

_UPDATE_SQL = (
    "UPDATE api_endpoints e SET security = r.security, security_schemes = COALESCE(r.security_schemes, '{}'),"
    " servers = CASE WHEN CAST(:keep_servers AS boolean) THEN e.servers ELSE r.servers END,"
    " auth_required = COALESCE(r.auth_required, false), updated_at = NOW()"
    " FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r(id uuid, security jsonb, security_schemes jsonb,"
    "  servers jsonb, auth_required boolean)"
    " WHERE e.id = r.id AND e.security_schemes IS NULL")


def backfill_endpoint_security(db=None) -> dict:
    db = database(db)
    report: dict = {"endpoints": 0, "backfilled": [], "not_in_spec": 0, "servers_kept": [], "failed": []}
    for row in db.query(_PENDING_SQL):
        doc_id = str(row["id"])
        try:
            _document(db, doc_id, report)
        except AppError as exc:   # the stored content no longer parses (limits, ...): the others go on
            report["failed"].append({"document_id": doc_id, "error": exc.message})
            log.warning("backfill-endpoint-security: document %s: %s", doc_id, exc.message)
    if report["endpoints"]:
        from chalicelib.gateway import targets
        targets.forget_all()
    return report


def _document(db, doc_id: str, report: dict) -> None:
    from chalicelib.catalog.auth_config import check_new_endpoint_origins, unseal
    from chalicelib.catalog.reimport import origins_called
    from chalicelib.catalog.templates import parse

    with db.transaction():
        doc = db.one("SELECT id, original_content, content_type, source_url, base_url, auth_config, server_variables"
                     " FROM api_documents WHERE id = CAST(:id AS uuid) FOR UPDATE", id=doc_id)
        rows = db.query("SELECT id, path, method FROM api_endpoints WHERE api_document_id = CAST(:id AS uuid)"
                        " AND security_schemes IS NULL FOR UPDATE", id=doc_id)
        if doc is None or not rows or not doc["original_content"]:
            return
        parsed = parse(doc["original_content"], doc["content_type"], doc["source_url"], True,
                       doc["server_variables"], ())
        by_key = {(e["path"], e["method"]): e for e in parsed.endpoints}
        found = [(r, by_key[(r["path"], r["method"])]) for r in rows if (r["path"], r["method"]) in by_key]
        report["not_in_spec"] += len(rows) - len(found)
        if not found:
            return
        called = db.query("SELECT servers FROM api_endpoints WHERE api_document_id = CAST(:id AS uuid)"
                          " AND servers IS NOT NULL", id=doc_id)
        keep_servers = False
        try:
            check_new_endpoint_origins(unseal(doc["auth_config"]), origins_called([doc["base_url"]], called),
                                       [ep.get("servers") for _, ep in found], False)
        except Conflict:
            keep_servers = True
            report["servers_kept"].append(doc_id)
        updates = [{"id": str(r["id"]), "security": ep.get("security"), "security_schemes": ep.get("security_schemes"),
                    "servers": ep.get("servers"), "auth_required": ep.get("auth_required")} for r, ep in found]
        n = db.execute(_UPDATE_SQL, rows=dumps(updates), keep_servers=keep_servers)
        audit(db, "api_documents", doc_id, "UPDATE", None,
              {"backfill_endpoint_security": n, "servers_kept": keep_servers})
    report["backfilled"].append({"document_id": doc_id, "endpoints": n})
    report["endpoints"] += n
