"""Query models of the system routes (imported on first use)."""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from chalicelib.models import StrictModel
from chalicelib.web.models import UuidText


class RouteMetricsQuery(StrictModel):
    window: Literal["1h", "6h", "24h", "7d", "30d"] = "24h"
    route: str | None = Field(None, max_length=300, description="a route template, e.g. /api/keys/{key_id}")
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"] | None = None
    api_key_id: UuidText | None = None
    by_key: bool = False
