"""Request and query models of the health-check routes, imported on the first
request that needs them (routes name them as "chalicelib.schedules.models:BulkRun";
Lambda cold start)."""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from chalicelib.web.models import PageQuery, StrictModel


class CheckQuery(PageQuery):
    status: list[Literal["success", "failed", "timeout"]] = []


class BulkRun(StrictModel):
    async_: bool = Field(False, alias="async", description="run as a job and answer 202 with it")
    document_ids: list[str] | None = Field(None, max_length=1000)
