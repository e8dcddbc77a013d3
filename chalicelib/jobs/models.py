"""Query model of the jobs routes, and `AsyncOptions`, the fields every route
that can run as a job takes (`async`, `priority`). Imported on the first
request that needs them (routes name models as strings; Lambda cold start)."""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from chalicelib.models import Model
from chalicelib.web.models import PageQuery

Status = Literal["queued", "running", "succeeded", "failed", "cancelled"]
Priority = Literal["critical", "default", "low"]


class JobQuery(PageQuery):
    type: list[str] = []
    status: list[Status] = []
    priority: list[Priority] = []


class AsyncOptions(Model):
    """Mixed into the body (or query) model of every route that can run as a
    job. One spelling: `async` (anything else is an unknown field, 400).
    Idempotency comes from the `Idempotency-Key` header (see
    chalicelib.jobs.routes.submit_for_request)."""
    async_: bool = Field(False, alias="async", description="run as a job: answers 202 with the job")
    priority: Priority | None = Field(None, description="the job's queue: critical, default (default) or low")
