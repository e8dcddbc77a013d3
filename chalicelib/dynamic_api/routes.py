"""Dynamic SQL API routes (issue 6):

  /api/connection-pools[/{id}[/test]]            admin
  /api/dynamic-apis[/{id}[/publish|/unpublish|/test|/logs]]   operator (reads: viewer)
  /api/dynamic-api/invoke/{name}                 public route; the definition's permissions decide
  /api/dynamic-api/openapi.json                  public: OpenAPI 3.1 of every published API
"""
from __future__ import annotations

import json
import time
from typing import Any, Literal
from urllib.parse import parse_qs

from pydantic import Field

from chalicelib.web import envelope
from chalicelib.web.api import ApiBlueprint, Ctx, PageQuery, Reply, media_type, page_of, raw_body, uuid_param
from chalicelib.web.auth import identify, require_permissions
from chalicelib.web.errors import AppError, MethodNotAllowed, ValidationError
from chalicelib.web.models import StrictModel



def _service():
    """The service (engines, drivers, executor) loads on first use: cold start."""
    from chalicelib.dynamic_api import service
    return service

bp = ApiBlueprint(__name__, tag="dynamic-api")

INVOKE_METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH")
INVOKE_CONTENT_TYPES = ["application/json", "application/x-www-form-urlencoded", "text/plain"]


# --------------------------------------------------------------------------- connection pools

class CreatePool(StrictModel):
    display_text: str = Field(..., min_length=1, max_length=64)
    connection_string: str | None = Field(None, max_length=256)
    db_type: str = Field(..., max_length=64, description="postgresql or mysql")
    host: str = Field(..., min_length=1, max_length=100)
    port: int = Field(..., ge=1, le=65535)
    username: str | None = Field(None, max_length=32)
    password: str | None = Field(None, max_length=128, description="stored encrypted, never returned")
    database: str = Field(..., min_length=1, max_length=128)
    is_active: bool = True
    pool_size: int = Field(5, ge=1, le=100)
    max_concurrency: int = Field(10, ge=1, le=1000)
    remark: str | None = None


class UpdatePool(StrictModel):
    display_text: str | None = Field(None, min_length=1, max_length=64)
    connection_string: str | None = Field(None, max_length=256)
    db_type: str | None = Field(None, max_length=64)
    host: str | None = Field(None, min_length=1, max_length=100)
    port: int | None = Field(None, ge=1, le=65535)
    username: str | None = Field(None, max_length=32)
    password: str | None = Field(None, max_length=128, description="'********' or absent keeps the stored one")
    database: str | None = Field(None, min_length=1, max_length=128)
    is_active: bool | None = None
    pool_size: int | None = Field(None, ge=1, le=100)
    max_concurrency: int | None = Field(None, ge=1, le=1000)
    remark: str | None = None


@bp.api("/api/connection-pools", "POST", role="admin", body=CreatePool, status=201,
        summary="Create a connection pool (password encrypted, never returned)")
def create_pool(ctx: Ctx):
    return Reply(_service().create_pool(ctx.body.model_dump()), "connection pool created", 201)


@bp.api("/api/connection-pools", "GET", role="admin", query=PageQuery, summary="List connection pools")
def list_pools(ctx: Ctx):
    items, total = _service().store.list_pools(ctx.query.limit, ctx.query.offset)
    return page_of(items, total, ctx.query.limit, ctx.query.offset)


@bp.api("/api/connection-pools/{pool_id}", "GET", role="admin", summary="Get a connection pool")
def get_pool(ctx: Ctx, pool_id: str):
    return _service().store.pool_out(_service().store.get_pool_row(uuid_param(pool_id, "pool_id")))


@bp.api("/api/connection-pools/{pool_id}", "PUT", role="admin", body=UpdatePool,
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

class ParameterIn(StrictModel):
    name: str = Field(..., min_length=1, max_length=64)
    display_text: str | None = Field(None, max_length=128)
    data_type: str = Field("string", max_length=32)
    param_type: str = Field("query", max_length=32)
    multiple: bool = False
    required: bool = False
    default_value: Any = None
    sensitive: bool = False
    rank: int | None = None


class CreateDefinition(StrictModel):
    name: str = Field(..., min_length=1, max_length=64)
    category: str = Field("default", max_length=32)
    connection_pool_id: str
    http_method: str = Field("GET", max_length=10)
    script_template: str = Field(..., min_length=1, max_length=65536)
    script_type: str = Field("sql", max_length=16)
    template_engine: str = Field("liquid", max_length=32)
    is_multiple_result: bool | None = None
    is_paging: bool = False
    is_sorting: bool = False
    permissions: list[str] = Field(default_factory=list)
    rank: int = 0
    remark: str | None = None
    sortable_columns: list[str] = Field(default_factory=list)
    default_sorting: str | None = Field(None, max_length=256)
    max_page_size: int = Field(100, ge=1, le=10000)
    timeout_ms: int = Field(10000, ge=1, le=300000)
    parameters: list[ParameterIn] = Field(default_factory=list)


class UpdateDefinition(StrictModel):
    name: str | None = Field(None, min_length=1, max_length=64)
    category: str | None = Field(None, max_length=32)
    connection_pool_id: str | None = None
    http_method: str | None = Field(None, max_length=10)
    script_template: str | None = Field(None, min_length=1, max_length=65536)
    script_type: str | None = Field(None, max_length=16)
    template_engine: str | None = Field(None, max_length=32)
    is_multiple_result: bool | None = None
    is_paging: bool | None = None
    is_sorting: bool | None = None
    permissions: list[str] | None = None
    rank: int | None = None
    remark: str | None = None
    sortable_columns: list[str] | None = None
    default_sorting: str | None = Field(None, max_length=256)
    max_page_size: int | None = Field(None, ge=1, le=10000)
    timeout_ms: int | None = Field(None, ge=1, le=300000)
    parameters: list[ParameterIn] | None = None


class DefinitionQuery(PageQuery):
    status: Literal["draft", "published", "offline"] | None = None
    category: str | None = None


class PublishBody(StrictModel):
    permissions: list[str] | None = Field(None, description="replaces the permission list; empty = public")


class TestBody(StrictModel):
    params: dict[str, Any] = Field(default_factory=dict)


def _changes(model) -> dict:
    out = {k: getattr(model, k) for k in model.model_fields_set}
    if "parameters" in out and out["parameters"] is not None:
        out["parameters"] = [p.model_dump() for p in out["parameters"]]
    return out


@bp.api("/api/dynamic-apis", "POST", role="operator", body=CreateDefinition, status=201,
        summary="Create a dynamic API (draft) with its parameters; the template is checked")
def create_definition(ctx: Ctx):
    data = ctx.body.model_dump()
    return Reply(_service().create_definition(data), "dynamic API created", 201)


@bp.api("/api/dynamic-apis", "GET", role="viewer", query=DefinitionQuery, summary="List dynamic APIs")
def list_definitions(ctx: Ctx):
    q = ctx.query
    items, total = _service().store.list_definitions(q.limit, q.offset, q.status, q.category)
    return page_of(items, total, q.limit, q.offset)


@bp.api("/api/dynamic-apis/{def_id}", "GET", role="viewer",
        summary="Get a dynamic API with parameters and call statistics")
def get_definition(ctx: Ctx, def_id: str):
    return _service().definition_detail(uuid_param(def_id, "def_id"))


@bp.api("/api/dynamic-apis/{def_id}", "PUT", role="operator", body=UpdateDefinition,
        summary="Update a dynamic API (fields given; parameters replaced when given)")
def update_definition(ctx: Ctx, def_id: str):
    return Reply(_service().update_definition(uuid_param(def_id, "def_id"), _changes(ctx.body)),
                 "dynamic API updated")


@bp.api("/api/dynamic-apis/{def_id}", "PATCH", role="operator", body=UpdateDefinition,
        summary="Update some fields of a dynamic API")
def patch_definition(ctx: Ctx, def_id: str):
    return Reply(_service().update_definition(uuid_param(def_id, "def_id"), _changes(ctx.body)),
                 "dynamic API updated")


@bp.api("/api/dynamic-apis/{def_id}", "DELETE", role="operator",
        summary="Delete a dynamic API and its parameters")
def delete_definition(ctx: Ctx, def_id: str):
    return Reply(_service().delete_definition(uuid_param(def_id, "def_id")), "dynamic API deleted")


@bp.api("/api/dynamic-apis/{def_id}/publish", "POST", role="operator", body=PublishBody,
        summary="Publish a dynamic API, optionally setting its permission list")
def publish_definition(ctx: Ctx, def_id: str):
    return Reply(_service().publish(uuid_param(def_id, "def_id"), ctx.body.permissions), "dynamic API published")


@bp.api("/api/dynamic-apis/{def_id}/unpublish", "POST", role="operator",
        summary="Take a dynamic API offline")
def unpublish_definition(ctx: Ctx, def_id: str):
    return Reply(_service().unpublish(uuid_param(def_id, "def_id")), "dynamic API taken offline")


@bp.api("/api/dynamic-apis/{def_id}/test", "POST", role="operator", body=TestBody,
        summary="Run a dynamic API (drafts too) and show the SQL, bound values, result and duration")
def test_definition(ctx: Ctx, def_id: str):
    return Reply(_service().test_definition(uuid_param(def_id, "def_id"), ctx.body.params,
                                         ctx.principal.key_id), "test run finished")


@bp.api("/api/dynamic-apis/{def_id}/logs", "GET", role="viewer", query=PageQuery,
        summary="Invocation logs of a dynamic API (sensitive parameters masked)")
def definition_logs(ctx: Ctx, def_id: str):
    items, total = _service().store.list_logs(uuid_param(def_id, "def_id"), ctx.query.limit, ctx.query.offset)
    return page_of(items, total, ctx.query.limit, ctx.query.offset)


# --------------------------------------------------------------------------- invoke

def _form_or_json(request) -> tuple[dict, dict]:
    """(json_object, form_fields) of the request body; either may be empty."""
    body = raw_body(request)
    if not body.strip():
        return {}, {}
    ctype = media_type(request)
    text = body.decode("utf-8", "replace")
    if ctype == "application/x-www-form-urlencoded":
        form = {k: v[0] if len(v) == 1 else v for k, v in parse_qs(text, keep_blank_values=True).items()}
        return {}, form
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationError(f"malformed JSON body: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    if not isinstance(data, dict):
        raise ValidationError("the JSON body must be an object of parameter values")
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
        defn = _service().store.load_published(name)
        if request.method != defn.row["http_method"]:
            raise MethodNotAllowed(f"{name} accepts {defn.row['http_method']}, not {request.method}",
                                   {"allowed_methods": [defn.row["http_method"]]},
                                   {"Allow": defn.row["http_method"]})
        principal = identify(request)
        require_permissions(principal, list(defn.row["permissions"] or []))
        raw = gather_inputs(request, defn.specs)
        outcome = _service().executor.execute(defn, raw)
    except AppError as exc:
        if defn is not None:
            _service().log_invocation(defn, principal, request.method, raw, exc.status,
                                   (time.perf_counter() - started) * 1000.0, None, exc)
        raise
    _service().log_invocation(defn, principal, request.method, raw, 200,
                           (time.perf_counter() - started) * 1000.0, outcome.row_count, None)
    return envelope.json_response(outcome.body, 200)


for _method in INVOKE_METHODS:
    def _view(ctx: Ctx, name: str):
        return _invoke(ctx, name)
    _view.__name__ = f"invoke_dynamic_api_{_method.lower()}"
    _view.__doc__ = "Invoke a published dynamic API (seed 002 result shapes)"
    bp.api("/api/dynamic-api/invoke/{name}", _method, role=None, content_types=INVOKE_CONTENT_TYPES,
           raw_response=True)(_view)


@bp.api("/api/dynamic-api/openapi.json", "GET", role=None, raw_response=True,
        summary="OpenAPI 3.1 description of every published dynamic API (any valid key)")
def dynamic_openapi(ctx: Ctx):
    from .openapi_doc import build_dynamic_openapi
    return envelope.json_response(build_dynamic_openapi(ctx.request))
