"""Catalog routes: templates, documents, endpoints, audit logs.

Request parsing lives here; the work is in the concept modules
(`templates`, `documents`, `endpoints`, `audit`), imported on first use
together with the spec loader (yaml) and the parsers, not with app.py
(Lambda cold start)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from chalicelib.errors import PayloadTooLarge, ValidationError, field_error, field_errors
from chalicelib.web.api import (
    ApiBlueprint,
    Ctx,
    LazyModels,
    Reply,
    media_type,
    page_of,
    parse_json,
    uuid_param,
    validate_model,
)

if TYPE_CHECKING:
    from chalicelib.catalog import models
else:  # imported on the first request that needs them (cold start)
    models = LazyModels("chalicelib.catalog.models")

bp = ApiBlueprint(__name__, tag="catalog")


def normalize_content_type(value: str | None) -> str | None:
    from chalicelib.catalog.loader import normalize_content_type as normalize
    return normalize(value)


SPEC_TYPES = ["application/json", "application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml",
              "application/vnd.oai.openapi", "application/vnd.oai.openapi+json", "text/plain"]


def _by(ctx: Ctx) -> str | None:
    return ctx.principal.key_id if ctx.principal else None


def _is_admin(ctx: Ctx) -> bool:
    """Admins may move a document's upstream origin without resending its secrets."""
    return ctx.principal is not None and ctx.principal.has_role("admin")


def _json_or_none(body: bytes, empty: Any = None) -> Any:
    """The body as JSON when it is JSON (the shared request parser: nesting,
    NaN and NUL rules, a 400 when it breaks one), None when it is not JSON at
    all (the spec loader then explains, or reads it as YAML)."""
    from chalicelib.settings import get_settings
    if not body.strip():
        return empty
    try:
        return parse_json(body, max_depth=get_settings().yaml_max_depth)
    except ValidationError as exc:
        if (exc.details or {}).get("errors", [{}])[0].get("type") not in ("utf8", "json_invalid"):
            raise  # JSON, but refused (too deep, NaN, out of range, NUL)
        return None


def _json_object(data: Any, body: bytes) -> None:
    """A JSON body of a spec route is an object (the document, or the route's model): 400 otherwise."""
    if (data is not None and not isinstance(data, dict)) or (data is None and body.strip() == b"null"):
        raise ValidationError("a JSON body is an object: the OpenAPI document itself, or {content, ...}",
                              field_errors(field_error(["body"], "Input should be an object", "dict_type")))


def _spec_body(ctx: Ctx) -> bytes:
    """The raw body, with the size limit pointing large specs to import-url."""
    from chalicelib.settings import get_settings
    body = ctx.request.raw_body or b""
    limit = get_settings().max_sync_body_bytes
    if len(body) > limit:
        from chalicelib.catalog.loader import IMPORT_URL_HINT
        raise PayloadTooLarge(
            f"the request body is {len(body)} bytes, above the {limit}-byte limit of a synchronous import; "
            f"import large specs with {IMPORT_URL_HINT} (runs as a job)",
            {"size_bytes": len(body), "max_bytes": limit, "use": IMPORT_URL_HINT})
    return body


# ---- templates ---------------------------------------------------------------------------------------

@bp.api("/api/templates", "POST", role="operator", status=201, query=models.TemplateMeta,
        content_types=SPEC_TYPES, document=models.CreateTemplate,
        summary="Store an OpenAPI template: a JSON body {name?, content, ...} or the raw spec as the body")
def create_template(ctx: Ctx):
    from chalicelib.catalog import templates
    body = _spec_body(ctx)
    mtype = media_type(ctx.request)
    meta: models.TemplateMeta = ctx.query
    content: Any = body
    ctype = normalize_content_type(mtype) if mtype != "text/plain" else None
    if mtype == "application/json":
        data = _json_or_none(body)
        _json_object(data, body)
        if isinstance(data, dict) and "content" in data and not ({"openapi", "swagger"} & set(data)):
            from chalicelib.catalog.models import CreateTemplate
            req = cast(CreateTemplate, validate_model(CreateTemplate, data, "body"))
            meta, content, ctype = req, req.content, req.content_type
        elif data is not None:
            ctype = "json"
        else:
            ctype = None
    row = templates.create_template(
        None, content=content, name=meta.name, version=meta.version, description=meta.description,
        category=meta.category, tags=meta.tags, is_public=meta.is_public,
        content_type=meta.content_type or ctype, created_by=_by(ctx))
    return Reply(row, "template created", 201)


@bp.api("/api/templates/import-url", "POST", role="operator", body=models.ImportUrl, status=201,
        summary="Fetch a spec over HTTP(S) through the outbound guard and store it as a template")
def import_url(ctx: Ctx):
    from chalicelib.catalog import templates
    b: models.ImportUrl = ctx.body
    meta = b.model_dump(exclude={"url", "async_", "priority"})
    if b.async_:
        from chalicelib.jobs.routes import submit_for_request
        return submit_for_request(ctx, "catalog.import_url", {"url": b.url, "meta": meta, "created_by": _by(ctx)},
                                  b.priority, "import queued as a job; follow it at GET /api/jobs/{id}")
    return Reply(templates.import_template_from_url(b.url, meta, _by(ctx)), "template imported", 201)


@bp.api("/api/templates", "GET", role="viewer", query=models.TemplateQuery,
        summary="List templates")
def list_templates(ctx: Ctx):
    from chalicelib.catalog import templates
    q: models.TemplateQuery = ctx.query
    items, total = templates.list_templates(None, category=q.category, tag=q.tag, status=q.status,
                                          is_public=q.is_public, text=q.text, limit=q.limit, offset=q.offset)
    return page_of(items, total, q.limit, q.offset)


@bp.api("/api/templates/{template_id}", "GET", role="viewer", query=models.TemplateGetQuery,
        summary="Get a template")
def get_template(ctx: Ctx, template_id: str):
    from chalicelib.catalog import templates
    return templates.get_template(None, uuid_param(template_id, "template_id"), ctx.query.include_content)


@bp.api("/api/templates/{template_id}", "PUT", role="operator", body=models.UpdateTemplate,
        summary="Update a template")
def update_template(ctx: Ctx, template_id: str):
    from chalicelib.catalog import templates
    tid = uuid_param(template_id, "template_id")
    return Reply(templates.update_template(None, tid, ctx.body.model_dump(exclude_unset=True), _by(ctx)),
                 "template updated")


@bp.api("/api/templates/{template_id}", "DELETE", role="operator", summary="Delete a template")
def delete_template(ctx: Ctx, template_id: str):
    from chalicelib.catalog import templates
    return Reply(templates.delete_template(None, uuid_param(template_id, "template_id"), _by(ctx)),
                 "template deleted")


# ---- documents ---------------------------------------------------------------------------------------

def _configs_for_save(values: dict) -> dict:
    """auth_config / rate_limit_config / timeout_config checked by the gateway's
    typed validators (the ones each invoke uses): normalised, or a 400 naming the field."""
    from chalicelib.gateway import configs
    return {k: configs.for_save(k, v) if v is not None else None for k, v in values.items()}


def _auth_check(auth_config: Any, document_id: str, db=None) -> dict:
    """What the spec's security asks for and whether auth_config gives it (warnings, never a refusal)."""
    from chalicelib.gateway import security
    return security.document_check(auth_config, document_id, db)


@bp.api("/api/documents", "POST", role="operator", status=201, query=models.DocumentMeta,
        content_types=SPEC_TYPES, document=models.CreateDocument,
        summary="Import a spec as a document with all its endpoints: a JSON body {template_id | content, ...} "
                "or the raw spec as the body (metadata in the query string)")
def create_document(ctx: Ctx):
    from chalicelib.catalog import documents
    from chalicelib.catalog.models import CreateDocument
    body = _spec_body(ctx)
    mtype = media_type(ctx.request)
    meta: models.DocumentMeta = ctx.query
    req: CreateDocument | None = None
    content: Any = body
    ctype = normalize_content_type(mtype) if mtype != "text/plain" else None
    if mtype == "application/json":
        data = _json_or_none(body, {})
        _json_object(data, body)
        if isinstance(data, dict) and not ({"openapi", "swagger", "swaggerVersion"} & set(data)):
            req = cast(CreateDocument, validate_model(CreateDocument, data, "body"))
        elif data is not None:
            ctype = "json"
        else:
            ctype = None
    if req is None:
        req = CreateDocument.model_validate({
            "content": None, "name": meta.name, "version": meta.version, "description": meta.description,
            "base_url": meta.base_url, "template_id": meta.template_id, "content_type": meta.content_type or ctype,
            "async": meta.async_, "priority": meta.priority})
        if not meta.template_id or body.strip():
            req.template_id = None
        else:
            content = None
    else:
        content = req.content
    b = req
    cfg = _configs_for_save({"auth_config": b.auth_config, "rate_limit_config": b.rate_limit_config,
                             "timeout_config": b.timeout_config})
    if b.async_:
        # The job payload lives in the jobs table: the auth config is sealed.
        from chalicelib.jobs.routes import submit_for_request
        from chalicelib.secrets import get_box
        payload = {"content": content,
                   "template_id": uuid_param(b.template_id, "template_id") if b.template_id else None,
                   "content_type": b.content_type, "name": b.name, "version": b.version,
                   "description": b.description, "base_url": b.base_url,
                   "server_index": b.server_index, "server_url": b.server_url,
                   "server_variables": b.server_variables,
                   "sealed_auth_config": get_box().seal(cfg["auth_config"]),
                   "rate_limit_config": cfg["rate_limit_config"], "timeout_config": cfg["timeout_config"],
                   "created_by": _by(ctx)}
        return submit_for_request(ctx, "catalog.import_document", payload, b.priority or meta.priority,
                                  "import queued as a job; follow it at GET /api/jobs/{id}")
    out = documents.import_document(
        None, content=content, template_id=uuid_param(b.template_id, "template_id") if b.template_id else None,
        content_type=b.content_type, name=b.name, version=b.version, description=b.description,
        base_url=b.base_url, server_index=b.server_index, server_url=b.server_url,
        server_variables=b.server_variables, created_by=_by(ctx), **cfg)
    out["auth_check"] = _auth_check(cfg["auth_config"], out["document"]["id"])
    n = len(out["endpoints"])
    return Reply(out, f"document imported with {n} endpoints"
                      + (f" and {out['warning_count']} warnings" if out["warning_count"] else ""), 201)


@bp.api("/api/documents", "GET", role="viewer", query=models.DocumentQuery,
        summary="List documents (invalid_config=true: those whose stored configurations break a rule, "
                "with their problems)")
def list_documents(ctx: Ctx):
    from chalicelib.catalog import documents
    q: models.DocumentQuery = ctx.query
    if q.invalid_config:
        others = [n for n in ("status", "health_status", "template_id", "text") if getattr(q, n) is not None]
        if others:
            raise ValidationError(f"invalid_config=true lists every such document; it does not combine with "
                                  f"{', '.join(others)}",
                                  field_errors(field_error(["query", n], "not with invalid_config", "conflict")
                                               for n in others))
        from chalicelib.gateway import configs
        items, total = configs.invalid_documents(q.limit, q.offset)
        return page_of(items, total, q.limit, q.offset)
    items, total = documents.list_documents(
        None, status=q.status, health_status=q.health_status, text=q.text,
        template_id=uuid_param(q.template_id, "template_id") if q.template_id else None,
        limit=q.limit, offset=q.offset)
    return page_of(items, total, q.limit, q.offset)


@bp.api("/api/documents/{document_id}", "GET", role="viewer", query=models.DocumentGetQuery,
        summary="Get a document (auth_config masked; include_spec=true adds the parsed spec)")
def get_document(ctx: Ctx, document_id: str):
    from chalicelib.catalog import documents
    return documents.get_document(None, uuid_param(document_id, "document_id"), ctx.query.include_spec)


@bp.api("/api/documents/{document_id}/content", "GET", role="viewer", raw_response=True,
        summary="The document's original spec text, as imported")
def get_document_content(ctx: Ctx, document_id: str):
    from chalice import Response

    from chalicelib.catalog import documents
    text, ctype = documents.get_document_content(None, uuid_param(document_id, "document_id"))
    return Response(text, status_code=200,
                    headers={"Content-Type": "application/json" if ctype == "json" else "application/yaml"})


@bp.api("/api/documents/{document_id}", "PUT", role="operator", body=models.UpdateDocument,
        summary="Update a document")
def update_document(ctx: Ctx, document_id: str):
    from chalicelib.catalog import documents
    changes = ctx.body.model_dump(exclude_unset=True)
    changes.update(_configs_for_save({k: changes[k] for k in ("auth_config", "rate_limit_config", "timeout_config")
                                      if k in changes}))
    from chalicelib.db import get_db
    from chalicelib.gateway import references
    did = uuid_param(document_id, "document_id")
    health_set = "health_check_config" in changes
    health_cfg = changes.pop("health_check_config", None)
    if health_set:
        from chalicelib.schedules import health
        health.validate_config(health_cfg)
    db = get_db()
    with db.transaction():  # the references follow their document in the same transaction
        row = documents.update_document(db, did, changes, _by(ctx),
                                         may_retarget=_is_admin(ctx))
        if health_set:
            row["health_check_config"] = health.set_config(did, health_cfg, db)
        if row.get("status") == "active":
            references.recover(document_id=did, db=db)
    if "auth_config" in changes:
        row["auth_check"] = _auth_check(changes["auth_config"], did, db)
    return Reply(row, "document updated" + (" (auth_config does not cover what the spec asks for: see auth_check)"
                                            if row.get("auth_check", {}).get("warnings") else ""))


@bp.api("/api/documents/{document_id}", "DELETE", role="operator",
        summary="Delete a document with its endpoints and their references")
def delete_document(ctx: Ctx, document_id: str):
    from chalicelib.catalog import documents
    return Reply(documents.delete_document(None, uuid_param(document_id, "document_id"), _by(ctx)),
                 "document deleted")


@bp.api("/api/documents/{document_id}/reimport", "POST", role="operator", body=models.Reimport,
        query=models.ReimportQuery,
        summary="Update a document to a new version of its spec; answers the endpoint diff "
                "(dry_run=true: the diff only, nothing written; mode=overwrite: removed endpoints are deleted)")
def reimport_document(ctx: Ctx, document_id: str):
    from chalicelib.catalog import reimport
    b: models.Reimport = ctx.body
    q: models.ReimportQuery = ctx.query
    out = reimport.reimport_document(
        None, uuid_param(document_id, "document_id"), content=b.content,
        template_id=uuid_param(b.template_id, "template_id") if b.template_id else None,
        content_type=b.content_type, version=b.version, base_url=b.base_url, changed_by=_by(ctx),
        may_retarget=_is_admin(ctx), mode=q.mode, dry_run=q.dry_run)
    c = out["counts"]
    verb = "a re-import would do" if q.dry_run else "re-imported"
    return Reply(out, f"{verb}: {c['added']} added, {c['changed']} changed, {c['removed']} removed, "
                      f"{c['unchanged']} unchanged")


# ---- endpoints ---------------------------------------------------------------------------------------

@bp.api("/api/endpoints", "GET", role="viewer", query=models.EndpointQuery,
        summary="Browse endpoints (api_endpoint_resources view) with filters and sorting")
def list_endpoints(ctx: Ctx):
    from chalicelib.catalog import endpoints
    q: models.EndpointQuery = ctx.query
    items, total = endpoints.list_endpoints(
        None, document_id=uuid_param(q.document_id, "document_id") if q.document_id else None,
        tag=q.tag, method=q.method, status=q.status, text=q.text, sort=q.sort, limit=q.limit, offset=q.offset)
    return page_of(items, total, q.limit, q.offset)


@bp.api("/api/endpoints/{endpoint_id}", "GET", role="viewer", query=models.EndpointGetQuery,
        summary="Get an endpoint with its schemas fully resolved (cycles marked x-circular)")
def get_endpoint(ctx: Ctx, endpoint_id: str):
    from chalicelib.catalog import endpoints
    return endpoints.get_endpoint(None, uuid_param(endpoint_id, "endpoint_id"), ctx.query.resolve)


@bp.api("/api/endpoints/{endpoint_id}", "PATCH", role="operator", body=models.PatchEndpoint,
        summary="Change an endpoint's status, timeout, rate-limit flag or response cache")
def patch_endpoint(ctx: Ctx, endpoint_id: str):
    from chalicelib.catalog import endpoints
    from chalicelib.db import get_db
    from chalicelib.gateway import references
    eid = uuid_param(endpoint_id, "endpoint_id")
    db = get_db()
    with db.transaction():  # the references follow their endpoint in the same transaction
        row = endpoints.patch_endpoint(db, eid, ctx.body.model_dump(exclude_unset=True), _by(ctx))
        if row.get("status") != "inactive":
            references.recover(endpoint_id=eid, db=db)
    return Reply(row, "endpoint updated")


# ---- audit -------------------------------------------------------------------------------------------

@bp.api("/api/audit-logs", "GET", role="operator", query=models.AuditQuery,
        summary="Catalog change history (old and new data, secrets masked)")
def list_audit_logs(ctx: Ctx):
    from chalicelib.catalog import audit
    q: models.AuditQuery = ctx.query
    items, total = audit.list_audit_logs(
        None, table_name=q.table_name, record_id=uuid_param(q.record_id, "record_id") if q.record_id else None,
        operation=q.operation, limit=q.limit, offset=q.offset)
    return page_of(items, total, q.limit, q.offset)
