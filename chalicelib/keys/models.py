"""Request models of the keys routes, imported on the first request that needs
them (routes name them as "chalicelib.keys.models:CreateKey"; cold start)."""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from chalicelib.web.models import StrictModel


class CreateKey(StrictModel):
    role: Literal["admin", "operator", "viewer"]
    name: str | None = Field(None, max_length=255)
    permissions: list[str] = Field(default_factory=list, description="permission strings checked by dynamic APIs")
