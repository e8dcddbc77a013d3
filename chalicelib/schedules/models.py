"""Request and query models of the health-check routes, imported on the first
request that needs them (routes name them as "chalicelib.schedules.models:BulkRun";
Lambda cold start)."""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from chalicelib.jobs.models import AsyncOptions
from chalicelib.models import Model
from chalicelib.web.models import PageQuery


class CheckQuery(PageQuery):
    status: list[Literal["success", "failed", "timeout"]] = []


CheckType = Literal["connectivity", "endpoint", "full"]


class CheckNow(Model):
    check_type: CheckType | None = Field(None, description="default: the document's health_check_config, "
                                                           "else connectivity")


class BulkRun(AsyncOptions):
    check_type: CheckType | None = None
    document_ids: list[str] | None = Field(None, max_length=1000)
