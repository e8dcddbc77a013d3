"""Query model of the jobs routes, imported on the first request that needs it
(routes name it as "chalicelib.jobs.models:JobQuery"; Lambda cold start)."""
from __future__ import annotations

from typing import Literal

from chalicelib.web.models import PageQuery


Status = Literal["queued", "running", "succeeded", "failed", "cancelled"]
Priority = Literal["critical", "default", "low"]


class JobQuery(PageQuery):
    type: list[str] = []
    status: list[Status] = []
    priority: list[Priority] = []
