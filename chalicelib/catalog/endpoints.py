"""API endpoints in `api_endpoints`: written with their document (insert as
one set-based statement, with its audit rows), browsed through the
`api_endpoint_resources` view, shown with their `$ref`s expanded, patched.

    list_endpoints(db, document_id=..., tag=..., sort="-call_count") -> (rows, total)
    get_endpoint(db, endpoint_id, resolve=True) -> the row (+ `resolved` schemas)
    patch_endpoint(db, endpoint_id, {"status": ...}, changed_by)

A patch also sets the response cache (`cache_ttl_seconds`, `cache_max_entries`,
`cache_max_body_bytes`, merged with the stored `cache_config` and checked by
the gateway's CacheConfig); every patch empties the endpoint's cache.
"""
from __future__ import annotations

from typing import Any

from chalicelib.catalog.audit import ENDPOINT_AUDIT_SQL, audit
from chalicelib.catalog.refs import DATA_KEYS, NAME_MAP_KEYS, RefError, ref_tokens, resolve_inline
from chalicelib.catalog.sql import as_list, database, dumps, like
from chalicelib.db.where import Where
from chalicelib.errors import NotFound, ValidationError, field_error, field_errors
from chalicelib.gateway import targets  # the gateway's cached call targets

ENDPOINT_FIELDS = ("operation_id", "summary", "description", "tags", "parameters", "request_body_schema",
                   "response_schemas", "auth_required", "security", "is_deprecated", "security_schemes", "servers")


def deprecated_at_sql(deprecated: str, previous: str | None = None) -> str:
    """The one rule for `deprecated_at`: kept (or set now) while `deprecated`
    (an SQL condition) holds, NULL otherwise."""
    return f"CASE WHEN {deprecated} THEN {f'COALESCE({previous}, NOW())' if previous else 'NOW()'} END"


# A document's endpoint counters, recounted in the statement that changes them
# (the document's id bound as :id).
ENDPOINT_COUNTS_SQL = (
    "total_endpoints = (SELECT COUNT(*) FROM api_endpoints WHERE api_document_id = CAST(:id AS uuid)),"
    " active_endpoints = (SELECT COUNT(*) FROM api_endpoints WHERE api_document_id = CAST(:id AS uuid)"
    " AND status = 'active')")


# ---- writes with the document -------------------------------------------------------------------

def endpoint_rows(endpoints: list[dict]) -> str:
    """Endpoints as the JSON array `jsonb_to_recordset` reads (None omitted): the `:rows` of
    `insert_endpoints_sql`."""
    keep = ("path", "method", "status") + ENDPOINT_FIELDS
    return dumps([{k: e[k] for k in keep if e.get(k) is not None} for e in endpoints])


_RECORDSET = ("jsonb_to_recordset(CAST(:rows AS jsonb)) AS r(path text, method text, status text, "
              "operation_id text, summary text, description text, tags text[], parameters jsonb, "
              "request_body_schema jsonb, response_schemas jsonb, auth_required boolean, security jsonb, "
              "is_deprecated boolean, security_schemes jsonb, servers jsonb)")


_INSERT_DEPRECATED_AT = deprecated_at_sql("r.status = 'deprecated' OR COALESCE(r.is_deprecated, false)")


def insert_endpoints_sql(document_sql: str, source: str = "") -> str:
    """The CTEs `ins` (the endpoints of `:rows` inserted for the document id
    `document_sql`, from `source` joined before the recordset, e.g. "doc, ") and
    `ep_aud` (their audit rows, `:by` the author): one set-based statement."""
    return (
        "ins AS ("
        " INSERT INTO api_endpoints (api_document_id, path, method, operation_id, summary, description, tags,"
        "  parameters, request_body_schema, response_schemas, auth_required, security, status, is_deprecated,"
        "  security_schemes, servers, deprecated_at)"
        f" SELECT {document_sql}, r.path, r.method, r.operation_id, r.summary, r.description,"
        "  COALESCE(r.tags, '{}'), r.parameters, r.request_body_schema, r.response_schemas,"
        "  COALESCE(r.auth_required, false), r.security, r.status, COALESCE(r.is_deprecated, false),"
        "  r.security_schemes, r.servers,"
        f" {_INSERT_DEPRECATED_AT}"
        f" FROM {source}{_RECORDSET}"
        " RETURNING id, api_document_id, path, method, operation_id, status, timeout_ms, rate_limit_enabled,"
        "  is_deprecated, deprecated_at),"
        " ep_aud AS (INSERT INTO api_audit_logs (table_name, record_id, operation, new_data, changed_by)"
        f"  SELECT 'api_endpoints', id, 'INSERT', {ENDPOINT_AUDIT_SQL}, CAST(:by AS uuid) FROM ins)")


def insert_endpoints(db, document_id: str, endpoints: list[dict], changed_by: str | None) -> list[dict]:
    if not endpoints:
        return []
    return db.query(
        "WITH " + insert_endpoints_sql("CAST(:doc AS uuid)")
        + " SELECT id, method, path, operation_id, status FROM ins",
        doc=document_id, rows=endpoint_rows(endpoints), by=changed_by)


def endpoint_changes(old: dict, new: dict) -> list[str]:
    changed = []
    for field in ENDPOINT_FIELDS:
        a, b = old.get(field), new.get(field)
        if field == "tags":
            a, b = list(a or []), list(b or [])
        if a != b:
            changed.append(field)
    return changed


# ---- reads and patches --------------------------------------------------------------------------

ENDPOINT_SORTS = {"path": "path", "method": "method", "operation_id": "operation_id", "api_name": "api_name",
                  "call_count": "call_count", "error_count": "error_count", "success_count": "success_count",
                  "avg_response_time_ms": "avg_response_time_ms", "reference_count": "reference_count",
                  "status": "endpoint_status"}


def list_endpoints(db=None, *, document_id=None, tag=None, method=None, status=None, text=None,
                   sort: str | None = None, limit: int = 50, offset: int = 0) -> tuple[list[dict], int]:
    """Browse the api_endpoint_resources view (seed 000's front-end support)."""
    w = (Where()
         .when(document_id, "v.api_document_id = CAST(:doc AS uuid)", doc=document_id)
         .when(tag, "v.tags && CAST(:tags AS text[])", tags=as_list(tag))
         .when(method, "v.method = ANY(CAST(:methods AS text[]))", methods=[m.upper() for m in as_list(method)])
         .when(status, "v.endpoint_status = ANY(CAST(:statuses AS text[]))", statuses=as_list(status))
         .when(text, "(v.path ILIKE :text OR v.summary ILIKE :text OR v.operation_id ILIKE :text)", text=like(text)))
    order = []
    for part in (sort or "path").split(","):
        part = part.strip()
        if not part:
            continue
        desc = part.startswith("-") or part.lower().endswith(" desc")
        name = part.lstrip("-+").split(" ")[0]
        if name not in ENDPOINT_SORTS:
            raise ValidationError(f"cannot sort by {name!r}; one of {', '.join(sorted(ENDPOINT_SORTS))}",
                                  field_errors(field_error(["query", "sort"], "unknown sort field", "enum")))
        order.append(f"{ENDPOINT_SORTS[name]} {'DESC' if desc else 'ASC'} NULLS LAST")
    order.append("endpoint_id")  # the page's output columns: the view's, unqualified
    return database(db).page(f"SELECT v.* FROM api_endpoint_resources v WHERE {w.sql}",
                             order_by=", ".join(order), limit=limit, offset=offset, **w.params)


def _endpoint_row(db, endpoint_id: str) -> dict:
    row = database(db).one(
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
        rows = database(db).query(
            "SELECT r.ref, d.parsed_spec #> ARRAY(SELECT jsonb_array_elements_text(r.toks)) AS target"
            " FROM api_documents d, jsonb_to_recordset(CAST(:refs AS jsonb)) AS r(ref text, toks jsonb)"
            " WHERE d.id = CAST(:id AS uuid)", refs=dumps(batch), id=document_id)
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
AUDITED = PATCHABLE + ("cache_config",)


def patch_endpoint(db, endpoint_id: str, changes: dict, changed_by: str | None = None) -> dict:
    from chalicelib.gateway import configs, response_cache

    db = database(db)
    sets: list[str] = []
    params: dict[str, Any] = {"id": endpoint_id}
    for field in PATCHABLE:
        if changes.get(field) is not None:
            sets.append(f"{field} = :{field}")
            params[field] = changes[field]
    if "status" in params:
        sets.append("deprecated_at = " + deprecated_at_sql("CAST(:status AS varchar) = 'deprecated' OR is_deprecated",
                                                           "deprecated_at"))
    cache_changes = {k: changes[k] for k in configs.CACHE_FIELDS if changes.get(k) is not None}
    with db.transaction():
        old = db.one(f"SELECT id, {', '.join(AUDITED)}, method, api_document_id FROM api_endpoints "
                     "WHERE id = CAST(:id AS uuid) FOR UPDATE", id=endpoint_id)
        if old is None:
            raise NotFound(f"endpoint {endpoint_id} not found")
        if cache_changes:
            cfg = configs.cache_for_save({**(old["cache_config"] or {}), **cache_changes}, old["method"])
            sets.append("cache_config = CAST(:cache AS jsonb)")
            params["cache"] = dumps(cfg) if cfg else None
        if not sets:
            return _endpoint_row(db, endpoint_id)
        new = db.one(f"UPDATE api_endpoints SET {', '.join(sets)}, updated_at = NOW() "
                     f"WHERE id = CAST(:id AS uuid) RETURNING id, {', '.join(AUDITED)}", **params)
        response_cache.clear(endpoint_id, db)
        if "status" in params:
            db.execute(f"UPDATE api_documents SET {ENDPOINT_COUNTS_SQL}, updated_at = NOW()"
                       " WHERE id = CAST(:id AS uuid)", id=str(old["api_document_id"]))
        audit(db, "api_endpoints", endpoint_id, "UPDATE", {k: old[k] for k in AUDITED},
              {k: new[k] for k in AUDITED}, changed_by)
    targets.forget_all()
    return _endpoint_row(db, endpoint_id)
