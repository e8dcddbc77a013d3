"""Statistics routes: call time series computed by PostgreSQL (exact for any
volume; see chalicelib/gateway/timeseries.py)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.web.api import ApiBlueprint, Ctx, uuid_param

if TYPE_CHECKING:
    from chalicelib.gateway.stats_models import TimeseriesQuery

bp = ApiBlueprint(__name__, tag="gateway")


@bp.api("/api/stats/timeseries", "GET", role="viewer", query="chalicelib.gateway.stats_models:TimeseriesQuery",
        summary="Calls, errors and p50/p95/p99 per time bucket for a document, an endpoint or everything")
def stats_timeseries(ctx: Ctx):
    from chalicelib.gateway.calllogs import parse_window
    from chalicelib.gateway.timeseries import Scope, timeseries
    q: TimeseriesQuery = ctx.query
    window_s = parse_window(q.window)
    bucket_s = _bucket(q.bucket)
    scope = Scope(endpoint_id=uuid_param(q.endpoint_id, "endpoint_id") if q.endpoint_id else None,
                  document_id=uuid_param(q.document_id, "document_id") if q.document_id else None)
    return timeseries(scope, window_s, bucket_s, q.until)


def _bucket(text: str | None) -> int | None:
    from chalicelib.errors import ValidationError, field_error, field_errors
    from chalicelib.gateway.calllogs import parse_window
    if not text:
        return None
    try:
        return parse_window(text)
    except ValidationError:
        raise ValidationError(f"bucket must look like 5m, 1h or 1d, got {text!r}",
                              field_errors(field_error(["query", "bucket"], "e.g. 5m, 1h, 1d", "format"))) from None
