"""Base pydantic model for request/response bodies.

`defer_build=True` postpones building each model's validator until it is
first used, which keeps `import app` fast (Lambda cold start) however many
models the domains declare. Use `Model` (or `StrictModel`, which refuses
unknown fields) instead of pydantic's BaseModel.

Nothing that `import app` loads imports this module: routes name their models
as strings ("chalicelib.keys.models:CreateKey"), imported on the first request.
"""
from pydantic import BaseModel, ConfigDict, Field


class Model(BaseModel):
    model_config = ConfigDict(defer_build=True)


class StrictModel(BaseModel):
    model_config = ConfigDict(defer_build=True, extra="forbid")


class PageQuery(Model):
    """`limit`/`offset` paging (DESIGN decision 11); subclass to add filters."""
    limit: int = Field(50, ge=1, le=500)
    offset: int = Field(0, ge=0)
