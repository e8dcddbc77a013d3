"""Gateway routes: invoke, call logs, endpoint statistics, resource references."""
from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.web.api import ApiBlueprint, Ctx, LazyModels, Reply, page_of, uuid_param

if TYPE_CHECKING:
    from chalicelib.gateway import models
else:  # imported on the first request that needs them (cold start)
    models = LazyModels("chalicelib.gateway.models")

# calllogs, references and invoke (upstream auth, HTTP client, schemas) are
# imported inside the views, not with app.py (Lambda cold start).
bp = ApiBlueprint(__name__, tag="gateway")


def _caller(ctx: Ctx) -> tuple[str | None, str | None]:
    return ctx.client_ip, ctx.headers.get("user-agent")


def _key_of(ctx: Ctx) -> str | None:
    """The caller's API key id: part of the response cache's key (one caller never gets another's answer)."""
    return str(ctx.principal.key_id) if ctx.principal else None


@bp.api("/api/endpoints/{endpoint_id}/invoke", "POST", role="operator", body=models.InvokeBody,
        summary="Call an endpoint through the gateway")
def invoke(ctx: Ctx, endpoint_id: str):
    from chalicelib.gateway.invoke import invoke_endpoint
    from chalicelib.gateway.request_builder import InvokeInput
    b: models.InvokeBody = ctx.body
    ip, ua = _caller(ctx)
    result = invoke_endpoint(
        uuid_param(endpoint_id, "endpoint_id"),
        InvokeInput(b.path_params, b.query, b.headers, b.cookies, b.body, b.content_type),
        timeout_ms=b.timeout_ms, client_ip=ip, user_agent=ua, caller_key=_key_of(ctx))
    return Reply(result, f"upstream answered {result['status_code']}", headers=deprecation_headers(result))


def deprecation_headers(result: dict) -> dict:
    """RFC 9745 `Deprecation` (and `Link`) on the answer of a call to a deprecated endpoint."""
    from chalicelib.gateway import deprecation
    return deprecation.headers(result)


@bp.api("/api/endpoints/{endpoint_id}/cache", "DELETE", role="operator",
        summary="Empty an endpoint's response cache (answers how many entries were removed)")
def purge_cache(ctx: Ctx, endpoint_id: str):
    from chalicelib.gateway import response_cache
    result = response_cache.purge(uuid_param(endpoint_id, "endpoint_id"))
    return Reply(result, f"{result['removed']} cached answer(s) removed")


@bp.api("/api/endpoints/{endpoint_id}/stats", "GET", role="viewer", query=models.StatsQuery,
        summary="Call statistics of an endpoint over a window")
def endpoint_stats(ctx: Ctx, endpoint_id: str):
    from chalicelib.gateway import calllogs
    return calllogs.endpoint_stats(uuid_param(endpoint_id, "endpoint_id"), calllogs.parse_window(ctx.query.window))


@bp.api("/api/call-logs", "GET", role="viewer", query=models.CallLogQuery,
        summary="List call logs (default: last 24 h)")
def list_call_logs(ctx: Ctx):
    from chalicelib.gateway import calllogs
    q: models.CallLogQuery = ctx.query
    since, until = calllogs.time_range(q.since, q.until)
    filters = {
        "since": since, "until": until,
        "endpoint_id": uuid_param(q.endpoint_id, "endpoint_id") if q.endpoint_id else None,
        "document_id": uuid_param(q.document_id, "document_id") if q.document_id else None,
        "reference_id": uuid_param(q.reference_id, "reference_id") if q.reference_id else None,
        "status_code": q.status_code, "status_class": q.status_class, "error_type": q.error_type,
        "cache_status": q.cache_status, "deprecated": q.deprecated,
        "limit": q.limit, "offset": q.offset,
    }
    items, total = calllogs.list_logs(filters)
    return page_of(items, total, q.limit, q.offset)


@bp.api("/api/call-logs/{log_id}", "GET", role="viewer", summary="One call log")
def get_call_log(ctx: Ctx, log_id: str):
    from chalicelib.gateway import calllogs
    return calllogs.get_log(uuid_param(log_id, "log_id"))


# ------------------------------------------------------------------ references


@bp.api("/api/references", "POST", role="operator", body=models.CreateReference, status=201,
        summary="Create a resource reference to an endpoint")
def create_reference(ctx: Ctx):
    from chalicelib.gateway import references
    data = ctx.body.model_dump()
    data["resource_id"] = uuid_param(data["resource_id"], "resource_id")
    data["api_endpoint_id"] = uuid_param(data["api_endpoint_id"], "api_endpoint_id")
    created_by = ctx.principal.key_id if ctx.principal else None
    return Reply(references.create(data, created_by=created_by), "reference created", 201)


@bp.api("/api/references", "GET", role="viewer", query=models.ReferenceQuery,
        summary="List resource references")
def list_references(ctx: Ctx):
    from chalicelib.gateway import references
    q: models.ReferenceQuery = ctx.query
    filters = {
        "resource_type": q.resource_type, "status": q.status,
        "resource_id": uuid_param(q.resource_id, "resource_id") if q.resource_id else None,
        "endpoint_id": uuid_param(q.endpoint_id, "endpoint_id") if q.endpoint_id else None,
        "document_id": uuid_param(q.document_id, "document_id") if q.document_id else None,
    }
    items, total = references.list_refs(filters, q.limit, q.offset)
    return page_of(items, total, q.limit, q.offset)


@bp.api("/api/references/stats", "GET", role="viewer", query=models.ReferenceStatsQuery,
        summary="Reference statistics per resource (resource_reference_stats view)")
def reference_stats(ctx: Ctx):
    from chalicelib.gateway import references
    q: models.ReferenceStatsQuery = ctx.query
    filters = {"resource_type": q.resource_type,
               "resource_id": uuid_param(q.resource_id, "resource_id") if q.resource_id else None}
    items, total = references.stats(filters, q.limit, q.offset)
    return page_of(items, total, q.limit, q.offset)


@bp.api("/api/references/{ref_id}", "GET", role="viewer", summary="One resource reference")
def get_reference(ctx: Ctx, ref_id: str):
    from chalicelib.gateway import references
    return references.get(uuid_param(ref_id, "ref_id"))


def _update(ctx: Ctx, ref_id: str):
    from chalicelib.gateway import references
    changes = ctx.body.model_dump(exclude_unset=True)
    for name in ("resource_id", "api_endpoint_id"):
        if changes.get(name):
            changes[name] = uuid_param(changes[name], name)
    return Reply(references.update(uuid_param(ref_id, "ref_id"), changes,
                                   changed_by=ctx.principal.key_id if ctx.principal else None), "reference updated")


@bp.api("/api/references/{ref_id}", "PUT", role="operator", body=models.UpdateReference,
        summary="Update a reference")
def put_reference(ctx: Ctx, ref_id: str):
    return _update(ctx, ref_id)


@bp.api("/api/references/{ref_id}", "PATCH", role="operator", body=models.UpdateReference,
        summary="Update some fields of a reference")
def patch_reference(ctx: Ctx, ref_id: str):
    return _update(ctx, ref_id)


@bp.api("/api/references/{ref_id}", "DELETE", role="operator", summary="Delete a reference")
def delete_reference(ctx: Ctx, ref_id: str):
    from chalicelib.gateway import references
    return Reply(references.delete(uuid_param(ref_id, "ref_id"), changed_by=ctx.principal.key_id if ctx.principal
                                   else None), "reference deleted")


@bp.api("/api/references/{ref_id}/invoke", "POST", role="operator", body=models.InvokeReference,
        summary="Invoke a reference's endpoint with its parameter mapping")
def invoke_reference(ctx: Ctx, ref_id: str):
    from chalicelib.gateway import references
    ip, ua = _caller(ctx)
    result = references.invoke(uuid_param(ref_id, "ref_id"), ctx.body.input, client_ip=ip, user_agent=ua,
                               caller_key=_key_of(ctx))
    return Reply(result, f"upstream answered {result['status_code']}", headers=deprecation_headers(result))
