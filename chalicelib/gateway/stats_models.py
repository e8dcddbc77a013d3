"""Query model of the statistics routes (named by string from
chalicelib/gateway/stats_routes.py, imported on the first request)."""
from __future__ import annotations

from pydantic import Field

from chalicelib.models import Model
from chalicelib.web.models import Duration, IsoDatetime, UuidText


class TimeseriesQuery(Model):
    document_id: UuidText | None = Field(None, description="every endpoint of this document")
    endpoint_id: UuidText | None = Field(None, description="one endpoint (with document_id: must belong to it)")
    window: Duration = Field("24h", description="15m, 24h, 7d ... (at most 366d)")
    bucket: Duration | None = Field(None, description="bucket size, e.g. 5m, 1h, 1d (default: about 24-60 buckets)")
    until: IsoDatetime | None = Field(None, description="end of the window (default: now)")
