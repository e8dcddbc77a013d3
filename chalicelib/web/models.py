"""Base pydantic model for request/response bodies.

`defer_build=True` postpones building each model's validator until it is
first used, which keeps `import app` fast (Lambda cold start) however many
models the domains declare. Use `Model` (or `StrictModel`, which refuses
unknown fields) instead of pydantic's BaseModel.
"""
from pydantic import BaseModel, ConfigDict


class Model(BaseModel):
    model_config = ConfigDict(defer_build=True)


class StrictModel(BaseModel):
    model_config = ConfigDict(defer_build=True, extra="forbid")
