"""Request models shared by the routes: `PageQuery` (limit/offset paging).

The model base (`Model`, `StrictModel`) is `chalicelib.models` (foundation);
it is re-exported here for route modules that import it from web.

Nothing that `import app` loads imports this module: routes name their models
through `chalicelib.web.api.LazyModels`, imported on the first request.
"""
from pydantic import Field

from chalicelib.models import Model, StrictModel

__all__ = ["MAX_OFFSET", "Model", "PageQuery", "StrictModel"]

MAX_OFFSET = 10_000_000  # a list offset; beyond it is a 400 naming `offset`, never SQL


class PageQuery(Model):
    """`limit`/`offset` paging (DESIGN decision 11); subclass to add filters."""
    limit: int = Field(50, ge=1, le=500)
    offset: int = Field(0, ge=0, le=MAX_OFFSET)
