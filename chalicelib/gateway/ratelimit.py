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
from chalicelib.errors import RateLimited


@dataclass(frozen=True)
class Limit:
    requests: int
    per_seconds: float
    scope: str = "endpoint"  # or "document": one bucket for all its endpoints


def parse_limit(cfg, document_id=None) -> Limit | None:
    """A document's rate_limit_config or None, checked by the one typed
    validator (chalicelib.gateway.configs): a stored config that breaks the
    rule is a 409 naming the field."""
    from chalicelib.gateway import configs

    model = configs.for_use("rate_limit_config", cfg, document_id)
    if model is None:
        return None
    return Limit(model.requests, model.per_seconds, model.scope)


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
