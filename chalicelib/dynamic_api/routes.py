"""Dynamic SQL API routes:

  /api/connection-pools[/{id}[/test]]            admin
  /api/dynamic-apis[/{id}[/publish|/unpublish|/test|/logs]]   operator (reads: viewer)
  /api/dynamic-api/invoke/{name}                 public route; the definition's permissions decide
  /api/dynamic-api/openapi.json                  public: OpenAPI 3.1 of the APIs the caller may call
"""
from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from chalice import Response

from chalicelib import spans
from chalicelib.errors import AppError, MethodNotAllowed, ValidationError, invalid_input
from chalicelib.web import envelope
from chalicelib.web.api import ApiBlueprint, Ctx, LazyModels, Reply, media_type, page_of, raw_body, uuid_param
from chalicelib.web.auth import identify, require_permissions

if TYPE_CHECKING:
    from chalicelib.dynamic_api import models
    from chalicelib.web import models as web_models
else:  # imported on the first request that needs them (cold start)
    models = LazyModels("chalicelib.dynamic_api.models")
    web_models = LazyModels("chalicelib.web.models")


def _service():
    """The service (engines, drivers, executor) loads on first use: cold start."""
    from chalicelib.dynamic_api import service
    return service


bp = ApiBlueprint(__name__, tag="dynamic-api")

INVOKE_METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH")
INVOKE_CONTENT_TYPES = ["application/json", "application/x-www-form-urlencoded", "text/plain"]


# --------------------------------------------------------------------------- connection pools

@bp.api("/api/connection-pools", "POST", role="admin", body=models.CreatePool, status=201,
        summary="Create a connection pool (password encrypted, never returned)")
def create_pool(ctx: Ctx):
    return Reply(_service().create_pool(ctx.body.model_dump()), "connection pool created", 201)


@bp.api("/api/connection-pools", "GET", role="admin", query=web_models.PageQuery,
        summary="List connection pools")
def list_pools(ctx: Ctx):
    items, total = _service().store.list_pools(ctx.query.limit, ctx.query.offset)
    return page_of(items, total, ctx.query.limit, ctx.query.offset)


@bp.api("/api/connection-pools/{pool_id}", "GET", role="admin", summary="Get a connection pool")
def get_pool(ctx: Ctx, pool_id: str):
    return _service().store.pool_out(_service().store.get_pool_row(uuid_param(pool_id, "pool_id")))


@bp.api("/api/connection-pools/{pool_id}", "PUT", role="admin", body=models.UpdatePool,
        summary="Update a connection pool (its live connections are dropped)")
def update_pool(ctx: Ctx, pool_id: str):
    changes = {k: getattr(ctx.body, k) for k in ctx.body.model_fields_set}
    return Reply(_service().update_pool(uuid_param(pool_id, "pool_id"), changes), "connection pool updated")


@bp.api("/api/connection-pools/{pool_id}", "DELETE", role="admin",
        summary="Delete a connection pool (409 while dynamic APIs use it)")
def delete_pool(ctx: Ctx, pool_id: str):
    return Reply(_service().delete_pool(uuid_param(pool_id, "pool_id")), "connection pool deleted")


@bp.api("/api/connection-pools/{pool_id}/test", "POST", role="admin",
        summary="Connect and run a trivial query; report the time or a CONNECTION_ERROR")
def test_pool(ctx: Ctx, pool_id: str):
    return Reply(_service().test_pool(uuid_param(pool_id, "pool_id")), "connection succeeded")


# --------------------------------------------------------------------------- definitions

def _changes(model) -> dict:
    out = {k: getattr(model, k) for k in model.model_fields_set}
    if "parameters" in out and out["parameters"] is not None:
        out["parameters"] = [p.model_dump() for p in out["parameters"]]
    return out


@bp.api("/api/dynamic-apis", "POST", role="operator", body=models.CreateDefinition, status=201,
        summary="Create a dynamic API (draft) with its parameters; the template is checked")
def create_definition(ctx: Ctx):
    data = ctx.body.model_dump()
    return Reply(_service().create_definition(data, principal=ctx.principal), "dynamic API created", 201)


@bp.api("/api/dynamic-apis", "GET", role="viewer", query=models.DefinitionQuery,
        summary="List dynamic APIs")
def list_definitions(ctx: Ctx):
    q = ctx.query
    items, total = _service().store.list_definitions(q.limit, q.offset, q.status, q.category)
    return page_of(items, total, q.limit, q.offset)


@bp.api("/api/dynamic-apis/{def_id}", "GET", role="viewer",
        summary="Get a dynamic API with parameters and call statistics")
def get_definition(ctx: Ctx, def_id: str):
    return _service().definition_detail(uuid_param(def_id, "def_id"))


@bp.api("/api/dynamic-apis/{def_id}", "PUT", role="operator", body=models.UpdateDefinition,
        summary="Update a dynamic API (fields given; parameters replaced when given)")
def update_definition(ctx: Ctx, def_id: str):
    return Reply(_service().update_definition(uuid_param(def_id, "def_id"), _changes(ctx.body),
                                              principal=ctx.principal),
                 "dynamic API updated")


@bp.api("/api/dynamic-apis/{def_id}", "PATCH", role="operator", body=models.UpdateDefinition,
        summary="Update some fields of a dynamic API")
def patch_definition(ctx: Ctx, def_id: str):
    return Reply(_service().update_definition(uuid_param(def_id, "def_id"), _changes(ctx.body),
                                              principal=ctx.principal),
                 "dynamic API updated")


@bp.api("/api/dynamic-apis/{def_id}", "DELETE", role="operator",
        summary="Delete a dynamic API and its parameters")
def delete_definition(ctx: Ctx, def_id: str):
    return Reply(_service().delete_definition(uuid_param(def_id, "def_id"), principal=ctx.principal),
                 "dynamic API deleted")


@bp.api("/api/dynamic-apis/{def_id}/publish", "POST", role="operator", body=models.PublishBody,
        summary="Publish a dynamic API, optionally setting its permission list")
def publish_definition(ctx: Ctx, def_id: str):
    return Reply(_service().publish(uuid_param(def_id, "def_id"), ctx.body.permissions,
                                      principal=ctx.principal), "dynamic API published")


@bp.api("/api/dynamic-apis/{def_id}/unpublish", "POST", role="operator",
        summary="Take a dynamic API offline")
def unpublish_definition(ctx: Ctx, def_id: str):
    return Reply(_service().unpublish(uuid_param(def_id, "def_id"), principal=ctx.principal),
                 "dynamic API taken offline")


@bp.api("/api/dynamic-apis/{def_id}/test", "POST", role="operator", body=models.TestBody,
        summary="Run a dynamic API (drafts too) in a rolled-back transaction: SQL, bound values, result, "
                "affected rows, duration")
def test_definition(ctx: Ctx, def_id: str):
    return Reply(_service().test_definition(uuid_param(def_id, "def_id"), ctx.body.params,
                                            ctx.principal.key_id if ctx.principal else None,
                                            principal=ctx.principal),
                 "test run finished; its transaction was rolled back")


@bp.api("/api/dynamic-apis/{def_id}/logs", "GET", role="viewer", query=web_models.PageQuery,
        summary="Invocation logs of a dynamic API (sensitive parameters masked)")
def definition_logs(ctx: Ctx, def_id: str):
    items, total = _service().store.list_logs(uuid_param(def_id, "def_id"), ctx.query.limit, ctx.query.offset)
    return page_of(items, total, ctx.query.limit, ctx.query.offset)


# --------------------------------------------------------------------------- invoke

def _form_or_json(request) -> tuple[dict, dict]:
    """(json_object, form_fields) of the request body; either may be empty.

    A refusal of the JSON reader inside one parameter's value (a NUL character)
    names that parameter, as every other refused parameter value does."""
    from chalicelib.web.json_body import parse_json
    body = raw_body(request)
    if not body.strip():
        return {}, {}
    ctype = media_type(request)
    text = body.decode("utf-8", "replace")
    if ctype == "application/x-www-form-urlencoded":
        form = {k: v[0] if len(v) == 1 else v for k, v in parse_qs(text, keep_blank_values=True).items()}
        return {}, form
    try:
        data = parse_json(body)   # the one JSON reader: nesting, NaN/Infinity, NUL, UTF-8 rules
    except ValidationError as exc:
        loc = exc.details["errors"][0]["loc"] if exc.details and "errors" in exc.details else []
        if len(loc) >= 2 and loc[0] == "body":
            raise ValidationError(f"parameter {str(loc[1])!r}: {exc.message}", exc.details) from None
        raise
    if not isinstance(data, dict):
        raise invalid_input(["body"], "the JSON body must be an object of parameter values", "dict_type")
    return data, {}


def gather_inputs(request, specs) -> dict[str, Any]:
    """Each declared parameter from its ParamType; built-ins from the query string or body."""
    query = request.query_params or {}
    headers = request.headers or {}
    body, form = _form_or_json(request) if request.method != "GET" else ({}, {})
    raw: dict[str, Any] = {}

    def from_query(name):
        if name not in query:
            return None
        values = query.getlist(name)
        return values[0] if len(values) == 1 else values

    for spec in specs:
        where = spec.param_type
        if where in ("query", "path"):
            value = from_query(spec.name)
        elif where == "header":
            value = headers.get(spec.name)
        elif where == "body":
            value = body.get(spec.name, form.get(spec.name))
        else:  # form
            value = form.get(spec.name, body.get(spec.name))
        if value is not None:
            raw[spec.name] = value
    for name in ("skipCount", "maxResultCount", "sorting", "page", "pageSize"):
        value = from_query(name)
        if value is None:
            value = body.get(name, form.get(name))
        if value is not None:
            raw[name] = value
    return raw


def _invoke(ctx: Ctx, name: str):
    request = ctx.request
    started = time.perf_counter()
    defn = None
    principal = None
    raw: dict = {}
    try:
        with spans.span("definition"):
            defn = _service().store.load_published(name)
        if request.method != defn.row["http_method"]:
            raise MethodNotAllowed(f"{name} accepts {defn.row['http_method']}, not {request.method}",
                                   {"allowed_methods": [defn.row["http_method"]]},
                                   {"Allow": defn.row["http_method"]})
        principal = identify(request)
        require_permissions(principal, list(defn.row["permissions"] or []))
        with spans.span("inputs"):
            raw = gather_inputs(request, defn.specs)
        outcome = _service().executor.execute(defn, raw)
    except AppError as exc:
        if defn is not None:
            _service().log_invocation(defn, principal, request.method, raw, exc.status,
                                      (time.perf_counter() - started) * 1000.0, None, exc)
        raise
    with spans.span("log write"):
        _service().log_invocation(defn, principal, request.method, raw, 200,
                                  (time.perf_counter() - started) * 1000.0, outcome.row_count, None)
    return Response(outcome.payload, status_code=200, headers={"Content-Type": "application/json"})


for _method in INVOKE_METHODS:
    def _view(ctx: Ctx, name: str):
        return _invoke(ctx, name)
    _view.__name__ = f"invoke_dynamic_api_{_method.lower()}"
    _view.__doc__ = "Invoke a published dynamic API (seed 002 result shapes)"
    bp.api("/api/dynamic-api/invoke/{name}", _method, role=None, content_types=INVOKE_CONTENT_TYPES,
           raw_response=True)(_view)


@bp.api("/api/dynamic-api/openapi.json", "GET", role=None, raw_response=True,
        summary="OpenAPI 3.1 of the published dynamic APIs the caller may call (anonymous: public ones)")
def dynamic_openapi(ctx: Ctx):
    from .openapi_doc import build_dynamic_openapi
    principal = identify(ctx.request)

    def may_call(permissions: list[str]) -> bool:
        try:
            require_permissions(principal, permissions)
        except AppError:
            return False
        return True

    return envelope.json_response(build_dynamic_openapi(may_call, _server_url(ctx.request)))


def _server_url(request) -> str | None:
    """The base URL the caller reached us at (API Gateway stage included)."""
    host = (request.headers or {}).get("host")
    if not host:
        return None
    proto = (request.headers or {}).get("x-forwarded-proto", "https")
    stage = ((request.context or {}).get("stage") or "")
    prefix = f"/{stage}" if stage and stage not in ("api", "$default") else ""
    return f"{proto}://{host}{prefix}"
