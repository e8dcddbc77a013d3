"""OpenAPI 3.1 description of the published dynamic APIs the caller may call.

An anonymous caller sees the public APIs (empty permission list) only; a
key sees those plus the ones whose permissions it holds, by the same rule
the invoke route applies (the routes pass it in as `may_call`).

Each API is a path `/api/dynamic-api/invoke/{name}` with its one method;
query/header parameters become `parameters`, body/form parameters a request
body (JSON and form-encoded), paging/sorting built-ins query parameters. The
result shape follows seed 002. A non-empty permission list becomes a
security requirement listing the permissions (OAS 3.1 allows role names for
non-OAuth schemes) plus `x-required-permissions`.
"""
from __future__ import annotations

from typing import Any, Callable

from chalicelib.errors import DETAILS_SCHEMA

from . import store
from .params import ParamSpec

_TYPES = {
    "integer": {"type": "integer", "format": "int64"},
    "number": {"type": "number"},
    "string": {"type": "string"},
    "boolean": {"type": "boolean"},
    "date": {"type": "string", "format": "date"},
    "datetime": {"type": "string", "format": "date-time"},
    "uuid": {"type": "string", "format": "uuid"},
}
ERROR_SCHEMA = {"$ref": "#/components/schemas/Error"}


def _schema(spec: ParamSpec) -> dict:
    base: dict[str, Any] = dict(_TYPES.get(spec.data_type, {"type": "string"}))
    if spec.multiple:
        base = {"type": "array", "items": base}
    if spec.default_value is not None:
        base["default"] = _json_default(spec)
    return base


def _json_default(spec: ParamSpec):
    """The default converted to its declared type, as JSON would carry it."""
    import datetime as dt
    import decimal

    from .params import convert_value
    try:
        value = convert_value(spec, spec.default_value)
    except Exception:
        return spec.default_value

    def plain(v):
        if isinstance(v, decimal.Decimal):
            return int(v) if v == v.to_integral_value() else float(v)
        if isinstance(v, (dt.date, dt.datetime)):
            return v.isoformat()
        if not isinstance(v, (str, int, float, bool)) and v is not None:
            return str(v)
        return v
    return [plain(v) for v in value] if isinstance(value, list) else plain(value)


def _operation(d: store.LoadedDefinition) -> dict:
    row = d.row
    params: list[dict] = []
    body_props: dict[str, Any] = {}
    body_required: list[str] = []
    for spec in d.specs:
        if spec.param_type in ("query", "path", "header"):
            p = {"name": spec.name, "in": "header" if spec.param_type == "header" else "query",
                 "required": spec.required, "schema": _schema(spec)}
            if spec.multiple and p["in"] == "query":
                p["style"], p["explode"] = "form", True
            params.append(p)
        else:
            body_props[spec.name] = _schema(spec)
            if spec.required:
                body_required.append(spec.name)
    if row["is_paging"]:
        cap = row["max_page_size"]
        params += [
            {"name": "skipCount", "in": "query", "schema": {"type": "integer", "minimum": 0, "default": 0}},
            {"name": "maxResultCount", "in": "query",
             "schema": {"type": "integer", "minimum": 1, "maximum": cap, "default": min(10, cap)}},
            {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1}},
            {"name": "pageSize", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": cap}},
        ]
    if row["is_sorting"]:
        cols = list(row["sortable_columns"] or [])
        params.append({"name": "sorting", "in": "query",
                       "description": f"comma list of `column [asc|desc]`; columns: {', '.join(cols)}",
                       "schema": {"type": "string", "example": f"{cols[0]} desc" if cols else None,
                                  **({"default": row["default_sorting"]} if row["default_sorting"] else {})}})
    if row["is_multiple_result"] or row["is_paging"]:
        result = {"type": "object", "required": ["totalCount", "items"],
                  "properties": {"totalCount": {"type": "integer"},
                                 "items": {"type": "array", "items": {"type": "object"}}}}
    else:
        result = {"type": "object", "description": "the entity (404 when no row matches)"}
    if row["http_method"] != "GET" and row["script_type"] == "sql" and \
            row["script_template"].lstrip()[:6].upper() in ("INSERT", "UPDATE", "DELETE"):
        result = {"type": "object", "required": ["affectedRows"], "properties": {"affectedRows": {"type": "integer"}}}
    responses: dict[str, Any] = {
        "200": {"description": "result", "content": {"application/json": {"schema": result}}},
        "400": {"description": "invalid parameter", "content": {"application/json": {"schema": ERROR_SCHEMA}}},
        "404": {"description": "not found", "content": {"application/json": {"schema": ERROR_SCHEMA}}},
        "408": {"description": "query timed out", "content": {"application/json": {"schema": ERROR_SCHEMA}}},
        "413": {"description": "result larger than max_rows or the response size limit: page it",
                "content": {"application/json": {"schema": ERROR_SCHEMA}}},
        "422": {"description": "the database refused the query (QUERY_ERROR)",
                "content": {"application/json": {"schema": ERROR_SCHEMA}}},
        "503": {"description": "connection pool busy, or its database unreachable (CONNECTION_ERROR); "
                               "see Retry-After", "content": {"application/json": {"schema": ERROR_SCHEMA}}},
    }
    op: dict[str, Any] = {
        "operationId": "dyn_" + "".join(c if c.isalnum() else "_" for c in row["name"]),
        "summary": row["remark"] or row["name"],
        "tags": [row["category"] or "default"],
        "parameters": params,
        "responses": responses,
    }
    if body_props:
        schema = {"type": "object", "properties": body_props}
        if body_required:
            schema["required"] = body_required
        op["requestBody"] = {"required": bool(body_required), "content": {
            "application/json": {"schema": schema},
            "application/x-www-form-urlencoded": {"schema": schema}}}
    perms = list(row["permissions"] or [])
    if perms:
        op["security"] = [{"bearerAuth": perms}, {"apiKeyAuth": perms}]
        op["x-required-permissions"] = perms
        responses["401"] = {"description": "API key missing or invalid",
                            "content": {"application/json": {"schema": ERROR_SCHEMA}}}
        responses["403"] = {"description": "key lacks a permission",
                            "content": {"application/json": {"schema": ERROR_SCHEMA}}}
    else:
        op["security"] = []
    return op


def build_dynamic_openapi(may_call: Callable[[list[str]], bool], server_url: str | None = None) -> dict:
    """The description of the published APIs whose permission list `may_call` admits."""
    from chalicelib.settings import get_settings
    paths: dict[str, Any] = {}
    for d in store.published_definitions():
        if not may_call(list(d.row["permissions"] or [])):
            continue
        paths[f"/api/dynamic-api/invoke/{d.row['name']}"] = {d.row["http_method"].lower(): _operation(d)}
    servers = [{"url": server_url}] if server_url else []
    doc: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": "StepFlow dynamic APIs", "version": get_settings().app_version,
                 "description": "Published SQL-template APIs (seed 002)."},
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer"},
                "apiKeyAuth": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
            },
            "schemas": {"Error": {"type": "object", "required": ["success", "error"], "properties": {
                "success": {"type": "boolean", "const": False},
                "error": {"type": "object", "required": ["code", "message"], "properties": {
                    "code": {"type": "string"}, "message": {"type": "string"}, "details": DETAILS_SCHEMA}},
                "timestamp": {"type": "string"}, "request_id": {"type": "string"}}}},
        },
    }
    if servers:
        doc["servers"] = servers
    return doc
