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
_NUMERIC_KEYS = frozenset(_NUMERIC)
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
        kind = node["type"]
        msg = None if kind.__class__ is str and kind in TYPES else _type_problem(kind)
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
    if _NUMERIC_KEYS.isdisjoint(node):
        return found
    for key in _NUMERIC:
        v = node.get(key)
        if key in node and (isinstance(v, bool) or not isinstance(v, (int, float))):
            found.append((key, f"{key} must be a number, found {type(v).__name__}{UNCHECKED}"))
    return found


_PROBLEM_KEYS = frozenset(("type", "required", "enum", "pattern") + _NUMERIC)  # what _node_problems reads
_SUB_KEYS = frozenset(_SUBSCHEMA_MAPS + _SUBSCHEMAS + _SUBSCHEMA_LISTS)


def _entry_pointer(entry) -> str:
    """The pointer of a stack entry (node, parent entry, key, name): built only for a warning."""
    parts = []
    while entry[1] is not None:
        _, parent, key, name = entry
        parts.append(key if name is None else f"{key}/{escape_token(name)}")
        entry = parent
    return entry[2] + "".join("/" + p for p in reversed(parts))


def lint_schema(schema: Any, ptr: str, problems: Problems, seen: set[int]) -> None:
    # entries: (node, parent entry, key, name or index); pointers are built only on a warning
    stack: list[tuple] = [(schema, None, ptr, None)]
    while stack:
        entry = stack.pop()
        node = entry[0]
        if not isinstance(node, dict) or id(node) in seen:
            continue
        seen.add(id(node))
        if "$ref" in node:
            continue
        if not _PROBLEM_KEYS.isdisjoint(node):
            found = _node_problems(node)
            if found:
                at = _entry_pointer(entry)
                for key, msg in found:
                    problems.warn(f"{at}/{escape_token(key)}", msg)
        if _SUB_KEYS.isdisjoint(node):
            continue
        for key in _SUBSCHEMA_MAPS:
            sub = node.get(key)
            if isinstance(sub, dict):
                stack.extend((v, entry, key, k) for k, v in sub.items())
        for key in _SUBSCHEMAS:
            if isinstance(node.get(key), dict):
                stack.append((node[key], entry, key, None))
        for key in _SUBSCHEMA_LISTS:
            sub = node.get(key)
            if isinstance(sub, list):
                stack.extend((v, entry, key, i) for i, v in enumerate(sub))


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
