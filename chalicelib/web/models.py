"""Request models and field types shared by the routes: `PageQuery` (limit/offset paging).

The model base (`Model`, `StrictModel`) is `chalicelib.models` (foundation);
it is re-exported here for route modules that import it from web.

Shared field types, so that what a field accepts and what the OpenAPI description says
(chalicelib/web/openapi.py) come from one place:
- `UuidText`: a UUID as canonical text (`format: uuid`), 400 naming the field otherwise;
- `IsoDatetime`: an ISO 8601 timestamp (`format: date-time`); numbers are refused;
- `Duration`: `90s`, `15m`, `24h`, `7d`, `2w` or plain seconds, at most 366 days, as an
  exact `pattern` (chalicelib.gateway.calllogs.parse_window turns it into seconds).

Nothing that `import app` loads imports this module: routes name their models
through `chalicelib.web.api.LazyModels`, imported on the first request.
"""
import datetime as dt
import uuid
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field

from chalicelib.models import Model, StrictModel

__all__ = ["MAX_OFFSET", "Model", "PageQuery", "StrictModel", "UuidText", "IsoDatetime", "Duration"]

MAX_OFFSET = 10_000_000  # a list offset; beyond it is a 400 naming `offset`, never SQL
MAX_DURATION_S = 366 * 86400


def _canonical_uuid(value: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise ValueError("Input should be a valid UUID") from None


def _iso_only(value: Any) -> Any:
    if isinstance(value, (int, float)) or (isinstance(value, str) and value.strip().lstrip("+-").replace(
            ".", "", 1).isdigit()):
        raise ValueError("Input should be an ISO 8601 timestamp, e.g. 2026-01-31T12:00:00Z")
    return value


def upto_pattern(n: int) -> str:
    """A regular expression matching exactly the integers 1..n (no sign, no leading zero)."""
    s, parts = str(n), []
    if len(s) > 1:
        parts.append(f"[1-9][0-9]{{0,{len(s) - 2}}}")
    for i, ch in enumerate(s):
        lo, hi = (1 if i == 0 else 0), (int(ch) if i == len(s) - 1 else int(ch) - 1)
        if hi >= lo:
            rest = len(s) - i - 1
            parts.append(s[:i] + (f"[{lo}-{hi}]" if hi > lo else str(lo)) + (f"[0-9]{{{rest}}}" if rest else ""))
    return "(?:" + "|".join(parts) + ")"


DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
DURATION_PATTERN = "^(?:" + "|".join(
    [upto_pattern(MAX_DURATION_S)]
    + [upto_pattern(MAX_DURATION_S // size) + unit for unit, size in DURATION_UNITS.items()]) + ")$"

UuidText = Annotated[str, AfterValidator(_canonical_uuid), Field(json_schema_extra={"format": "uuid"})]
IsoDatetime = Annotated[dt.datetime, BeforeValidator(_iso_only)]
Duration = Annotated[str, Field(pattern=DURATION_PATTERN)]


class PageQuery(Model):
    """`limit`/`offset` paging (DESIGN decision 11); subclass to add filters."""
    limit: int = Field(50, ge=1, le=500)
    offset: int = Field(0, ge=0, le=MAX_OFFSET)
