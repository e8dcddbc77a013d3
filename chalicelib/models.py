"""The pydantic base of every model: request bodies, queries and stored configurations.

`defer_build=True` postpones building each model's validator until it is
first used, which keeps `import app` fast (Lambda cold start) however many
models the domains declare. Use `Model` instead of pydantic's BaseModel.

Unknown fields are refused everywhere (a 400 naming the field, `extra_forbidden`):
a misspelt option must not be silently ignored. `StrictModel` is the same
model, kept as a name for the modules that use it.

A JSON `true`/`false` is refused where a number is expected (pydantic would read it as 1/0),
and a JSON number where a boolean is: the OpenAPI description says `integer` or `boolean`.

Foundation layer: domain configuration models (gateway/configs.py, the
comparison configs) build on it without depending on the web edge. Nothing
that `import app` loads imports this module (it imports pydantic); data is
checked against a model by `chalicelib.validation.validate`.
"""
import typing
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator

__all__ = ["Model", "StrictModel"]


def _numeric(annotation: Any) -> bool:
    if annotation in (int, float):
        return True
    return any(_numeric(a) for a in typing.get_args(annotation)) and typing.get_origin(annotation) not in (
        list, dict, tuple, set)


def _admits_bool(annotation: Any) -> bool:
    return annotation is bool or any(_admits_bool(a) for a in typing.get_args(annotation))


class Model(BaseModel):
    # NaN / Infinity are refused in float fields even when they arrive as text ("nan" in a query).
    model_config = ConfigDict(defer_build=True, extra="forbid", allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _json_types_kept_apart(cls, value: Any, info: ValidationInfo) -> Any:
        # pydantic would read JSON true/false as 1/0 and 0/1 as booleans; the description says
        # `integer` or `boolean`, and the other is not one. (Text, as forms and query strings
        # send, is still read: "1", "true".)
        f = cls.model_fields.get(info.field_name) if info.field_name is not None else None
        if f is None or not isinstance(value, (bool, int, float)):
            return value
        if isinstance(value, bool) and _numeric(f.annotation) and not _admits_bool(f.annotation):
            raise ValueError("Input should be a number, not a boolean")
        if not isinstance(value, bool) and _admits_bool(f.annotation) and not _numeric(f.annotation):
            raise ValueError("Input should be a boolean (true or false), not a number")
        return value


class StrictModel(Model):
    pass
