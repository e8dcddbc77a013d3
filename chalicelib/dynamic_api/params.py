"""Declared parameters (seed 002 ApiParameter) and conversion of inputs.

Inputs arrive as strings (query string, headers, form fields), lists of
strings (repeated query keys) or JSON values (body). Each is converted to the
parameter's DataType; `multiple` parameters take a JSON array, repeated keys
or a comma list. Missing values take `default_value`; a missing required or
unconvertible value is a ValidationError naming the parameter.
"""
from __future__ import annotations

import datetime as _dt
import decimal
import keyword
import re
import uuid
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from chalicelib import textbool
from chalicelib.errors import ValidationError, field_error, field_errors, invalid_input

from .binding import BUILTIN_VARIABLES

DATA_TYPES = ("integer", "number", "string", "boolean", "date", "datetime", "uuid")
_TYPE_ALIASES = {
    "int": "integer", "long": "integer", "bigint": "integer", "smallint": "integer",
    "float": "number", "double": "number", "decimal": "number", "numeric": "number",
    "str": "string", "text": "string", "varchar": "string",
    "bool": "boolean", "timestamp": "datetime", "guid": "uuid",
}
PARAM_TYPES = ("query", "body", "header", "form", "path")
_PARAM_TYPE_ALIASES = {"querystring": "query", "json": "body", "headers": "header", "formdata": "form"}
NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
_RESERVED = frozenset({"true", "false", "none", "null", "nil", "and", "or", "not", "in", "is", "if",
                       "else", "elif", "for", "loop", "forloop", "empty", "blank", "contains", "self",
                       "with", "without", "as", "recursive"}) | frozenset(keyword.kwlist)
MAX_STRING = 65535
MAX_ITEMS = 1000
_INT_RE = re.compile(r"^[+-]?\d{1,19}$")


def normalize_data_type(value: str | None) -> str:
    key = (value or "string").strip().lower()
    key = _TYPE_ALIASES.get(key, key)
    if key not in DATA_TYPES:
        raise invalid_input(["body", "parameters", "data_type"],
                            f"unknown data_type {value!r}; supported: {', '.join(DATA_TYPES)}",
                            supported=list(DATA_TYPES))
    return key


def normalize_param_type(value: str | None) -> str:
    key = (value or "query").strip().lower()
    key = _PARAM_TYPE_ALIASES.get(key, key)
    if key not in PARAM_TYPES:
        raise invalid_input(["body", "parameters", "param_type"],
                            f"unknown param_type {value!r}; supported: {', '.join(PARAM_TYPES)}",
                            supported=list(PARAM_TYPES))
    return key


def check_param_name(name: str, *, builtins_in_use: bool = True) -> None:
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise invalid_input(["body", "parameters", "name"], f"parameter name {name!r} must match {NAME_RE.pattern}")
    if name.lower() in _RESERVED:
        raise invalid_input(["body", "parameters", "name"], f"parameter name {name!r} is a reserved word in templates")
    if builtins_in_use and name in BUILTIN_VARIABLES:
        raise invalid_input(["body", "parameters", "name"],
                            f"parameter name {name!r} is a built-in paging/sorting input")


@dataclass(frozen=True)
class ParamSpec:
    name: str
    data_type: str = "string"
    param_type: str = "query"
    multiple: bool = False
    required: bool = False
    default_value: Any = None
    sensitive: bool = False

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> "ParamSpec":
        return cls(
            name=row["name"],
            data_type=normalize_data_type(row.get("data_type")),
            param_type=normalize_param_type(row.get("param_type")),
            multiple=bool(row.get("multiple")),
            required=bool(row.get("required")),
            default_value=row.get("default_value"),
            sensitive=bool(row.get("sensitive")),
        )


class _Bad(Exception):
    pass


def _missing(raw: Any) -> bool:
    return raw is None or (isinstance(raw, str) and raw == "") or (isinstance(raw, list) and not raw)


def _one(spec: ParamSpec, raw: Any) -> Any:
    t = spec.data_type
    if isinstance(raw, (dict, list)):
        raise _Bad(f"must be a single {t}, not an {'object' if isinstance(raw, dict) else 'array'}")
    if t == "string":
        if isinstance(raw, bool):
            raw = "true" if raw else "false"
        if isinstance(raw, (int, float, decimal.Decimal)):
            raw = str(raw)
        if not isinstance(raw, str):
            raise _Bad("must be a string")
        if "\x00" in raw:
            raise _Bad("must not contain NUL characters")
        if len(raw) > MAX_STRING:
            raise _Bad(f"must be at most {MAX_STRING} characters")
        return raw
    if t == "integer":
        if isinstance(raw, bool):
            raise _Bad("must be an integer")
        if isinstance(raw, int):
            return raw
        if isinstance(raw, float) and raw.is_integer():
            return int(raw)
        if isinstance(raw, str) and _INT_RE.match(raw.strip()):
            return int(raw.strip())
        raise _Bad("must be an integer")
    if t == "number":
        if isinstance(raw, bool):
            raise _Bad("must be a number")
        if isinstance(raw, (int, decimal.Decimal)):
            return raw
        if isinstance(raw, float):
            return decimal.Decimal(repr(raw))
        if isinstance(raw, str) and len(raw) <= 64:
            try:
                d = decimal.Decimal(raw.strip())
            except decimal.InvalidOperation:
                raise _Bad("must be a number") from None
            if d.is_finite() and -1000 <= d.adjusted() <= 1000:
                return d
        raise _Bad("must be a number")
    if t == "boolean":
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, int) and raw in (0, 1):
            return bool(raw)
        if isinstance(raw, str):
            try:
                return textbool.parse_bool(raw)
            except ValueError:
                pass
        raise _Bad(f"must be a boolean ({textbool.ACCEPTED})")
    if t == "date":
        if isinstance(raw, str):
            try:
                return _dt.date.fromisoformat(raw.strip())
            except ValueError:
                pass
        raise _Bad("must be a date (YYYY-MM-DD)")
    if t == "datetime":
        if isinstance(raw, str) and 10 <= len(raw.strip()) <= 40:
            try:
                return _dt.datetime.fromisoformat(raw.strip())
            except ValueError:
                pass
        raise _Bad("must be a datetime (ISO 8601, e.g. 2026-01-31T12:00:00Z)")
    if t == "uuid":
        if isinstance(raw, str) and len(raw.strip()) <= 45:
            try:
                return uuid.UUID(raw.strip())
            except ValueError:
                pass
        raise _Bad("must be a UUID")
    raise _Bad(f"has unknown data_type {t}")  # pragma: no cover - normalized earlier


def convert_value(spec: ParamSpec, raw: Any) -> Any:
    """Convert one raw input for `spec`; `_Bad` on failure. None when missing."""
    if spec.multiple:
        if _missing(raw):
            return None
        if isinstance(raw, str):
            items = [p.strip() for p in raw.split(",")]
        elif isinstance(raw, (list, tuple)):
            items = []
            for item in raw:       # repeated query keys may each hold a comma list
                if isinstance(item, str) and spec.data_type != "string" and "," in item:
                    items.extend(p.strip() for p in item.split(","))
                else:
                    items.append(item)
        else:
            items = [raw]
        if len(items) > MAX_ITEMS:
            raise _Bad(f"must have at most {MAX_ITEMS} items")
        return [_one(spec, item) for item in items]
    if isinstance(raw, list) and not isinstance(raw, str):
        if len(raw) != 1:
            raise _Bad("must be a single value")
        raw = raw[0]
    if _missing(raw) and not (spec.data_type == "string" and raw == "" and not spec.required):
        return None
    return _one(spec, raw)


def _describe(spec: ParamSpec, reason: str) -> str:
    return f"parameter '{spec.name}' {reason}"


def convert_inputs(specs: Iterable[ParamSpec], raw: Mapping[str, Any]) -> dict[str, Any]:
    """Convert every declared parameter from `raw` (already picked per param_type).

    Returns a dict with every declared name (None when absent). Raises one
    ValidationError naming the first bad parameter, listing all in details.
    """
    values: dict[str, Any] = {}
    errors: list[dict] = []
    for spec in specs:
        value = None
        try:
            value = convert_value(spec, raw.get(spec.name))
            if value is None and spec.default_value is not None:
                value = convert_value(spec, spec.default_value)
        except _Bad as bad:
            errors.append(field_error([spec.param_type, spec.name], _describe(spec, str(bad)), "invalid_value"))
            continue
        if value is None and spec.required:
            errors.append(field_error([spec.param_type, spec.name], _describe(spec, "is required"), "missing"))
            continue
        values[spec.name] = value
    if errors:
        raise ValidationError(errors[0]["msg"], field_errors(errors))
    return values


def check_default(spec: ParamSpec) -> None:
    """Save-time: a declared default must convert to the declared type."""
    if spec.default_value is None:
        return
    try:
        convert_value(spec, spec.default_value)
    except _Bad as bad:
        raise invalid_input(["body", "parameters", "default_value"],
                            f"default_value of parameter '{spec.name}' {bad}") from None


def mask(specs: Iterable[ParamSpec], values: Mapping[str, Any]) -> dict[str, Any]:
    """Values for logging: sensitive parameters replaced by the product's mask."""
    from chalicelib.secrets import MASK
    sensitive = {s.name for s in specs if s.sensitive}
    out = {}
    for k, v in values.items():
        out[k] = MASK if k in sensitive and v is not None else v
    return out
