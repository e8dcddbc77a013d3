"""The project's own OpenAPI 3.1 description, generated from the registered
routes (`chalicelib.web.api.ROUTES`) and their pydantic models, so it cannot
drift from the code.

It declares what the server enforces, so that a property-based client
(schemathesis, tests/http/test_openapi_fuzz.py) can rely on it: path
parameters by their declared type (RouteMeta.path_params: `uuid`, a positive
64-bit integer, or text), query parameters and JSON bodies from the models
(formats, bounds, enums, required fields, `additionalProperties: false`: the
models refuse unknown fields), the 64-bit integer range
(chalicelib.validation.check_ints) on every integer, and the one error
envelope under each status the route can answer with.
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from chalicelib.errors import DETAILS_SCHEMA
from chalicelib.validation import INT64
from chalicelib.web import versions
from chalicelib.web.api import ROUTES, RouteMeta

if TYPE_CHECKING:
    from pydantic import BaseModel

PATH_SCHEMAS: dict[str, dict[str, Any]] = {
    "uuid": {"type": "string", "format": "uuid"},
    "int": {"type": "integer", "minimum": 1, "maximum": INT64},
    "string": {"type": "string", "minLength": 1},
}

ERROR_SCHEMA = {
    "type": "object",
    "required": ["success", "error", "timestamp", "request_id"],
    "properties": {
        "success": {"const": False},
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {"code": {"type": "string", "pattern": "^[A-Z][A-Z_]*$"}, "message": {"type": "string"},
                           "details": DETAILS_SCHEMA},
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


NUL_FREE = "^[^\\x00]*$"   # no NUL character (chalicelib.web.json_body.refuse_nul: PostgreSQL text)
ANY_JSON = {"$ref": "#/components/schemas/AnyJson"}
# Free-form JSON as the server takes it: no NUL in any string or key, integers within 64 bits.
ANY_JSON_SCHEMA = {"anyOf": [
    {"type": ["null", "boolean"]},
    {"type": "number", "minimum": -INT64, "maximum": INT64},
    {"type": "string", "pattern": NUL_FREE},
    {"type": "array", "items": ANY_JSON},
    {"type": "object", "propertyNames": {"pattern": NUL_FREE}, "additionalProperties": ANY_JSON},
]}
_SUBSCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")


def _exact(schema: Any) -> Any:
    """A model's JSON schema with the rules the server adds to every model: integers (and
    numbers) within 64 bits (chalicelib.validation.check_ints, json_body), no NUL in text,
    and free-form values (`Any`, a bare `dict`) as AnyJson."""
    if not isinstance(schema, dict):
        return schema
    if not ({"type", "$ref", "const", "enum"} | set(_SUBSCHEMA_LISTS)) & set(schema):
        return dict(ANY_JSON, **schema) if schema else dict(ANY_JSON)   # Any
    out = dict(schema)
    for key in ("items", "not"):
        if key in out:
            out[key] = _exact(out[key])
    for key in _SUBSCHEMA_LISTS:
        if key in out:
            out[key] = [_exact(v) for v in out[key]]
    if "properties" in out:
        out["properties"] = {k: _exact(v) for k, v in out["properties"].items()}
    types = out.get("type")
    types = types if isinstance(types, list) else [types]
    if "object" in types:
        extra = out.get("additionalProperties", True if "properties" not in out else None)
        if extra is True or extra == {}:
            out["additionalProperties"] = ANY_JSON
            out.setdefault("propertyNames", {"pattern": NUL_FREE})
        elif isinstance(extra, dict):
            out["additionalProperties"] = _exact(extra)
            out.setdefault("propertyNames", {"pattern": NUL_FREE})
    if "integer" in types or "number" in types:
        out.setdefault("minimum", -INT64)
        out.setdefault("maximum", INT64)
    if "string" in types and not ({"pattern", "format", "enum", "const"} & set(out)):
        out["pattern"] = NUL_FREE
    if "default" in out and out["default"] is None and "type" in out and "null" not in types:
        del out["default"]   # a field that may be left out but not sent as null
    return out


def _model_json(model: type[BaseModel], components: dict) -> dict:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, sub in schema.pop("$defs", {}).items():
        components[name] = _exact(sub)
    return _exact(schema)


def _model_schema(model: type[BaseModel], components: dict) -> dict:
    components[model.__name__] = _model_json(model, components)
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _not_null(schema: dict) -> dict:
    """A query parameter's schema without its `null` alternative (a query string cannot send null)."""
    alts = schema.get("anyOf")
    if isinstance(alts, list):
        kept = [a for a in alts if a.get("type") != "null"]
        if len(kept) != len(alts):
            rest = {k: v for k, v in schema.items() if k not in ("anyOf", "default")}
            out = dict(kept[0], **rest) if len(kept) == 1 else dict(rest, anyOf=kept)
            if schema.get("default") is not None:
                out["default"] = schema["default"]
            return out
    return schema


def _query_params(model: type[BaseModel], components: dict) -> list[dict]:
    schema = _model_json(model, components)
    required = set(schema.get("required", []))
    out = []
    for name, prop in schema.get("properties", {}).items():
        prop = _not_null(prop)
        param: dict[str, Any] = {"name": name, "in": "query", "required": name in required, "schema": prop}
        if prop.get("type") == "array":
            param["style"], param["explode"] = "form", True
        if prop.get("description"):
            param["description"] = prop["description"]
        out.append(param)
    return out


_ENVELOPE = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorEnvelope"}}}
ERROR_DESCRIPTIONS = {
    "400": "invalid input (the message and details name the field)",
    "401": "no API key, or an unknown, revoked or expired one",
    "403": "the key's role may not use this route",
    "404": "no such resource",
    "405": "the path does not answer this method (Allow lists those it does)",
    "406": "an Accept header asking for an API version this server does not serve",
    "408": "the synchronous work exceeded its timeout; use \"async\": true",
    "409": "the request conflicts with the current state",
    "413": "the request body, or the answer, is over the synchronous limit (details say where to go instead)",
    "415": "a body in a media type the route does not take",
    "429": "the key's request quota is exhausted (Retry-After, RateLimit-* headers)",
    "500": "an internal error (quote the request_id)",
    "503": "a dependency (the database) is unavailable; retry after Retry-After",
}


def _error_statuses(meta: RouteMeta) -> list[str]:
    statuses = ["400", "405", "406", "413", "500", "503"]
    if meta.role is not None:
        statuses += ["401", "403", "429"]
    if meta.path_params:
        statuses.append("404")
    if meta.body is not None or meta.document is not None:
        statuses.append("415")
    statuses += [str(s) for s in meta.errors]
    return sorted(set(statuses))


def _operation(meta: RouteMeta, components: dict) -> dict:
    op: dict[str, Any] = {
        "operationId": f"{meta.method.lower()}_{re.sub(r'[^a-zA-Z0-9]+', '_', meta.path).strip('_')}",
        "summary": meta.summary or f"{meta.method} {meta.path}",
        "tags": [meta.tag],
        "parameters": [{"name": p, "in": "path", "required": True, "schema": dict(PATH_SCHEMAS[kind])}
                       for p, kind in meta.path_params.items()],
    }
    if meta.query is not None:
        op["parameters"].extend(_query_params(meta.query, components))
    if meta.body is not None:
        ref = _model_schema(meta.body, components)
        needed = bool(components[meta.body.__name__].get("required"))
        # JSON only: the form encoding the server also takes cannot carry null, numbers or nesting.
        op["requestBody"] = {"required": needed, "content": {"application/json": {"schema": ref}}}
    elif meta.document is not None:
        ref = _model_schema(meta.document, components)
        raw = {"type": "object", "description": "the OpenAPI / Swagger document itself",
               "anyOf": [{"required": ["openapi"]}, {"required": ["swagger"]}]}
        others = ", ".join(ct for ct in meta.content_types if ct != "application/json")
        # One form is described: JSON. The document may also be sent as text (YAML or JSON) in the
        # other media types, which a JSON Schema cannot check before the document is parsed.
        op["requestBody"] = {"required": True, "description": f"also taken as the raw document in: {others}",
                             "content": {"application/json": {"schema": {"anyOf": [ref, raw]}}}}
    if meta.raw_response:
        ok: dict[str, Any] = {"description": "success: the document itself, not wrapped in the envelope"}
    else:
        ok = {"description": "success",
              "content": {"application/json": {"schema": {"$ref": "#/components/schemas/SuccessEnvelope"}}}}
    op["responses"] = {str(meta.status): ok}
    if any(m is not None and "async_" in m.model_fields for m in (meta.body, meta.query, meta.document)):
        op["responses"]["202"] = {"description": "queued as a job (\"async\": true); data is the job",
                                  "content": {"application/json": {
                                      "schema": {"$ref": "#/components/schemas/SuccessEnvelope"}}}}
    for status in _error_statuses(meta):
        op["responses"][status] = {"description": ERROR_DESCRIPTIONS.get(status, "error"), "content": _ENVELOPE}
    op["responses"]["default"] = {"description": "any other error, in the same envelope", "content": _ENVELOPE}
    if meta.role is None:
        op["security"] = []
    else:
        op["x-required-role"] = meta.role
    if meta.deprecated:
        op["deprecated"] = True
        op["x-deprecated-since"], op["x-sunset"] = meta.deprecated.split("/")
    aliases = versions.versioned_paths(meta.path)
    if aliases:
        op["x-also-at"] = aliases
    return op


def build_openapi(version: str, routes: list[RouteMeta] | None = None) -> dict:
    components: dict[str, Any] = {"SuccessEnvelope": SUCCESS_SCHEMA, "ErrorEnvelope": ERROR_SCHEMA,
                                  "AnyJson": ANY_JSON_SCHEMA}
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
