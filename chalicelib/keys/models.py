"""Request models of the keys routes, imported on the first request that needs
them (the routes name them through LazyModels; cold start)."""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from chalicelib.models import StrictModel


class CreateKey(StrictModel):
    role: Literal["admin", "operator", "viewer"]
    name: str | None = Field(None, max_length=255)
    permissions: list[str] = Field(default_factory=list, description="permission strings checked by dynamic APIs")


class KeyLimits(StrictModel):
    rate_per_minute: int | None = Field(None, ge=0, le=1_000_000,
                                        description="requests a minute; null = the role's default, 0 = unlimited")
    max_concurrent: int | None = Field(None, ge=0, le=10_000,
                                       description="requests in flight at once; "
                                                   "null = the role's default, 0 = unlimited")


class CreateKeyWithLimits(CreateKey, KeyLimits):
    pass


class UpdateKey(KeyLimits):
    name: str | None = Field(None, max_length=255)
    permissions: list[str] | None = None
