"""Base pydantic model for request/response bodies.

`defer_build=True` postpones building each model's validator until it is
first used, which keeps `import app` fast (Lambda cold start) however many
models the domains declare. Use `Model` instead of pydantic's BaseModel.

Unknown fields are refused everywhere (a 400 naming the field, `extra_forbidden`):
a misspelt option must not be silently ignored. `StrictModel` is the same
model, kept as a name for the routes that use it.

Nothing that `import app` loads imports this module: routes name their models
through `chalicelib.web.api.LazyModels`, imported on the first request.
"""
from pydantic import BaseModel, ConfigDict, Field

MAX_OFFSET = 10_000_000  # a list offset; beyond it is a 400 naming `offset`, never SQL


class Model(BaseModel):
    # NaN / Infinity are refused in float fields even when they arrive as text ("nan" in a query).
    model_config = ConfigDict(defer_build=True, extra="forbid", allow_inf_nan=False)


class StrictModel(Model):
    pass


class PageQuery(Model):
    """`limit`/`offset` paging (DESIGN decision 11); subclass to add filters."""
    limit: int = Field(50, ge=1, le=500)
    offset: int = Field(0, ge=0, le=MAX_OFFSET)
