"""Per-endpoint rate limits of the gateway, counted in fixed windows by
chalicelib.limits (Redis when REDIS_URL is set, PostgreSQL otherwise, or
when Redis is unreachable).

`check(bucket, requests, per_seconds)` counts one call and raises
RateLimited (429, Retry-After = seconds to the next window) when the window
already admitted `requests` calls. Both stores count atomically on the
server and use the server's clock, so concurrent callers in any number of
containers never get more than `requests` admissions per window.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from chalicelib import limits
from chalicelib.web.errors import RateLimited, ValidationError


@dataclass(frozen=True)
class Limit:
    requests: int
    per_seconds: float
    scope: str = "endpoint"  # or "document": one bucket for all its endpoints


def parse_limit(cfg) -> Limit | None:
    """A document's rate_limit_config ({requests, per_seconds, scope?}) or None."""
    if not cfg:
        return None
    if not isinstance(cfg, dict):
        raise ValidationError("rate_limit_config must be an object {requests, per_seconds}")
    try:
        requests_ = int(cfg.get("requests"))
        per = float(cfg.get("per_seconds", 1))
    except (TypeError, ValueError):
        raise ValidationError("rate_limit_config needs integer requests and a number per_seconds",
                              [{"loc": ["rate_limit_config"], "type": "type", "msg": "{requests, per_seconds}"}]) from None
    if requests_ < 1 or not (0 < per <= 86400):
        raise ValidationError("rate_limit_config: requests >= 1 and 0 < per_seconds <= 86400")
    scope = cfg.get("scope", "endpoint")
    if scope not in ("endpoint", "document"):
        raise ValidationError("rate_limit_config.scope must be endpoint or document")
    return Limit(requests_, per, scope)


# The stores (Redis / PostgreSQL fixed windows) are chalicelib.limits.
counter_for_settings = limits.counter_for_settings
PostgresCounter = limits.PostgresCounter
RedisCounter = limits.RedisCounter


def check(bucket: str, limit: Limit, counter=None) -> int:
    """Count one call against `limit`; raise RateLimited when over it.
    Returns the number of calls in the current window."""
    hits, left = limits.hit(bucket, limit.per_seconds, counter)
    if hits > limit.requests:
        retry_after = max(1, math.ceil(left))
        raise RateLimited(
            f"rate limit of {limit.requests} requests per {limit.per_seconds:g} s reached; retry in {retry_after} s",
            retry_after,
            {"limit": limit.requests, "per_seconds": limit.per_seconds, "retry_after_seconds": retry_after,
             "scope": limit.scope},
        )
    return hits
