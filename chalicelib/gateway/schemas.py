"""OpenAPI schemas as JSON Schema, and checking invoke inputs against them.

OpenAPI 3.0 schemas are a JSON Schema dialect: `nullable: true` (and Swagger's
`x-nullable`) widen the type to include null; boolean `exclusiveMinimum` /
`exclusiveMaximum` become the numeric 2020-12 form; `readOnly` properties are
not required in requests. OpenAPI 3.1 schemas are JSON Schema 2020-12 already
and pass through unchanged (the conversion above only touches 3.0 keywords).
Endpoints are stored with their `$ref`s (the catalog never expands them), so
a schema is validated together with the document's converted
`components`: `#/components/...` references resolve inside the same root;
one that cannot be resolved makes that one check pass rather than block the
call, and so does a schema that is not valid JSON Schema (`type: int`).

Numeric formats are checked too (JSON Schema leaves them to the spec's
reader): `int32` and `int64` bound an integer to its signed range, `float`
to IEEE single precision's finite range, `double` to a finite value; an
out-of-range value is a `format` problem saying the bound ("must be <=
2147483647"), so nothing out of range is ever sent.

Validators are cached per container by a caller-supplied key (endpoint and
document versions) or by the schema's JSON text.
"""
from __future__ import annotations

import json
import re
import threading
from typing import Any

from chalicelib.errors import field_error

_OAS_ONLY = ("discriminator", "xml", "externalDocs", "example", "x-nullable", "nullable")


def to_json_schema(schema: Any, *, request: bool = True) -> Any:
    """A JSON Schema 2020-12 equivalent of an OpenAPI schema object."""
    if isinstance(schema, list):
        return [to_json_schema(s, request=request) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in _OAS_ONLY or key.startswith("x-"):
            continue
        if key in ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas"):
            out[key] = ({k: to_json_schema(v, request=request) for k, v in value.items()}
                        if isinstance(value, dict) else value)
        elif key in ("items", "additionalProperties", "not", "contains", "propertyNames", "if", "then", "else",
                     "unevaluatedProperties", "unevaluatedItems", "additionalItems"):
            out[key] = to_json_schema(value, request=request)
        elif key in ("allOf", "anyOf", "oneOf", "prefixItems"):
            out[key] = [to_json_schema(v, request=request) for v in value] if isinstance(value, list) else value
        else:
            out[key] = value
    for bound, plain in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        if isinstance(out.get(bound), bool):
            if out[bound] and plain in out:
                out[bound] = out.pop(plain)
            else:
                del out[bound]
    if request and isinstance(out.get("required"), list) and isinstance(out.get("properties"), dict):
        read_only = {k for k, v in out["properties"].items() if isinstance(v, dict) and v.get("readOnly")}
        if read_only:
            out["required"] = [r for r in out["required"] if r not in read_only]
    if schema.get("nullable") is True or schema.get("x-nullable") is True:
        t = out.get("type")
        if isinstance(t, str):
            out["type"] = [t, "null"]
        elif isinstance(t, list):
            if "null" not in t:
                out["type"] = t + ["null"]
        else:
            out = {"anyOf": [out, {"type": "null"}]}
            return out
        if isinstance(out.get("enum"), list) and None not in out["enum"]:
            out["enum"] = out["enum"] + [None]
    return out


def convert_components(components: Any) -> dict:
    """A spec's `components` with every schema converted (see to_json_schema)."""
    if not isinstance(components, dict):
        return {}
    out = dict(components)
    if isinstance(components.get("schemas"), dict):
        out["schemas"] = {k: to_json_schema(v) for k, v in components["schemas"].items()}
    for section in ("parameters", "headers"):
        if isinstance(components.get(section), dict):
            out[section] = {
                k: ({**v, "schema": to_json_schema(v["schema"])}
                    if isinstance(v, dict) and isinstance(v.get("schema"), dict) else v)
                for k, v in components[section].items()
            }
    return out


# format -> (lowest, highest, integers only)
NUMERIC_FORMATS: dict[str, tuple[float, float, bool]] = {
    "int32": (-(2 ** 31), 2 ** 31 - 1, True),
    "int64": (-(2 ** 63), 2 ** 63 - 1, True),
    "float": (-3.4028234663852886e38, 3.4028234663852886e38, False),
    "double": (-1.7976931348623157e308, 1.7976931348623157e308, False),
}


def numeric_format_problem(fmt: Any, value: Any) -> str | None:
    """Why `value` breaks numeric format `fmt`, or None (other formats, non-numbers: None)."""
    bounds = NUMERIC_FORMATS.get(fmt) if isinstance(fmt, str) else None
    if bounds is None or isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    low, high, integral = bounds
    if isinstance(value, float) and value != value:
        return f"must be a number ({fmt})"
    if integral and isinstance(value, float) and not value.is_integer():
        return f"must be an integer ({fmt})"
    if value > high:
        return f"must be <= {high:.17g} ({fmt})" if not integral else f"must be <= {high} ({fmt})"
    if value < low:
        return f"must be >= {low:.17g} ({fmt})" if not integral else f"must be >= {low} ({fmt})"
    return None


_validator_class: Any = None


def _validator_cls():
    """Draft 2020-12 with the numeric formats checked by the `format` keyword."""
    global _validator_class
    if _validator_class is None:
        from jsonschema import Draft202012Validator, ValidationError, validators

        plain_format = Draft202012Validator.VALIDATORS["format"]

        def format_(validator, fmt, instance, schema):
            why = numeric_format_problem(fmt, instance)
            if why is not None:
                yield ValidationError(why)
            elif fmt not in NUMERIC_FORMATS:
                yield from plain_format(validator, fmt, instance, schema)

        _validator_class = validators.extend(Draft202012Validator, {"format": format_})
    return _validator_class


_cache: dict[Any, Any] = {}
_cache_lock = threading.Lock()
_CACHE_MAX = 4096


def validator_for(schema: Any, components: dict | None = None, key: Any = None):
    """A cached jsonschema validator (2020-12, formats checked). `components`
    are already converted; `key` (hashable) replaces the JSON-text cache key."""
    if key is None:
        key = (json.dumps(schema, sort_keys=True, default=str), id(components) if components else None)
    v = _cache.get(key)
    if v is None:
        from jsonschema import Draft202012Validator

        root = to_json_schema(schema)
        if components and isinstance(root, dict):
            root = {**root, "components": components}
        v = _validator_cls()(root, format_checker=Draft202012Validator.FORMAT_CHECKER)
        with _cache_lock:
            if len(_cache) >= _CACHE_MAX:
                _cache.clear()
            _cache[key] = v
    return v


def _uncheckable() -> tuple:
    from jsonschema.exceptions import FormatError, SchemaError, UnknownType
    from referencing.exceptions import Unresolvable
    return (SchemaError, UnknownType, FormatError, Unresolvable, re.error, TypeError, ValueError, KeyError,
            RecursionError)


def problems(schema: Any, value: Any, location: list, components: dict | None = None, key: Any = None) -> list[dict]:
    """Every validation problem of `value` against `schema`, with its location."""
    if not isinstance(schema, dict) or not schema:
        return []
    try:
        validator = validator_for(schema, components, key)
        errors = sorted(validator.iter_errors(value), key=lambda e: [str(p) for p in e.absolute_path])
    except _uncheckable():
        # The spec's schema cannot be checked (`type: int`, a broken pattern, an
        # unresolvable $ref...; the import stored a warning): unchecked, never a failure.
        return []
    return [field_error(location + list(err.absolute_path), _message(err), _snake(str(err.validator)))
            for err in errors]


def _snake(keyword: str) -> str:
    """A JSON Schema keyword as an error type: "minLength" -> "min_length", "$ref" -> "ref"."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", keyword.lstrip("$")).lower() or "schema"


def _message(err: Any, limit: int = 300) -> str:
    """The validator's message; a long offending value is shortened, never the reason."""
    text = err.message
    if len(text) <= limit:
        return text
    shown = repr(err.instance)
    if len(shown) > 60 and shown in text:
        text = text.replace(shown, shown[:50] + "...", 1)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def coerce_scalar(schema: Any, value: Any) -> Any:
    """Strings for integer/number/boolean parameters become those types (query
    strings and rendered templates arrive as text); other values unchanged."""
    if not isinstance(value, str) or not isinstance(schema, dict):
        if isinstance(value, list) and isinstance(schema, dict) and isinstance(schema.get("items"), dict):
            return [coerce_scalar(schema["items"], v) for v in value]
        return value
    types = schema.get("type")
    types = [types] if isinstance(types, str) else (types or [])
    if "string" in types:
        return value
    text = value.strip()
    if "integer" in types:
        try:
            return int(text)
        except ValueError:
            pass
    if "number" in types:
        try:
            return float(text) if any(c in text for c in ".eE") else int(text)
        except ValueError:
            pass
    if "boolean" in types and text.lower() in ("true", "false"):
        return text.lower() == "true"
    if "array" in types and isinstance(schema.get("items"), dict):
        return [coerce_scalar(schema["items"], v) for v in text.split(",")] if text else []
    return value
