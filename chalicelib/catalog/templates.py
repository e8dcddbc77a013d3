"""OpenAPI templates in `openapi_templates`: validated by a full parse when
stored (nothing is stored for a spec that cannot be imported), then used to
create documents.

    create_template(db, content=..., name=None, ...) -> the template + import warnings
    import_template_from_url(url, meta, created_by) -> the same, fetched through
        the outbound guard (the route, and the `catalog.import_url` job)
    list_templates / get_template / update_template / delete_template

`parse` (with the size limits of the sync or async path) and `name_version`
are shared with the documents made from a spec.
"""
from __future__ import annotations

from typing import Any, Callable, Iterable

from chalicelib.catalog.audit import audit
from chalicelib.catalog.spec import Limits, ParsedSpec, parse_spec
from chalicelib.catalog.sql import as_list, database, like
from chalicelib.db.where import Where
from chalicelib.errors import NotFound, UpstreamError, ValidationError, field_error, field_errors

TEMPLATE_COLUMNS = (
    "id, name, description, version, category, tags, content_type, is_public, status, spec_version, "
    "operation_count, source_url, created_by, created_at, updated_at")
FETCH_ACCEPT = "application/yaml, application/json;q=0.9, */*;q=0.5"


# ---- parsing ------------------------------------------------------------------------------------

def parse(content: bytes | str, content_type: str | None = None, import_url: str | None = None,
          asynchronous: bool = False, server_variables: dict | None = None,
          variables_at: tuple = ("body",)) -> ParsedSpec:
    """A full parse with the limits of the sync path (or, `asynchronous`, the job path)."""
    from chalicelib.settings import get_settings
    limits = Limits.from_settings(get_settings(), asynchronous=asynchronous)
    return parse_spec(content, content_type, import_url=import_url, limits=limits,
                      server_variables=server_variables, variables_at=variables_at)


def name_version(parsed: ParsedSpec, name: str | None, version: str | None) -> tuple[str, str]:
    """The name and version given, else the spec's info title / version; a 400 naming what is missing."""
    name = name or (parsed.title or "").strip()[:255]
    version = version or (parsed.api_version or "").strip()[:50]
    missing = [f for f, v in (("name", name), ("version", version)) if not v]
    if missing:
        raise ValidationError(
            f"{' and '.join(missing)} missing: the spec's info has no "
            f"{' / '.join('title' if f == 'name' else 'version' for f in missing)}; give it in the request",
            field_errors(field_error(["body", f], "Field required", "missing") for f in missing))
    return name, version


# ---- templates ----------------------------------------------------------------------------------

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
    name, version = name_version(parsed, name, version)
    db = database(db)
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
         .when(tag, "tags @> CAST(:tags AS text[])", tags=as_list(tag))
         .when(status, "status = :status", status=status)
         .when(is_public is not None, "is_public = :pub", pub=bool(is_public))
         .when(text, "(name ILIKE :text OR description ILIKE :text OR category ILIKE :text)", text=like(text)))
    return database(db).page(f"SELECT {TEMPLATE_COLUMNS} FROM openapi_templates WHERE {w.sql}",
                             order_by="created_at DESC, id", limit=limit, offset=offset, **w.params)


def get_template(db, template_id: str, with_content: bool = False) -> dict:
    cols = TEMPLATE_COLUMNS + (", template_content" if with_content else "")
    row = database(db).one(f"SELECT {cols} FROM openapi_templates WHERE id = CAST(:id AS uuid)", id=template_id)
    if row is None:
        raise NotFound(f"template {template_id} not found")
    return row


def update_template(db, template_id: str, changes: dict, changed_by: str | None = None) -> dict:
    """`changes`: any of name, version, description, category, tags, is_public,
    status, content (+ content_type): new content is validated like a create."""
    db = database(db)
    sets: list[str] = []
    params: dict[str, Any] = {"id": template_id}
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
    db = database(db)
    with db.transaction():
        old = db.one(f"DELETE FROM openapi_templates WHERE id = CAST(:id AS uuid) RETURNING {TEMPLATE_COLUMNS}",
                     id=template_id)
        if old is None:
            raise NotFound(f"template {template_id} not found")
        detached = db.execute("UPDATE api_documents SET template_id = NULL, updated_at = NOW() "
                              "WHERE template_id = CAST(:id AS uuid)", id=template_id)
        audit(db, "openapi_templates", template_id, "DELETE", old, None, changed_by)
    return {"id": template_id, "deleted": True, "documents_detached": detached}


# ---- import from a URL --------------------------------------------------------------------------

def fetch_spec(url: str) -> tuple[bytes, str | None, str]:
    """(body, normalised content type, final URL) of a spec fetched through the outbound guard."""
    from chalicelib.catalog.loader import normalize_content_type
    from chalicelib.net import outbound
    from chalicelib.settings import get_settings
    policy = outbound.policy_from_settings(max_bytes=get_settings().max_async_spec_bytes)
    resp = outbound.fetch(url, policy=policy, headers={"Accept": FETCH_ACCEPT})
    if resp.status_code >= 400:
        raise UpstreamError(f"fetching {url} answered HTTP {resp.status_code}",
                            {"url": url, "status_code": resp.status_code})
    ctype = (resp.headers.get("content-type") or "").split(";")[0].strip().lower()
    return resp.content, normalize_content_type(ctype), resp.url


def import_template_from_url(url: str, meta: dict, created_by: str | None = None,
                             asynchronous: bool = True, commit: Callable | None = None) -> Any:
    """Fetch a spec through the outbound guard and store it as a template
    (used by the route and by the `catalog.import_url` job). `commit(work)`,
    when given, runs the parse-and-store step (the job's cancel-safe commit)
    and its answer is returned; the fetch happens before it."""
    content, ctype, final_url = fetch_spec(url)

    def store() -> dict:
        return create_template(
            None, content=content, name=meta.get("name"), version=meta.get("version"),
            description=meta.get("description"), category=meta.get("category"), tags=meta.get("tags") or [],
            is_public=bool(meta.get("is_public")), content_type=meta.get("content_type") or ctype,
            source_url=final_url, created_by=created_by, asynchronous=asynchronous)

    return commit(store) if commit is not None else store()
