"""The pydantic base of every model: request bodies, queries and stored configurations.

`defer_build=True` postpones building each model's validator until it is
first used, which keeps `import app` fast (Lambda cold start) however many
models the domains declare. Use `Model` instead of pydantic's BaseModel.

Unknown fields are refused everywhere (a 400 naming the field, `extra_forbidden`):
a misspelt option must not be silently ignored. `StrictModel` is the same
model, kept as a name for the modules that use it.

Foundation layer: domain configuration models (gateway/configs.py, the
comparison configs) build on it without depending on the web edge. Nothing
that `import app` loads imports this module (it imports pydantic); data is
checked against a model by `chalicelib.validation.validate`.
"""
from pydantic import BaseModel, ConfigDict

__all__ = ["Model", "StrictModel"]


class Model(BaseModel):
    # NaN / Infinity are refused in float fields even when they arrive as text ("nan" in a query).
    model_config = ConfigDict(defer_build=True, extra="forbid", allow_inf_nan=False)


class StrictModel(Model):
    pass
