"""Per-key quotas of the management API (seed 003 section 6.1).

Each key has a request rate (per minute, fixed windows) and a number of
requests it may have in flight at once, counted across every container by
chalicelib.limits. Defaults by role: viewer and operator keys 100 requests a
minute and 10 at once (settings KEY_DEFAULT_RATE_PER_MINUTE /
KEY_DEFAULT_MAX_CONCURRENT); admin keys are unlimited unless set (they run
the console and automation). On the key: NULL = the role's default, 0 =
unlimited, N = the limit. A change takes effect within the key cache's TTL
(chalicelib.keys.service.CACHE_TTL_S, 5 s) in every container.

Over the rate: 429 RATE_LIMITED with Retry-After (seconds to the next
window). Over the concurrency: 429 with Retry-After 1. Answers to a limited
key carry the IETF RateLimit header fields: `RateLimit-Limit`,
`RateLimit-Remaining`, `RateLimit-Reset` and `RateLimit-Policy`
(`100;w=60`). Published dynamic APIs keep their own limits and do not count.

A key with both limits is admitted in one round trip to the limiter's store
(chalicelib.limits.hit_and_take: the window count, then the slot unless the
rate refused); its slot is returned by `release` (in PostgreSQL without
waiting for the answer).
"""
from __future__ import annotations

import contextvars
import math
import uuid
from dataclasses import dataclass

from chalicelib import limits
from chalicelib.errors import RateLimited
from chalicelib.keys.principal import Principal

WINDOW_S = 60
SLOT_TTL_S = 60.0   # a slot whose request died is freed after this (API Gateway cuts at 29 s)

_ticket: contextvars.ContextVar["Ticket | None"] = contextvars.ContextVar("quota_ticket", default=None)


def effective(role: str, rate_per_minute: int | None, max_concurrent: int | None) -> tuple[int | None, int | None]:
    """The limits in force: (requests per minute or None, in flight or None); None = unlimited."""
    if role == "admin":
        default_rate, default_conc = None, None
    else:
        from chalicelib.settings import get_settings
        s = get_settings()
        default_rate, default_conc = s.key_default_rate_per_minute or None, s.key_default_max_concurrent or None
    rate = default_rate if rate_per_minute is None else (rate_per_minute or None)
    conc = default_conc if max_concurrent is None else (max_concurrent or None)
    return rate, conc


@dataclass
class Ticket:
    principal: Principal
    token: str
    remaining: int | None = None
    reset_s: int | None = None
    slot: str | None = None

    def headers(self) -> dict:
        rate = self.principal.rate_per_minute
        if not rate:
            return {}
        return {"RateLimit-Limit": str(rate), "RateLimit-Remaining": str(max(0, self.remaining or 0)),
                "RateLimit-Reset": str(self.reset_s or 0), "RateLimit-Policy": f"{rate};w={WINDOW_S}"}


def admit(principal: Principal, counter=None) -> Ticket | None:
    """Count this request against the key's quota; RateLimited when over it.
    Answers None for an unlimited key, else a ticket to `release`."""
    if not principal.limited:
        return None
    ticket = Ticket(principal, uuid.uuid4().hex)
    rate, conc = principal.rate_per_minute, principal.max_concurrent
    bucket = f"key:{principal.key_id}"
    if rate and conc:   # both in one round trip; over the rate, no slot is taken
        hits, left, got = limits.hit_and_take(bucket + ":min", WINDOW_S, rate, bucket, conc, ticket.token,
                                              SLOT_TTL_S, counter)
        _count(ticket, rate, hits, left)
    else:
        if rate:
            hits, left = limits.hit(bucket + ":min", WINDOW_S, counter)
            _count(ticket, rate, hits, left)
        got = limits.take_slot(bucket, conc, ticket.token, SLOT_TTL_S, counter) if conc else False
    if conc:
        if not got:
            raise RateLimited(f"this key may have {conc} requests in flight at once; retry when one finishes",
                              1, {"limit": conc, "scope": "api_key_concurrency"}).with_headers(ticket.headers())
        ticket.slot = bucket
    _ticket.set(ticket)
    return ticket


def _count(ticket: Ticket, rate: int, hits: int, left: float) -> None:
    """Note the window's count on the ticket; RateLimited when over the rate."""
    ticket.remaining, ticket.reset_s = rate - hits, max(1, math.ceil(left))
    if hits > rate:
        raise RateLimited(
            f"this key may make {rate} requests a minute; retry in {ticket.reset_s} s",
            ticket.reset_s, {"limit": rate, "per_seconds": WINDOW_S, "retry_after_seconds": ticket.reset_s,
                             "scope": "api_key"}).with_headers(ticket.headers())


def status(principal: Principal) -> dict:
    """The key's limits and, within this request, what is left of them."""
    t = _ticket.get()
    return {"rate_per_minute": principal.rate_per_minute, "max_concurrent": principal.max_concurrent,
            "remaining_this_minute": t.remaining if t and t.remaining is not None else None,
            "reset_seconds": t.reset_s if t else None}


def release(ticket: Ticket | None, counter=None) -> None:
    if ticket is not None and ticket.slot is not None:
        limits.give_slot(ticket.slot, ticket.token, counter)
        ticket.slot = None
