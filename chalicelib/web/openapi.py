"""The project's own OpenAPI 3.1 description, generated from the registered
routes (`chalicelib.web.api.ROUTES`) and their pydantic models, so it cannot
drift from the code."""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from chalicelib.errors import DETAILS_SCHEMA
from chalicelib.web import versions
from chalicelib.web.api import ROUTES, RouteMeta

if TYPE_CHECKING:
    from pydantic import BaseModel

_PATH_PARAM = re.compile(r"{([^}]+)}")

ERROR_SCHEMA = {
    "type": "object",
    "required": ["success", "error", "timestamp", "request_id"],
    "properties": {
        "success": {"const": False},
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}, "details": DETAILS_SCHEMA},
        },
        "timestamp": {"type": "string", "format": "date-time"},
        "request_id": {"type": "string"},
    },
}
SUCCESS_SCHEMA = {
    "type": "object",
    "required": ["success", "data", "timestamp", "request_id"],
    "properties": {
        "success": {"const": True},
        "data": {},
        "message": {"type": "string"},
        "timestamp": {"type": "string", "format": "date-time"},
        "request_id": {"type": "string"},
    },
}


def _model_schema(model: type[BaseModel], components: dict) -> dict:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, sub in schema.pop("$defs", {}).items():
        components[name] = sub
    components[model.__name__] = schema
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _query_params(model: type[BaseModel], components: dict) -> list[dict]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, sub in schema.pop("$defs", {}).items():
        components[name] = sub
    required = set(schema.get("required", []))
    out = []
    for name, prop in schema.get("properties", {}).items():
        param = {"name": name, "in": "query", "required": name in required, "schema": prop}
        if prop.get("description"):
            param["description"] = prop["description"]
        out.append(param)
    return out


def _operation(meta: RouteMeta, components: dict) -> dict:
    op: dict[str, Any] = {
        "operationId": f"{meta.method.lower()}_{re.sub(r'[^a-zA-Z0-9]+', '_', meta.path).strip('_')}",
        "summary": meta.summary or f"{meta.method} {meta.path}",
        "tags": [meta.tag],
        "parameters": [{"name": p, "in": "path", "required": True, "schema": {"type": "string"}}
                       for p in _PATH_PARAM.findall(meta.path)],
    }
    if meta.query is not None:
        op["parameters"].extend(_query_params(meta.query, components))
    if meta.body is not None:
        ref = _model_schema(meta.body, components)
        op["requestBody"] = {"required": True, "content": {ct: {"schema": ref} for ct in meta.content_types
                                                           if "json" in ct or "form" in ct}}
    if meta.raw_response:
        ok: dict[str, Any] = {"description": "success: the document itself, not wrapped in the envelope"}
    else:
        ok = {"description": "success",
              "content": {"application/json": {"schema": {"$ref": "#/components/schemas/SuccessEnvelope"}}}}
    err = {"description": "error",
           "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorEnvelope"}}}}
    op["responses"] = {str(meta.status): ok, "400": err, "406": err, "default": err}
    if meta.role is None:
        op["security"] = []
    else:
        op["responses"]["401"] = err
        op["responses"]["403"] = err
        op["responses"]["429"] = err
        op["x-required-role"] = meta.role
    if meta.deprecated:
        op["deprecated"] = True
        op["x-sunset"] = meta.deprecated
    aliases = versions.versioned_paths(meta.path)
    if aliases:
        op["x-also-at"] = aliases
    return op


def build_openapi(version: str, routes: list[RouteMeta] | None = None) -> dict:
    components: dict[str, Any] = {"SuccessEnvelope": SUCCESS_SCHEMA, "ErrorEnvelope": ERROR_SCHEMA}
    paths: dict[str, dict] = {}
    for meta in sorted(routes if routes is not None else ROUTES, key=lambda m: (m.path, m.method)):
        paths.setdefault(meta.path, {})[meta.method.lower()] = _operation(meta, components)
    return {
        "openapi": "3.1.0",
        "info": {"title": "StepFlow Gateway management API", "version": version,
                 "description": "Errors use the envelope in ErrorEnvelope. Roles: viewer < operator < admin. "
                                "API version v1: every /api/... path also answers at /api/v1/... (x-also-at), "
                                "and `Accept: application/vnd.stepflow.v1+json` selects v1; answers carry "
                                "API-Version. Keys have request quotas (429 with RateLimit-* headers).",
                 "x-api-version": versions.CURRENT, "x-api-versions": list(versions.SUPPORTED)},
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "bearerKey": {"type": "http", "scheme": "bearer"},
                "apiKeyHeader": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
            },
        },
        "security": [{"bearerKey": []}, {"apiKeyHeader": []}],
    }
