"""Import warnings for schemas the gateway cannot check.

A spec may declare schemas that are not valid JSON Schema (httpbin declares
`type: int`; others give a `pattern` that does not compile or a `required`
that is not a list). The import keeps such specs and stores one warning per
schema problem with its pointer; on invoke the gateway treats a schema it
cannot check as unchecked (chalicelib.gateway.schemas.problems).

`lint(spec, endpoints, problems)` walks components/schemas once and each
endpoint's inline parameter and request-body schemas (`$ref`s are not
followed: what they point at is linted where it is defined). Iterative, and
bounded by the number of nodes in the spec.
"""
from __future__ import annotations

import re
from typing import Any

from chalicelib.catalog.problems import Problems, escape_token

TYPES = frozenset({"integer", "number", "string", "boolean", "array", "object", "null"})
_SUBSCHEMA_MAPS = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")
_SUBSCHEMAS = ("items", "additionalProperties", "not", "contains", "propertyNames", "if", "then", "else",
               "unevaluatedProperties", "unevaluatedItems", "additionalItems")
_SUBSCHEMA_LISTS = ("allOf", "anyOf", "oneOf", "prefixItems")
_NUMERIC = ("minimum", "maximum", "multipleOf", "minLength", "maxLength", "minItems", "maxItems",
            "minProperties", "maxProperties")
UNCHECKED = "; values here are not checked on invoke"


def _type_problem(value: Any) -> str | None:
    names = value if isinstance(value, list) else [value]
    bad = [n for n in names if not isinstance(n, str) or n not in TYPES]
    if bad:
        return (f"type {bad[0]!r} is not a JSON Schema type (integer, number, string, boolean, array, object, "
                f"null){UNCHECKED}")
    return None


def _node_problems(node: dict) -> list[tuple[str, str]]:
    found = []
    if "type" in node:
        msg = _type_problem(node["type"])
        if msg:
            found.append(("type", msg))
    if "required" in node and not isinstance(node["required"], (list, bool)):
        found.append(("required", f"required must be a list of property names{UNCHECKED}"))
    if "enum" in node and not isinstance(node["enum"], list):
        found.append(("enum", f"enum must be a list{UNCHECKED}"))
    if "pattern" in node:
        try:
            re.compile(str(node["pattern"]))
        except (re.error, RecursionError, OverflowError):
            found.append(("pattern", f"pattern {str(node['pattern'])[:80]!r} is not a valid regular expression"
                                     f"{UNCHECKED}"))
    for key in _NUMERIC:
        v = node.get(key)
        if key in node and (isinstance(v, bool) or not isinstance(v, (int, float))):
            found.append((key, f"{key} must be a number, found {type(v).__name__}{UNCHECKED}"))
    return found


def lint_schema(schema: Any, ptr: str, problems: Problems, seen: set[int]) -> None:
    stack = [(schema, ptr)]
    while stack:
        node, at = stack.pop()
        if not isinstance(node, dict) or id(node) in seen:
            continue
        seen.add(id(node))
        if "$ref" in node:
            continue
        for key, msg in _node_problems(node):
            problems.warn(f"{at}/{escape_token(key)}", msg)
        for key in _SUBSCHEMA_MAPS:
            sub = node.get(key)
            if isinstance(sub, dict):
                stack.extend((v, f"{at}/{key}/{escape_token(k)}") for k, v in sub.items())
        for key in _SUBSCHEMAS:
            if isinstance(node.get(key), dict):
                stack.append((node[key], f"{at}/{key}"))
        for key in _SUBSCHEMA_LISTS:
            sub = node.get(key)
            if isinstance(sub, list):
                stack.extend((v, f"{at}/{key}/{i}") for i, v in enumerate(sub))


def lint(spec: dict, endpoints: list[dict], problems: Problems) -> None:
    seen: set[int] = set()
    components = spec.get("components")
    schemas = components.get("schemas") if isinstance(components, dict) else None
    if isinstance(schemas, dict):
        for name, schema in schemas.items():
            lint_schema(schema, f"/components/schemas/{escape_token(name)}", problems, seen)
    for ep in endpoints:
        base = ep.get("pointer") or ""
        for p in ep.get("parameters") or ():
            if isinstance(p, dict) and isinstance(p.get("schema"), dict):
                lint_schema(p["schema"], f"{base}/parameters/{escape_token(p.get('name'))}/schema", problems, seen)
        body = ep.get("request_body_schema")
        content = body.get("content") if isinstance(body, dict) else None
        if isinstance(content, dict):
            for mt, media in content.items():
                if isinstance(media, dict) and isinstance(media.get("schema"), dict):
                    lint_schema(media["schema"], f"{base}/requestBody/content/{escape_token(mt)}/schema",
                                problems, seen)
