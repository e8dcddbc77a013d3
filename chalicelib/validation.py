"""Data checked against a pydantic model, failures as the one ValidationError.

    cfg = validate(CassandraConfig, data, "config_group.pro_config")

`validate` is the one translator of pydantic's errors: a 400 whose message
names the first bad field (`where.field: why`) and whose details are
`{"errors": details(exc, (where,))}` (chalicelib.errors.field_errors), items
{"loc": [...], "type": ..., "msg": ...} without Python internals (no input
values, no URLs, no context objects).
Integers beyond 64 bits (`INT64`) are refused by name, so they never reach
SQL. Request bodies and query strings (chalicelib.web.api) and stored
configurations (the engines, when a config is saved or used) go through
the same function.

pydantic is imported inside the functions (Lambda cold start).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from chalicelib.errors import ValidationError, field_error, field_errors

if TYPE_CHECKING:
    from pydantic import BaseModel
    from pydantic import ValidationError as PydanticValidationError

INT64 = 2 ** 63 - 1

M = TypeVar("M", bound="BaseModel")


def details(exc: PydanticValidationError, prefix: tuple = ()) -> list[dict]:
    """pydantic errors as `loc`/`type`/`msg`, `loc` starting with `prefix`."""
    return [
        field_error([*prefix, *e["loc"]], e["msg"], e["type"])
        for e in exc.errors(include_url=False, include_context=False, include_input=False)
    ]


def validate(model: type[M], data: Any, where: str) -> M:
    """`data` as a `model` instance, or a ValidationError naming the field under `where`."""
    from pydantic import ValidationError as PydanticValidationError
    try:
        validated = model.model_validate(data)
    except PydanticValidationError as exc:
        found = details(exc, (where,))
        first = found[0]
        loc = ".".join(str(p) for p in first["loc"])
        raise ValidationError(f"invalid {where}: {loc}: {first['msg']}", field_errors(found)) from None
    check_ints(validated, where)
    return validated


def check_ints(model: BaseModel, where: str) -> None:
    """Integers beyond 64 bits never reach SQL: a 400 naming the field."""
    for name, value in model:
        if isinstance(value, int) and not isinstance(value, bool) and not -INT64 <= value <= INT64:
            f = type(model).model_fields.get(name)
            key = (f.alias if f is not None and f.alias else name)
            raise ValidationError(f"{where}.{key}: {value} is out of range",
                                  field_errors(field_error([where, key], "out of the 64-bit range", "int_range")))
